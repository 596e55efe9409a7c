"""Reverse mode as a graph pass: `gradients` adds cotangent nodes to the same graph.

Only nodes on a path from some x to some y carry float values are visited, in reverse
topological order; each op's `vjp` builds its inputs' cotangents with ordinary sg ops, so
gradients can be optimised, drawn and differentiated again. Where paths meet, one `add_n` sums.
"""
from __future__ import annotations

from typing import Sequence

import networkx as nx

from staticgraph.autodiff.explain import explain_gradient
from staticgraph.autodiff.paths import path_nodes
from staticgraph.errors import GraphError, InvalidArgumentError, ShapeError
from staticgraph.graph import Graph, Tensor
from staticgraph.kinks import get_kink_convention
from staticgraph.ops import create, debug, math
from staticgraph.ops.registry import NOT_DIFFERENTIABLE, get_op, is_tensor
from staticgraph.ops.shapes import compatible, fmt, known
from staticgraph.sourceinfo import user_source

UNCONNECTED = ("none", "zero", "raise")


def as_list(value) -> list:
    """A list of tensors from a tensor or a list/tuple of them (TF1's argument convention)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def common_graph(tensors: Sequence[Tensor], pass_name: str, what: str) -> Graph:
    """The one graph that all `tensors` (static ones only) belong to, else a clear error."""
    graph = None
    for t in tensors:
        if not isinstance(t, Tensor):
            raise InvalidArgumentError(f"{pass_name}: {what} must be static Tensors, got {t!r} "
                                       f"at {user_source()}")
        if graph is not None and t.graph is not graph:
            raise GraphError(f"{pass_name}: {t.name!r} belongs to another graph at {user_source()}")
        graph = t.graph
    return graph


def into_innermost(*groups: list) -> tuple:
    """The lists `groups` with each tensor of an enclosing graph replaced by its capture in the
    innermost graph among them: in a cond branch or loop body, a gradient may be taken with
    respect to tensors of the enclosing graph that the branch or body uses (TF1)."""
    graphs = [t.graph for group in groups for t in group if isinstance(t, Tensor)]
    inner = next((g for g in graphs if all(g.encloses(h) for h in graphs)), None)
    if inner is None:
        return groups
    return tuple([inner.capture(t) if isinstance(t, Tensor) and t.graph is not inner else t
                  for t in group] for group in groups)


def gradients(ys, xs, grad_ys=None, stop_gradients=None, unconnected_gradients: str = "none",
              aggregation_method=None, gate_gradients: bool = False,
              colocate_gradients_with_ops: bool = False):
    """Symbolic gradients of sum(ys) with respect to each x, as new nodes of the same graph.

    Args:
        ys: a Tensor or list of Tensors; a list is differentiated as the sum of its elements.
        xs: a Tensor or list of Tensors to differentiate with respect to.
        grad_ys: cotangents for ys (same structure; Tensors, numpy arrays or numbers), each of
            its y's dtype and shape (checked when built, or when run where a dim is None); by
            default ones of each y's shape, so a non-scalar y gives the gradient of y.sum()
            (TensorFlow 1 semantics).
        stop_gradients: Tensors held constant: no gradient flows back through them, so the
            result is a partial derivative. A stop that is also an x (or a y) still gets its
            own gradient; it only passes none on (TensorFlow 1 semantics).
        unconnected_gradients: "none" (None for an x that ys do not depend on), "zero" (zeros
            of x's shape) or "raise".
        aggregation_method, gate_gradients, colocate_gradients_with_ops: accepted for
            TensorFlow 1 compatibility; they have no effect here (where paths meet one `add_n`
            sums, there is one device, and the compiler orders the nodes).
    Returns:
        A list with one Tensor (or None) per x, of x's shape. Gradients flow only through
        float tensors: an integer or bool x, or one reached only through them (a cast to int),
        gets None, as an integer y gives None for every x (TensorFlow 1 semantics).
    Raises:
        InvalidArgumentError: grad_ys of another length or dtype.
        ShapeError: grad_ys of another shape than its y.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (4,), name="x")
        >>> y = 2 * sg.dot(x, x)
        >>> (dx,) = sg.gradients(y, [x])
        >>> sg.Session().run(dx, {x: np.arange(4.0)}).tolist()
        [0.0, 4.0, 8.0, 12.0]
        >>> a = sg.constant(0.0)
        >>> b = 2 * a
        >>> [float(g) for g in sg.Session().run(sg.gradients(a + b, [a, b], stop_gradients=[a, b]))]
        [1.0, 1.0]
    """
    if unconnected_gradients not in UNCONNECTED:
        raise InvalidArgumentError(f"unconnected_gradients must be one of {UNCONNECTED}, "
                                   f"got {unconnected_gradients!r}")
    ys, xs = as_list(ys), as_list(xs)
    stops = as_list(stop_gradients) if stop_gradients is not None else []
    ys, xs, stops = into_innermost(ys, xs, stops)
    graph = common_graph(ys + xs + stops, "gradients", "ys, xs and stop_gradients")
    grad_ys = [None] * len(ys) if grad_ys is None else as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise InvalidArgumentError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys "
                                   f"at {user_source()}")
    stop_names = {t.name for t in stops}
    stop_names |= {n for n, d in graph.nx.nodes(data=True) if not get_op(d["op"]).differentiable}
    between = path_nodes(graph, [y.name for y in ys], [x.name for x in xs], stop_names)

    before = set(graph.nx)
    with graph.as_default(), graph.name_scope("gradients"), graph.role_scope("gradient"), \
            graph.control_dependencies(None):
        seeds = [gy if gy is None else matching(gy, y, f"gradients: grad_ys for y {y.name!r}", "y",
                                                  f"{_base(y.name)}_grad_seed")
                 for y, gy in zip(ys, grad_ys)]
        cotangents = _backpropagate(graph, ys, seeds, between, stop_names)
        results = [_result(x, cotangents.get(x.name), unconnected_gradients, ys, stops) for x in xs]
    _drop_unused(graph, before, results)
    return results


def matching(value, like: Tensor, what: str, whose: str, name: str) -> Tensor:
    """`value` (a Tensor, array or number) as a Tensor of like's dtype and shape: refused when
    built where they differ, checked when run where a dim is None (instead of broadcasting).
    Errors say "`what` has shape (2,), `whose` has (3,)"."""
    if not is_tensor(value):
        try:
            value = create.constant(value, dtype=like.dtype, name=name)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{what}: {exc}") from None
    if value.dtype != like.dtype:
        raise InvalidArgumentError(f"{what} is {value.dtype.name}, {whose} is {like.dtype.name} "
                                   f"at {user_source()}")
    if not compatible(value.shape, like.shape):
        raise ShapeError(f"{what} has shape {fmt(value.shape)}, {whose} has {fmt(like.shape)} "
                         f"at {user_source()}")
    if known(like.shape) and tuple(value.shape) == tuple(like.shape):
        return value
    return debug.ensure_shape_like(value, like, what)


def _drop_unused(graph: Graph, before: set, results: list) -> None:
    """Remove the nodes this pass built that no result needs: vjp rules build a cotangent for
    every input, also for inputs whose gradient is stopped or not asked for."""
    needed = set()
    stack = [t.name for t in results if t is not None]
    while stack:
        name = stack.pop()
        if name in needed or name in before:
            continue
        needed.add(name)
        stack.extend(u for u, _ in graph.nx.in_edges(name))
    graph.remove_nodes([n for n in graph.nx if n not in before and n not in needed])


def _backpropagate(graph: Graph, ys, seeds, between: set[str], stops: set[str]) -> dict:
    """Run every vjp on the path in reverse topological order; return node -> total cotangent."""
    pending: dict[str, list] = {}
    for y, gy in zip(ys, seeds):
        if y.name in between:
            ct = create.ones_like(y, name=f"{_base(y.name)}_grad_seed") if gy is None else gy
            _mark(graph, ct, "seed_of", y.name)
            pending.setdefault(y.name, []).append(ct)
    totals: dict[str, Tensor] = {}
    known = set(graph.nx)
    order = [n for n in nx.topological_sort(graph.nx.subgraph(between))]
    for node in reversed(order):
        if node not in pending:
            continue
        op, attrs = get_op(graph.node(node)["op"]), graph.node(node)["attrs"]
        parts = pending.pop(node)
        if "packed" in op.traits:
            totals[node] = _packed_total(parts, len(attrs["out_specs"]))
            known.update(ct.name for ct in totals[node] if ct is not None)
        else:
            totals[node] = parts[0] if len(parts) == 1 else math.add_n(parts)
            if len(parts) > 1:
                known.add(totals[node].name)
                _mark(graph, totals[node], "paths_meet_at", node)
        if node in stops or op.vjp is NOT_DIFFERENTIABLE:
            continue
        inputs = [graph.tensor(n) for n in graph.inputs(node)]
        input_cts = op.vjp(totals[node], *inputs, out=graph.tensor(node), **attrs)
        _stamp_vjp(graph, node, op, input_cts, known)
        for index, (inp, ct) in enumerate(zip(inputs, input_cts)):
            if ct is not None and inp.name in between:
                _mark(graph, ct, "cotangent_of", (node, index))
                pending.setdefault(inp.name, []).append(ct)
    return totals


def _stamp_vjp(graph: Graph, node: str, op, cts: list, known: set) -> None:
    """Give each node the vjp of `node` just built the attribute `grad_of` = node (and the kink
    convention it baked in, for ops with kinks), so drawings can say what it computes."""
    stack = [ct.name for ct in cts if isinstance(ct, Tensor) and ct.graph is graph]
    while stack:
        name = stack.pop()
        if name not in known:
            known.add(name)
            graph.nx.nodes[name]["grad_of"] = node
            if "kink" in op.traits:
                graph.nx.nodes[name]["kink_convention"] = get_kink_convention()
            stack.extend(u for u, _ in graph.nx.in_edges(name))


def _mark(graph: Graph, ct: Tensor, key: str, value) -> None:
    """Note on gradient node `ct` what it is (`cotangent_of` collects (node, input) pairs)."""
    if not isinstance(ct, Tensor) or ct.graph is not graph:  # a packed part; an outer tensor
        return
    attrs = graph.nx.nodes[ct.name]
    if attrs["role"] == "gradient":
        if key == "cotangent_of":
            attrs[key] = attrs.get(key, ()) + (value,)
        else:
            attrs[key] = value


def _packed_total(parts: list, size: int) -> list:
    """The cotangent of a packed tuple: per element, the sum of what its consumers sent (or None)."""
    by_index: dict[int, list] = {}
    for part in parts:
        by_index.setdefault(part.index, []).append(part.ct)
    return [None if i not in by_index else
            by_index[i][0] if len(by_index[i]) == 1 else math.add_n(by_index[i]) for i in range(size)]


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _result(x: Tensor, ct, mode: str, ys, stops) -> Tensor | None:
    if ct is not None:
        return ct
    if mode == "zero":
        return create.zeros_like(x)
    if mode == "raise":
        reasons = "; ".join(explain_gradient(y, x, stops, verbose=False).message for y in ys)
        raise InvalidArgumentError(f"gradients: no gradient for {x.name!r}: {reasons} at {user_source()}")
    return None
