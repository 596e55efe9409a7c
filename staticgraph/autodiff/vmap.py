"""`vmap` as a graph transformation: a function built once for one example, then batched.

`vmap(fn)` traces fn on placeholders shaped like one example (in a sub-graph, capturing the
outer tensors it uses), then walks that sub-graph in topological order and rebuilds each node in
the calling graph with its op's batching rule (`staticgraph.ops.batching`). A node none of whose
inputs carries the batch is rebuilt as it is. The batched graph's size does not depend on the
batch size.
"""
from __future__ import annotations

from typing import Callable

from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.nest import flatten, unflatten
from staticgraph.ops import create
from staticgraph.ops.batching import (batch_scope, batch_subgraph, materialize, move_from_front,
                                       move_to_front)
from staticgraph.ops.registry import Spec, is_tensor
from staticgraph.ops.shapes import normalize_axis
from staticgraph.ops.subgraph import build_subgraph
from staticgraph.sourceinfo import user_source


def vmap(fn: Callable, in_axes=0, out_axes=0) -> Callable:
    """`fn` mapped over a batch dim of its arguments, as one batched graph (JAX's `jax.vmap`).

    fn is built once, for one example; every op of it is then batched by its batching rule, so
    the graph does not grow with the batch size. fn may call `sg.gradients` or `sg.jvp` (per-
    example gradients), call `vmap` again (nested maps), use outer tensors (shared by all
    examples), and branch or loop: a `cond` whose predicate differs between examples runs
    both branches and selects (as JAX), a `while_loop` whose condition differs runs until
    every example's is false, each example keeping its values once its own is. The batch
    size may be unknown until run time (a None dim). On eager tensors fn is traced once and
    its batched ops run at once, recorded on the tape.

    Args:
        fn: a function of Tensors returning a Tensor or a nested list/tuple/dict of them.
        in_axes: for each argument, the dim holding its batch, or None for an argument shared by
            every example; one int or None applies to all, and to all tensors of an argument
            that is a list / tuple / dict (or give its structure, as JAX's tree prefixes).
        out_axes: where each output's batch dim goes, alike for fn's result; None for an output
            that is the same for every example.
    Returns:
        A function of the batched arguments returning fn's structure, each leaf batched.
    Raises:
        InvalidArgumentError: axes out of range, batch sizes that differ, or no batched argument.
        UnimplementedError: an op of fn that cannot be batched (assign, random draws, summaries:
            the op, its node and source line, and why), applied to batched values.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3, 2), name="x")
        >>> w = sg.constant(np.array([[1.0], [2.0]]))
        >>> y = sg.vmap(lambda row: sg.sum(sg.matmul(row, w)))(x)
        >>> sg.Session().run(y, {x: np.ones((3, 2))}).tolist()
        [3.0, 3.0, 3.0]
    """
    def batched(*args):
        axes = _leaf_axes(in_axes, list(args), "in_axes")
        leaves = flatten(list(args))
        eager = any(getattr(type(a), "style", None) == "eager" for a in leaves)
        # On eager tensors fn is traced into a scratch graph and its batched ops run at once.
        graph = Graph() if eager else get_default_graph()
        with graph.as_default(), graph.name_scope("vmap"):
            leaves = [a if is_tensor(a) else _constant(a, eager) for a in leaves]
            size = _batch_size(leaves, axes)
            fronts = [a if d is None else move_to_front(a, d) for a, d in zip(leaves, axes)]
            specs = [Spec(a.shape if d is None else a.shape[1:], a.dtype)
                     for a, d in zip(fronts, axes)]
            fg, result = build_subgraph(graph, "vmap", fn, specs, structure=list(args))
            inputs = [(a, None if d is None else 0) for a, d in zip(fronts, axes)]
            inputs += [(outer, None) for outer in fg.outer_captures]
            like = next(a for a, d in zip(fronts, axes) if d is not None)
            with batch_scope(size, like):
                outs = batch_subgraph(fg, inputs)
                places = _leaf_axes(out_axes, result, "out_axes")
                outs = [_place_output(v, d, at) for (v, d), at in zip(outs, places)]
        return unflatten(result, outs)
    return batched


def _constant(value, eager: bool):
    if eager:
        raise InvalidArgumentError(f"vmap: on eager tensors every argument must be an eager "
                                   f"tensor, got {type(value).__name__} at {user_source()}")
    return create.constant(value)


def _leaf_axes(axes, tree, what: str) -> list:
    """One axis per leaf of `tree`: `axes` is an int or None for a whole subtree, or a list /
    tuple / dict matching the tree down to where it holds ints or None (JAX's tree prefix)."""
    if axes is None or isinstance(axes, int) and not isinstance(axes, bool):
        return [axes] * len(flatten(tree))
    if isinstance(axes, dict) and isinstance(tree, dict) and list(axes) == list(tree):
        return [a for key in tree for a in _leaf_axes(axes[key], tree[key], what)]
    if isinstance(axes, (list, tuple)) and isinstance(tree, (list, tuple)) and len(axes) == len(tree):
        return [a for sub, part in zip(axes, tree) for a in _leaf_axes(sub, part, what)]
    size = f"{len(axes)} entries" if isinstance(axes, (list, tuple, dict)) else repr(axes)
    count = f"{len(tree)} values" if isinstance(tree, (list, tuple, dict)) else "a single value"
    raise InvalidArgumentError(f"vmap: {what} has {size} for {count}: give an int or None, or "
                               f"one per value (in the values' structure) at {user_source()}")


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


def _place_output(x: Tensor, dim: int | None, at: int | None) -> Tensor:
    """An output with batch dim `dim` (None: the same for every example) with its batch at `at`
    (None: not mapped, as JAX allows for an output that does not depend on the batch)."""
    if at is None:
        if dim is not None:
            raise InvalidArgumentError(f"vmap: out_axes None is only for an output that is the "
                                       f"same for every example; {x.name!r} is not, at "
                                       f"{user_source()}")
        return x
    x = materialize(x, dim, "an unbatched output")
    if not -x.ndim <= at < x.ndim:
        raise InvalidArgumentError(f"vmap: out_axes {at} is out of range for an output of "
                                   f"{x.ndim - 1} dims per example at {user_source()}")
    return move_from_front(x, at)
