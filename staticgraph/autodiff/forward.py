"""Forward mode as a graph pass: `jvp` adds tangent nodes to the same graph.

Only float nodes on a path from some x to some y are visited, in topological order; each op's
`jvp` builds its output tangent from its inputs' tangents with ordinary sg ops, so tangents can
be run, drawn, and differentiated again (forward-over-reverse gives Hessian-vector products).
A missing tangent stands for zeros and is never materialised; an op's `jvp` is called only when
at least one of its inputs carries a tangent.
"""
from __future__ import annotations

import networkx as nx

from staticgraph import dtypes
from staticgraph.autodiff.paths import path_nodes
from staticgraph.autodiff.reverse import as_list, common_graph, into_innermost, matching
from staticgraph.errors import GraphError, InvalidArgumentError
from staticgraph.graph import Graph, Tensor
from staticgraph.ops import create, math
from staticgraph.ops.registry import NOT_DIFFERENTIABLE, get_op
from staticgraph.ops.shapes import compatible, fmt
from staticgraph.sourceinfo import user_source


def jvp(ys, xs, tangents=None) -> list:
    """Jacobian-vector products: the tangent of each y when each x moves along its tangent.

    The forward-mode twin of `gradients`: one pass gives J u for one direction u, whatever the
    number of outputs (reverse mode gives u^T J for one u, whatever the number of inputs).

    Args:
        ys: a Tensor or list of Tensors.
        xs: a Tensor or list of float Tensors (placeholders, variables or any node).
        tangents: one per x (same structure), each a Tensor or array of x's shape and dtype
            (checked when built, or when run where a dim is None); None (the default) means
            ones for every x, so a scalar x gives dy/dx.
    Returns:
        A list with one Tensor per y, of y's shape: sum over x of (dy/dx) . tangent. A y that
        does not depend on any x (through differentiable ops) gets `zeros_like(y)`.
    Raises:
        InvalidArgumentError: a non-float x, a tangent of the wrong shape or dtype, or a count of
            tangents unlike that of xs.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> (ty,) = sg.jvp(x * x, x, np.array([1.0, 0.0, 0.0]))
        >>> sg.Session().run(ty, {x: np.array([1.0, 2.0, 3.0])}).tolist()
        [2.0, 0.0, 0.0]
    """
    ys, xs = as_list(ys), as_list(xs)
    tangents = [None] * len(xs) if tangents is None else as_list(tangents)
    if len(tangents) != len(xs):
        raise InvalidArgumentError(f"jvp: {len(tangents)} tangents for {len(xs)} xs at {user_source()}")
    ys, xs, tangents = into_innermost(ys, xs, tangents)
    graph = common_graph(ys + xs + [t for t in tangents if isinstance(t, Tensor)], "jvp", "ys and xs")
    with graph.as_default(), graph.name_scope("jvp"), graph.role_scope("tangent"), \
            graph.control_dependencies(None):
        seeds: dict[str, Tensor] = {}
        for x, t in zip(xs, tangents):
            seed = _seed(x, t)
            seeds[x.name] = seed if x.name not in seeds else math.add(seeds[x.name], seed)
        stops = {n for n, d in graph.nx.nodes(data=True) if get_op(d["op"]).jvp is NOT_DIFFERENTIABLE}
        between = path_nodes(graph, [y.name for y in ys], list(seeds), stops - set(seeds))
        found = _push_forward(graph, seeds, between)
        return [found[y.name] if y.name in found else create.zeros_like(y) for y in ys]


def _seed(x: Tensor, tangent) -> Tensor:
    """The tangent given for x as a Tensor of x's dtype, checked against x's shape."""
    if not dtypes.is_floating(x.dtype):
        raise InvalidArgumentError(f"jvp: x {x.name!r} is {x.dtype.name}; only float tensors have "
                                   f"tangents at {user_source()}")
    if tangent is None:
        return create.ones_like(x, name="seed")
    return matching(tangent, x, f"jvp: the tangent for {x.name!r}", "x", "seed")


def _push_forward(graph: Graph, seeds: dict, between: set[str]) -> dict:
    """Run every jvp on the path in topological order; return node -> tangent (absent: zero)."""
    found = {name: t for name, t in seeds.items() if name in between}
    for node in nx.topological_sort(graph.nx.subgraph(between)):
        if node in seeds:
            continue
        op = get_op(graph.node(node)["op"])
        inputs = [graph.tensor(n) for n in graph.inputs(node)]
        input_tangents = [found.get(n) for n in graph.inputs(node)]
        if op.jvp is NOT_DIFFERENTIABLE or all(t is None for t in input_tangents):
            continue
        out = graph.tensor(node)
        tangent = op.jvp(input_tangents, *inputs, out=out, **graph.node(node)["attrs"])
        if tangent is not None:
            # A packed node (cond, while_loop) has a list of its elements' tangents.
            found[node] = tangent if out.dtype == dtypes.packed else _checked(tangent, out, op.name)
    return found


def _checked(tangent: Tensor, out: Tensor, op: str) -> Tensor:
    """A jvp rule's result, which must have its output's shape and dtype."""
    if not compatible(tangent.shape, out.shape) or tangent.dtype != out.dtype:
        raise GraphError(f"jvp of {op} at node {out.name!r} (created at {out.source}) gave a "
                         f"{tangent.dtype.name} tangent of shape {fmt(tangent.shape)}; the output "
                         f"is {out.dtype.name} {fmt(out.shape)}")
    return tangent
