"""`vmap` as a graph transformation: a function built once for one example, then batched.

`vmap(fn)` traces fn on placeholders shaped like one example (in a sub-graph, capturing the
outer tensors it uses), then walks that sub-graph in topological order and rebuilds each node in
the calling graph with its op's batching rule (`staticgraph.ops.batching`). A node none of whose
inputs carries the batch is rebuilt as it is. The batched graph's size does not depend on the
batch size.
"""
from __future__ import annotations

from typing import Callable

import networkx as nx

from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.nest import flatten, unflatten
from staticgraph.ops import create
from staticgraph.ops.batching import (batch_size_scope, materialize, move_from_front,
                                       move_to_front, rule_of)
from staticgraph.ops.registry import Spec, apply, get_op, is_tensor
from staticgraph.ops.shapes import normalize_axis
from staticgraph.ops.subgraph import build_subgraph
from staticgraph.sourceinfo import user_source


def vmap(fn: Callable, in_axes=0, out_axes=0) -> Callable:
    """`fn` mapped over a batch dim of its arguments, as one batched graph (JAX's `jax.vmap`).

    fn is built once, for one example; every op of it is then batched by its batching rule, so
    the graph does not grow with the batch size. fn may call `sg.gradients` or `sg.jvp` (per-
    example gradients), call `vmap` again (nested maps), and use outer tensors (shared by all
    examples).

    Args:
        fn: a function of Tensors returning a Tensor or a nested list/tuple/dict of them.
        in_axes: for each argument, the dim holding its batch, or None for an argument shared by
            every example; one int or None applies to all.
        out_axes: where each output's batch dim goes (one int for all, or one per output leaf).
    Returns:
        A function of the batched arguments returning fn's structure, each leaf batched.
    Raises:
        InvalidArgumentError: axes out of range, batch sizes that differ, or no batched argument.
        UnimplementedError: an op of fn without a batching rule (named), applied to batched values.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3, 2), name="x")
        >>> w = sg.constant(np.array([[1.0], [2.0]]))
        >>> y = sg.vmap(lambda row: sg.sum(sg.matmul(row, w)))(x)
        >>> sg.Session().run(y, {x: np.ones((3, 2))}).tolist()
        [3.0, 3.0, 3.0]
    """
    def batched(*args):
        graph = get_default_graph()
        axes = _per_arg(in_axes, len(args), "in_axes")
        with graph.as_default(), graph.name_scope("vmap"):
            args = [a if is_tensor(a) else create.constant(a) for a in args]
            size = _batch_size(args, axes)
            fronts = [a if d is None else move_to_front(a, d) for a, d in zip(args, axes)]
            specs = [Spec(a.shape if d is None else a.shape[1:], a.dtype)
                     for a, d in zip(fronts, axes)]
            fg, result = build_subgraph(graph, "vmap", fn, specs, structure=list(args))
            values = {p.name: (a, None if d is None else 0)
                      for p, a, d in zip(fg.params, fronts, axes)}
            values.update({inner.name: (outer, None) for outer, inner in fg.captured.values()})
            with batch_size_scope(size):
                _batch_nodes(fg, values)
                outs = [values[t.name] for t in fg.outputs]
                outs = [materialize(v, d, "an unbatched output") for v, d in outs]
            leaves = _per_arg(out_axes, len(outs), "out_axes")
            outs = [move_from_front(v, d) for v, d in zip(outs, leaves)]
        return unflatten(result, outs)
    return batched


def _per_arg(axes, count: int, what: str) -> list:
    if axes is None or isinstance(axes, int):
        return [axes] * count
    axes = flatten(axes)
    if len(axes) != count:
        raise InvalidArgumentError(f"vmap: {what} has {len(axes)} entries for {count} values at "
                                   f"{user_source()}")
    return list(axes)


def _batch_size(args: list[Tensor], axes: list) -> int | None:
    """The one batch size of the batched arguments (None when unknown when built)."""
    sizes = set()
    for i, (a, d) in enumerate(zip(args, axes)):
        if d is None:
            continue
        if a.ndim is None or not -a.ndim <= d < a.ndim:
            raise InvalidArgumentError(f"vmap: in_axes {d} is out of range for argument {i} of "
                                       f"shape {a.shape} at {user_source()}")
        axes[i] = normalize_axis(d, a.ndim)
        sizes.add(a.shape[axes[i]])
    if not sizes:
        raise InvalidArgumentError(f"vmap: no argument is batched (in_axes all None) at "
                                   f"{user_source()}")
    known_sizes = sizes - {None}
    if len(known_sizes) > 1:
        raise InvalidArgumentError(f"vmap: the batched arguments' batch sizes differ "
                                   f"({sorted(known_sizes)}) at {user_source()}")
    return known_sizes.pop() if known_sizes else None


def _batch_nodes(fg, values: dict) -> None:
    """Rebuild every node the outputs need, batched, in the default graph (values: name ->
    (tensor, batch dim or None), the params and captures filled in)."""
    needed = set().union(*(nx.ancestors(fg.nx, t.name) | {t.name} for t in fg.outputs))
    for name in nx.topological_sort(fg.nx.subgraph(needed)):
        if name in values:
            continue
        node = fg.node(name)
        op = get_op(node["op"])
        inputs = [values[i] for i in fg.inputs(name)]
        tensors = [v for v, _ in inputs]
        dims = [None if d is None else 0 for _, d in inputs]
        if all(d is None for d in dims):
            values[name] = (apply(op, tensors, node["attrs"]), None)
            continue
        rule = rule_of(op)
        if rule is None:
            raise UnimplementedError(f"vmap: op {op.name} (node {name!r}, created at "
                                     f"{node['source']}) has no batching rule")
        values[name] = rule(tensors, dims, **node["attrs"])
