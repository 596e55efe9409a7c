"""verify: the structural check every pass's output must pass (run in tests and in debug mode)."""
from __future__ import annotations

import networkx as nx

from staticgraph.compiler.rewrite import FEEDS, FETCHES
from staticgraph.errors import GraphError, StaticGraphError
from staticgraph.graph import ROLES, Graph
from staticgraph.ops.registry import REGISTRY, Spec, infer_spec
from staticgraph.ops.shapes import compatible, fmt

_ATTRS = ("op", "attrs", "shape", "dtype", "role", "source")


def verify(graph: Graph) -> Graph:
    """Check that `graph` is well formed; return it unchanged.

    Checks: the graph is acyclic; every node has its attributes and a registered op; data inputs
    are present with contiguous indices 0..n-1; each node's shape and dtype agree with its op's
    shape rule applied to its inputs (an unknown dim agrees with any); fetches and feeds exist.

    Raises:
        GraphError naming the node, its op and the user source line that created it.
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import verify
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     y = sg.constant(2.0) * 3.0
        >>> verify(g) is g
        True
    """
    if not nx.is_directed_acyclic_graph(graph.nx):
        cycle = " -> ".join(edge[0] for edge in nx.find_cycle(graph.nx))
        raise GraphError(f"the graph has a cycle: {cycle}")
    for name, node in graph.nx.nodes(data=True):
        _check_node(graph, name, node)
    for key in (FETCHES, FEEDS):
        for name in graph.get_collection(key):
            if name not in graph.nx:
                raise GraphError(f"{key} names {name!r}, which is not a node of the graph")
    return graph


def _check_node(graph: Graph, name: str, node: dict) -> None:
    missing = [a for a in _ATTRS if a not in node]
    if missing:
        raise GraphError(f"node {name!r} lacks {', '.join(missing)}: an edge names a node that "
                         "was never added")
    where = f"node {name!r} ({node['op']}, created at {node['source']})"
    if node["op"] not in REGISTRY:
        raise GraphError(f"{where}: unknown op")
    if node["role"] not in ROLES:
        raise GraphError(f"{where}: unknown role {node['role']!r}")
    indices = sorted(d["index"] for _, _, d in graph.nx.in_edges(name, data=True) if "index" in d)
    if indices != list(range(len(indices))):
        raise GraphError(f"{where}: data input indices {indices} are not 0..{len(indices) - 1}")
    specs = [Spec(graph.nx.nodes[i]["shape"], graph.nx.nodes[i]["dtype"])
             for i in graph.inputs(name)]
    try:
        spec = infer_spec(REGISTRY[node["op"]], specs, node["attrs"], node["source"])
    except StaticGraphError as exc:
        raise GraphError(f"{where}: its shape rule rejects its inputs: {exc}") from None
    if spec.dtype != node["dtype"] or not compatible(spec.shape, node["shape"]):
        raise GraphError(f"{where} is {fmt(node['shape'])} {node['dtype']}, but its shape rule "
                         f"gives {fmt(spec.shape)} {spec.dtype}")


