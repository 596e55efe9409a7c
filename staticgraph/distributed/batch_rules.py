"""The table of batch rules: for each op, how its result depends on a split batch, given how
its inputs do (the kinds SAME, BATCH, SUM and MIXED of `staticgraph.distributed.split`).

A rule sees a `Node` (attributes, the inputs' Parts and ranks, shapes) and returns the result's
Part; an op with no rule is MIXED (elementwise ops without one are treated as non-linear).
Linear ops keep sums and powers; a product adds its factors' powers; everything non-linear
needs plain per-example inputs.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from staticgraph.ops.shapes import normalize_axes

SAME, BATCH, SUM, MIXED = "same", "batch", "sum", "mixed"


class Part(NamedTuple):
    """How a value relates to its shards' values (see `staticgraph.distributed.split`);
    power None marks zeros, which fit a sum of terms of any power."""
    kind: str
    axis: int | None = None
    power: int = 0


UNSPLIT = Part(SAME)
MIX = Part(MIXED)


class Node(NamedTuple):
    """What a rule sees of a node: attributes, its inputs' Parts and ranks, its own shape."""
    attrs: dict
    parts: list
    ranks: list
    rank: int | None
    shape: tuple | None
    in_shapes: list


# ----- elementwise ops -----------------------------------------------------------------------
def _aligned(n: Node, indices) -> Part | None:
    """The BATCH part of an elementwise result from inputs `indices` (numpy broadcasting aligns
    the trailing dims), SAME if none is batched, None if they disagree."""
    axes = {n.parts[i].axis + n.rank - n.ranks[i] for i in indices if n.parts[i].kind == BATCH}
    if len(axes) > 1:
        return None
    if not axes:
        return Part(SAME)
    axis = axes.pop()
    for i in indices:  # an unsplit input must not have a size > 1 along the batch axis
        k = axis - (n.rank - n.ranks[i])
        if n.parts[i].kind != BATCH and 0 <= k and n.in_shapes[i][k] not in (None, 1):
            return None
    return Part(BATCH, axis)


def _terms(n: Node, indices=None) -> Part:
    """A sum of terms (add, subtract, add_n): one kind and power for all."""
    indices = range(len(n.parts)) if indices is None else indices
    powers = {n.parts[i].power for i in indices} - {None}  # zeros fit any power
    power = powers.pop() if len(powers) == 1 else None
    kinds = {n.parts[i].kind for i in indices}
    if powers or (SUM in kinds and kinds != {SUM}):
        return MIX
    if kinds == {SUM}:
        return Part(SUM, None, power)
    aligned = _aligned(n, indices)
    return MIX if aligned is None else aligned._replace(power=power)


def _product(n: Node, signs=(1, 1)) -> Part:
    """A product (multiply; divide with signs (1, -1)): powers add; a SUM only times SAMEs."""
    kinds = [p.kind for p in n.parts]
    power = sum(s * (p.power or 0) for s, p in zip(signs, n.parts))
    if SUM in kinds:
        others = [k for i, k in enumerate(kinds) if i != kinds.index(SUM)]
        if any(k != SAME for k in others) or signs[kinds.index(SUM)] < 0:
            return MIX
        return Part(SUM, None, power)
    aligned = _aligned(n, range(len(n.parts)))
    return MIX if aligned is None else aligned._replace(power=power)


def _masked(linear: tuple) -> Callable:
    """An op linear in the inputs `linear` (a sum of them, each times a mask built from the
    other inputs, which must be plain per-example values or unsplit)."""
    def rule(n: Node) -> Part:
        masks = [i for i in range(len(n.parts)) if i not in linear]
        if any(n.parts[i].kind == SUM or n.parts[i].power for i in masks):
            return MIX
        part = _terms(n, linear)
        if part.kind == SUM:
            return part if all(n.parts[i].kind == SAME for i in masks) else MIX
        aligned = _aligned(n, range(len(n.parts)))
        return MIX if part.kind == MIXED or aligned is None else aligned._replace(power=part.power)
    return rule


def nonlinear(n: Node) -> Part:
    """An elementwise op that is not linear: per-example inputs give per-example results."""
    if any(p.kind == SUM or p.power for p in n.parts):
        return MIX
    aligned = _aligned(n, range(len(n.parts)))
    return MIX if aligned is None else aligned


def _unary_linear(n: Node) -> Part:
    return n.parts[0]


# ----- reductions and shape ops ---------------------------------------------------------------
def _reduce(linear: bool) -> Callable:
    """sum (linear: over the batch axis it makes a SUM) and max, prod, norm, argmax...
    (only over other axes)."""
    def rule(n: Node) -> Part:
        x = n.parts[0]
        if x.kind == SUM:
            return x if linear else MIX
        if x.kind == SAME:
            return x if linear or not x.power else MIX
        axes = normalize_axes(n.attrs.get("axis"), n.ranks[0])
        if x.axis in axes:
            return Part(SUM, None, x.power) if linear else MIX
        if not linear and x.power:
            return MIX
        keep = n.attrs.get("keepdims", False)
        return Part(BATCH, x.axis if keep else x.axis - sum(a < x.axis for a in axes), x.power)
    return rule


