"""prune: keep only what computing the fetches needs, with fed nodes turned into placeholders.

Before: any graph. After: a new graph holding the fetches and their data and control ancestors,
not looking past fed nodes; each fed node is a placeholder of its own shape and dtype (feeding
any tensor overrides its computation, as in TensorFlow 1). A variable that an assign only refers
to (a ref edge) is not read, so it is not kept for that. The FETCHES and FEEDS collections of the
result name the fetches, in order, and the feeds.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from staticgraph.compiler.rewrite import FEEDS, FETCHES, Replace, rebuild
from staticgraph.graph import Graph

PLACEHOLDER = "placeholder"


def needed_nodes(graph: Graph, targets: Iterable[str], fed: Iterable[str]) -> set[str]:
    """The nodes computing `targets` runs: data and control ancestors, stopping at fed nodes."""
    fed = set(fed)
    seen = set(targets)
    stack = [t for t in seen if t not in fed]
    while stack:
        for u, _, d in graph.nx.in_edges(stack.pop(), data=True):
            if u not in seen and not d.get("ref"):
                seen.add(u)
                if u not in fed:
                    stack.append(u)
    return seen


def prune(graph: Graph, fetches: Sequence[str], feeds: Iterable[str] = ()) -> Graph:
    """A new graph with only the nodes that computing `fetches` needs, given `feeds`.

    Args:
        graph: the user's graph (unchanged).
        fetches: node names, in the order the compiled graph will produce them (repeats allowed).
        feeds: names of nodes whose values will be fed.
    Returns:
        The pruned graph; `fetches_of(result)` and `feeds_of(result)` list fetches and feeds.
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import prune
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y, unused = sg.sin(x, name="y"), sg.cos(x, name="unused")
        >>> sorted(prune(g, ["y"], ["x"]).nx)
        ['x', 'y']
    """
    fed = list(dict.fromkeys(feeds))
    needed = needed_nodes(graph, fetches, fed)
    fed_set = set(fed)

    def as_placeholder(new, name, node, inputs):
        if name in fed_set and node["op"] != PLACEHOLDER:
            return Replace(PLACEHOLDER, (), {"dtype": node["dtype"], "shape": node["shape"]})
        return None

    result = rebuild(graph, as_placeholder, keep=needed)
    for name in fetches:
        result.add_to_collection(FETCHES, name)
    for name in fed:
        if name in needed:
            result.add_to_collection(FEEDS, name)
    return result
