"""specialize_shapes: every node's spec once the fed values' shapes are known.

Static shapes may hold None dims (a batch size, say). Given the fed shapes, the shape rules run
again over the graph and fill those dims in, so the memory plan can size every buffer. A rule
that rejects the concrete shapes leaves the node as it was: its kernel reports the problem at
run time, with the usual message naming the node.
"""
from __future__ import annotations

from typing import Mapping

from staticgraph.compiler.rewrite import ordered_nodes
from staticgraph.errors import StaticGraphError
from staticgraph.graph import Graph
from staticgraph.ops.registry import Spec, get_op, infer_spec


def specialize_shapes(graph: Graph, feed_shapes: Mapping[str, tuple]) -> dict[str, Spec]:
    """The spec of every node of `graph` given the shapes of the fed nodes.

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import specialize_shapes
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float32, (None, 3), name="x")
        ...     y = sg.sum(x * x, axis=1, name="y")
        >>> specialize_shapes(g, {"x": (5, 3)})["y"].shape
        (5,)
    """
    specs: dict[str, Spec] = {}
    for name in ordered_nodes(graph):
        node = graph.nx.nodes[name]
        static = Spec(node["shape"], node["dtype"])
        if name in feed_shapes:
            specs[name] = Spec(tuple(feed_shapes[name]), node["dtype"])
            continue
        inputs = [specs[i] for i in graph.inputs(name)]
        try:
            found = infer_spec(get_op(node["op"]), inputs, node["attrs"], node["source"])
        except StaticGraphError:
            found = static
        specs[name] = _refine(static, found)
    return specs


def _refine(static: Spec, found: Spec) -> Spec:
    """`static` with its unknown dims taken from `found` (when the two agree on the rest)."""
    if found.dtype != static.dtype or len(found.shape) != len(static.shape):
        return static
    if any(s is not None and f is not None and s != f for s, f in zip(static.shape, found.shape)):
        return static
    return Spec(tuple(f if s is None else s for s, f in zip(static.shape, found.shape)), static.dtype)
