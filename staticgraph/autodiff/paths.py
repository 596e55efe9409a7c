"""Which nodes lie on the paths a gradient can take: data-edge reachability, with stops."""
from __future__ import annotations

from staticgraph import dtypes
from staticgraph.graph import Graph


def data_reachable(graph: Graph, starts, forward: bool, blocked=frozenset()) -> set[str]:
    """Nodes reachable from `starts` along data edges (forward: to consumers), not past `blocked`."""
    seen = set(starts)
    stack = [s for s in starts if s not in blocked]
    edges = graph.nx.out_edges if forward else graph.nx.in_edges
    while stack:
        node = stack.pop()
        for u, v, d in edges(node, data=True):
            nxt = v if forward else u
            if "index" in d and nxt not in seen:
                seen.add(nxt)
                if nxt not in blocked:
                    stack.append(nxt)
    return seen


def path_nodes(graph: Graph, ys: list[str], xs: list[str], stops: set[str]) -> set[str]:
    """Float-valued nodes on a data path from an x to a y along which a cotangent flows: no
    node after the x on it is a stop (a stop still receives its cotangent; an x that is a stop
    too receives it and passes none on)."""
    floats = {n for n, d in graph.nx.nodes(data=True) if dtypes.carries_gradient(d["dtype"])}
    down = data_reachable(graph, xs, forward=True, blocked=stops - set(xs)) & floats
    up = data_reachable(graph, ys, forward=False, blocked=stops)
    return down & up