def _count(n: Node) -> Part:
    x = n.parts[0]
    if x.kind == BATCH and x.axis in normalize_axes(n.attrs.get("axis"), n.ranks[0]):
        return Part(SAME, None, 1)
    return UNSPLIT


def _like(summing: bool) -> Callable:
    """Ops whose result has the shape of their second input: `broadcast_like` moves or
    broadcasts the value, `reduce_to` (summing) also sums it down to an unsplit shape."""
    def rule(n: Node) -> Part:
        x, like = n.parts[0], n.parts[1]
        if x.kind == SUM:
            return x if like.kind == SAME else MIX
        if x.kind == SAME:
            return Part(BATCH, like.axis, x.power) if like.kind == BATCH else x
        if like.kind == BATCH:
            return x._replace(axis=like.axis) if x.axis + n.rank - n.ranks[0] == like.axis else MIX
        k = x.axis - (n.ranks[0] - n.rank)  # where x's batch axis lands in the result
        return Part(SUM, None, x.power) if summing and (k < 0 or n.shape[k] == 1) else MIX
    return rule


def _reshape_like(n: Node) -> Part:
    """reshape_like (the cotangent of a reshape): batch-major on both sides, or not split."""
    x, like = n.parts[0], n.parts[1]
    if x.kind == BATCH or like.kind == BATCH:
        return x if x.kind == BATCH and x.axis == 0 and like == Part(BATCH, 0) else MIX
    return x


def _reshape(n: Node) -> Part:
    """reshape keeps a batch along axis 0 when each example keeps its own elements: the
    dims after the first hold as many elements before as after."""
    x = n.parts[0]
    if x.kind != BATCH:
        return x
    before, after = n.in_shapes[0][1:], n.shape[1:]
    if x.axis != 0 or None in before or None in after or \
            int(np.prod(before)) != int(np.prod(after)):
        return MIX
    return x


def _keepdims_like(n: Node) -> Part:
    t, x = n.parts[0], n.parts[1]
    if t.kind == BATCH:
        return Part(BATCH, x.axis, t.power) if x.kind == BATCH else MIX
    return t


def _filled_like(n: Node) -> Part:
    """A value filled in: zeros (power None) add to terms of any power."""
    x = n.parts[0]
    power = None if n.attrs.get("value") == 0 else 0
    return Part(BATCH, x.axis, power) if x.kind == BATCH else UNSPLIT


def _broadcast_to(n: Node) -> Part:
    """broadcast_to a fixed shape: a per-example value would need the shard's size in it."""
    return MIX if n.parts[0].kind == BATCH else n.parts[0]


def _moved(where: Callable) -> Callable:
    """Ops that move axes: `where(attrs, axis, in_rank, out_rank)` gives the batch axis's new
    place (None: the op mixes it with others)."""
    def rule(n: Node) -> Part:
        x = n.parts[0]
        if x.kind != BATCH:
            return x
        axis = where(n.attrs, x.axis, n.ranks[0], n.rank)
        return MIX if axis is None else x._replace(axis=axis)
    return rule


def _expand(attrs, axis, rank, out_rank):
    new = normalize_axes(attrs["axis"], out_rank)
    kept = [i for i in range(out_rank) if i not in new]
    return kept[axis]


def _squeeze(attrs, axis, rank, out_rank):
    gone = normalize_axes(attrs.get("axis"), rank) if attrs.get("axis") is not None else None
    if gone is None or axis in gone:
        return None
    return axis - sum(a < axis for a in gone)


def _getitem_axis(key, axis: int) -> int | None:
    """Where `x[key]` puts x's batch axis: kept only when the key takes all of it and nothing
    before it adds or drops an axis."""
    key = key if isinstance(key, tuple) else (key,)
    before = key[:axis]
    if any(not isinstance(k, slice) for k in before):
        return None
    if axis < len(key) and key[axis] != slice(None):
        return None
    return axis


def _getitem(n: Node) -> Part:
    x = n.parts[0]
    if x.kind != BATCH:
        return x
    axis = _getitem_axis(n.attrs["key"], x.axis)
    return MIX if axis is None else x._replace(axis=axis)


def _getitem_grad(n: Node) -> Part:
    ct, x = n.parts[0], n.parts[1]
    if x.kind == SAME:  # a slice of an unsplit value: linear in the cotangent
        return ct if ct.kind != BATCH else MIX
    if ct.kind == SUM or x.kind == SUM:
        return MIX
    if x.kind == BATCH and _getitem_axis(n.attrs["key"], x.axis) is not None:
        return Part(BATCH, x.axis, ct.power)
    return MIX if x.kind == BATCH or ct.kind == BATCH else ct


def _transpose(attrs, axis, rank, out_rank):
    perm = attrs.get("axes")
    return rank - 1 - axis if perm is None else list(perm).index(axis)


def _swap_last(attrs, axis, rank, out_rank):
    return {rank - 1: rank - 2, rank - 2: rank - 1}.get(axis, axis)


