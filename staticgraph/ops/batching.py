"""What batching rules (the rules `sg.vmap` applies to each op) share.

A rule is `batch(values, dims, **attrs) -> (output, out_dim)`: `values` are the op's inputs in the
batched graph, `dims[i]` is 0 when value i carries the batch along its first dim and None when it
is the same for every example (`sg.vmap` moves every batch dim to the front before calling a
rule). The output is built with ordinary sg ops; `out_dim` says where its batch dim is (None: the
output is the same for every example). An op marked "elementwise" needs no rule of its own:
`elementwise_rule` aligns its inputs by numpy's broadcasting and applies it unchanged.
"""
from __future__ import annotations

import contextlib

from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.ops.registry import OpDef, apply, get_op
from staticgraph.ops.shapes import fmt, known, normalize_axes

_SIZES: list = []  # the batch size of each vmap being built, innermost last (None: unknown)


@contextlib.contextmanager
def batch_size_scope(size: int | None):
    """Make `size` the batch size that rules see while a vmap is built."""
    _SIZES.append(size)
    try:
        yield
    finally:
        _SIZES.pop()


def batch_size(op: str) -> int:
    """The batch size of the vmap being built; `op`'s rule needs it known."""
    if not _SIZES or _SIZES[-1] is None:
        raise UnimplementedError(f"vmap: batching {op} needs the batch size known when the graph "
                                 "is built; give the batched inputs a known batch dim")
    return _SIZES[-1]


def example_rank(x, dim) -> int:
    """The rank of one example of `x` (batched along dim 0 when `dim` is 0)."""
    if x.ndim is None:
        raise InvalidArgumentError(f"vmap: {x.name!r} has an unknown rank; batching needs ranks")
    return x.ndim - (dim is not None)


def align(x, dim, rank: int):
    """Batched `x` with size-1 dims inserted after the batch dim so that one example has `rank`
    dims: the batch dim then stays in front when numpy broadcasts it against unbatched values."""
    missing = rank - example_rank(x, dim)
    if dim is None or missing <= 0:
        return x
    return apply_named("expand_dims", x, axis=tuple(range(1, 1 + missing)))


def materialize(x, dim, op: str):
    """`x` batched along dim 0: an unbatched x repeated for every example."""
    if dim is not None:
        return x
    if not known(x.shape):
        raise UnimplementedError(f"vmap: batching {op} repeats {x.name!r} for every example, "
                                 f"which needs its shape known, got {fmt(x.shape)}")
    front = apply_named("expand_dims", x, axis=(0,))
    return apply_named("broadcast_to", front, shape=(batch_size(op),) + tuple(x.shape))


def shift_axes(axis, rank: int):
    """Axes of one example (an int, a tuple, or None for all) as axes of the batched value."""
    if axis is None:
        return tuple(range(1, rank + 1))
    if isinstance(axis, int):
        return normalize_axes((axis,), rank)[0] + 1
    return tuple(a + 1 for a in normalize_axes(axis, rank))


def elementwise_rule(op: OpDef):
    """The batching rule of an elementwise op: its inputs aligned, the op applied unchanged."""
    def rule(values, dims, **attrs):
        rank = max(example_rank(v, d) for v, d in zip(values, dims))
        return apply(op, [align(v, d, rank) for v, d in zip(values, dims)], attrs), 0
    return rule


def rule_of(op: OpDef):
    """The op's batching rule: its own, the elementwise one, or None (it has none)."""
    if op.batch is not None:
        return op.batch
    if "elementwise" in op.traits:
        return elementwise_rule(op)
    return None


def move_to_front(x, dim: int):
    """`x` with its dim `dim` moved to the front."""
    if dim == 0:
        return x
    order = list(range(x.ndim))
    order.insert(0, order.pop(dim))
    return apply_named("transpose", x, axes=tuple(order))


def move_from_front(x, dim: int):
    """`x` with its first dim moved to position `dim` (negative counts from the end)."""
    dim = normalize_axes((dim,), x.ndim)[0]
    if dim == 0:
        return x
    order = list(range(1, x.ndim))
    order.insert(dim, 0)
    return apply_named("transpose", x, axes=tuple(order))


def apply_named(name: str, *inputs, **attrs):
    """The registered op `name` applied to `inputs` (for rules of ops defined below this one)."""
    return apply(get_op(name), inputs, attrs)


def all_batched(values, dims, op: str) -> list:
    """Every input batched along dim 0 (the unbatched ones repeated), all of one example rank."""
    rank = max(example_rank(v, d) for v, d in zip(values, dims))
    return [align(materialize(v, d, op), 0, rank) for v, d in zip(values, dims)]
