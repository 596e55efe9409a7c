"""eliminate_dead_code: drop the nodes that no fetch, feed or side effect needs.

Before: any graph. After: only the fetches, the feeds, the "stateful" nodes (variable reads and
writes, and any other op with a side effect) and everything they depend on through data, control
and ref edges remain. Other passes leave dead nodes behind (an alias leaves the aliased node
unused); this pass removes them.
"""
from __future__ import annotations

from staticgraph.compiler.rewrite import feeds_of, fetches_of, rebuild
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op


def eliminate_dead_code(graph: Graph) -> Graph:
    """A new graph without the nodes whose values nothing uses (the input itself when every
    node is used).

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import eliminate_dead_code, prune, simplify
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.int64, (3,), name="x")
        ...     y = sg.multiply(sg.abs(x, name="s"), 0, name="y")
        >>> simpler = simplify(prune(g, ["y"], ["x"]))   # y is now a fill of zeros
        >>> sorted(simpler.nx), sorted(eliminate_dead_code(simpler).nx)
        (['Const', 's', 'x', 'y'], ['x', 'y'])
    """
    live = live_nodes(graph)
    return graph if len(live) == len(graph) else rebuild(graph, keep=live)


def live_nodes(graph: Graph) -> set[str]:
    """The fetches, feeds and stateful or effect nodes, and every node they depend on."""
    roots = set(fetches_of(graph)) | set(feeds_of(graph))
    roots |= {name for name, op in graph.nx.nodes(data="op") if get_op(op).traits & {"stateful", "effect"}}
    live, stack = set(roots), list(roots)
    while stack:
        for parent in graph.nx.predecessors(stack.pop()):
            if parent not in live:
                live.add(parent)
                stack.append(parent)
    return live