def _rows(n: Node) -> int | None:
    """The batch axis shared by every input of an op working along one axis of each example
    (None when the inputs are sums, rescaled, or batched along different axes)."""
    if any(p.kind == SUM or p.power for p in n.parts):
        return None
    axes = {p.axis for p in n.parts if p.kind == BATCH}
    if len(axes) != 1 or any(p.kind != BATCH for p in n.parts):
        return None
    return axes.pop()


def _along(n: Node) -> Part:
    """log_softmax, concat, the cross entropies: along `axis` of each example, which must not
    be the batch axis; the cross entropies drop that axis."""
    axis = _rows(n)
    along = n.attrs.get("axis", -1) % max(n.ranks)
    if axis is None or along == axis:
        return MIX
    return Part(BATCH, axis - 1 if n.rank < max(n.ranks) and along < axis else axis)


def _concat_part(n: Node) -> Part:
    """The piece `index` of a concat's cotangent (input 0) along `axis`: linear in it."""
    batched = [p.axis for p in n.parts if p.kind == BATCH]
    if batched and n.attrs["axis"] % n.rank == batched[0]:
        return MIX
    return _masked((0,))(n)


def _stack(n: Node) -> Part:
    axis = _rows(n)
    if axis is None:
        return MIX
    new = n.attrs.get("axis", 0) % n.rank
    return Part(BATCH, axis + 1 if new <= axis else axis)


def _sparse_entropy(n: Node) -> Part:
    """sparse_softmax_cross_entropy_with_logits(labels, logits, log_softmax): per row."""
    axis = _rows(n)
    return MIX if axis is None or axis >= n.ranks[0] else Part(BATCH, axis)


def _matmul(n: Node) -> Part:
    """matmul (..., m, k) @ (..., k, n): a batch axis over rows, columns or stacked matrices
    stays; over k on both sides it is summed (a SUM); a SUM times an unsplit matrix stays one."""
    a, b = n.parts
    ra, rb, r = n.ranks[0], n.ranks[1], n.rank
    if ra < 2 or rb < 2:
        return MIX
    power = (a.power or 0) + (b.power or 0)
    if SUM in (a.kind, b.kind):
        return Part(SUM, None, power) if SAME in (a.kind, b.kind) else MIX
    if a.kind == BATCH and a.axis == ra - 1:
        return Part(SUM, None, power) if b.kind == BATCH and b.axis == rb - 2 else MIX
    if b.kind == BATCH and b.axis == rb - 2:
        return MIX
    axes = set()
    if a.kind == BATCH:
        axes.add(r - 2 if a.axis == ra - 2 else a.axis + r - ra)
    if b.kind == BATCH:
        axes.add(r - 1 if b.axis == rb - 1 else b.axis + r - rb)
    return Part(BATCH, axes.pop(), power) if len(axes) == 1 else MIX


def _gather(n: Node) -> Part:
    params, indices = n.parts[0], n.parts[1]
    if params.kind != SAME or params.power or indices.kind != BATCH:
        return MIX
    return Part(BATCH, n.attrs.get("axis", 0) + indices.axis)


def _gather_grad(n: Node) -> Part:
    """The gradient of a gather from unsplit params: each example adds into the rows it read."""
    ct, indices, params = n.parts[0], n.parts[1], n.parts[2]
    if params.kind != SAME or indices.kind == SUM or ct.kind == SUM:
        return MIX
    return Part(SUM, None, ct.power) if BATCH in (ct.kind, indices.kind) else ct


def _one_hot(n: Node) -> Part:
    x = n.parts[0]
    return x if x.kind == BATCH and not x.power else MIX


RULES: dict[str, Callable[[Node], Part]] = {
    "add": _terms, "subtract": _terms, "add_n": _terms,
    "multiply": _product, "divide": lambda n: _product(n, (1, -1)),
    "negative": _unary_linear, "identity": _unary_linear, "stop_gradient": _unary_linear,
    "cast": _unary_linear, "check_numerics": _unary_linear, "ensure_shape_like": _unary_linear,
    "where": _masked((1, 2)), "relu_grad": _masked((0,)),
    "sum": _reduce(True), "max": _reduce(False), "min": _reduce(False), "prod": _reduce(False),
    "norm": _reduce(False), "argmax": _reduce(False), "argmin": _reduce(False),
    "count": _count,
    "broadcast_like": _like(False), "reduce_to": _like(True), "reshape_like": _reshape_like,
    "keepdims_like": _keepdims_like, "filled_like": _filled_like, "broadcast_to": _broadcast_to,
    "expand_dims": _moved(_expand), "squeeze": _moved(_squeeze), "reshape": _reshape,
    "transpose": _moved(_transpose), "swap_last": _moved(_swap_last),
    "getitem": _getitem, "getitem_grad": _getitem_grad,
    "log_softmax": _along, "concat": _along, "concat_part": _concat_part, "stack": _stack,
    "softmax_cross_entropy_with_logits": _along,
    "sparse_softmax_cross_entropy_with_logits": _sparse_entropy,
    "matmul": _matmul, "gather": _gather, "gather_grad": _gather_grad, "one_hot": _one_hot,
}
