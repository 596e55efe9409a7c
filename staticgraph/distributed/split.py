"""How each value of a graph depends on a batch split into shards: the analysis behind `split=`.

A run with `split={X: 0}` computes the graph once per shard of X's axis 0. Each value then falls
in one of four kinds, found by walking the graph once with one rule per op (the table `RULES`):

    SAME   every shard computes the same value c * n**power (n: the shard's size), the whole
           batch's is c * N**power;
    BATCH  one entry per example along `axis` (times n**power): the whole batch's value is the
           shards' values (rescaled) put end to end along that axis;
    SUM    a sum over the examples (times n**power): the whole batch's value is the sum of the
           shards' values, each rescaled by (N / n)**power;
    MIXED  none of these (a max over the examples, a square of a sum, a stateful or random op):
           it cannot be made from the shards' values, so it runs on the whole batch.

The power tracks the batch size a mean divides by (`count`): a mean loss over a shard is
(1/n) * (its sum), so its gradients carry n**-1 too, and weighting each shard by n/N gives the
whole batch's mean and gradient exactly. Gradients are linear in their cotangent, so the same
rules that classify a forward sum classify the gradient nodes built from it.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import networkx as nx
import numpy as np

from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import known, normalize_axes

SAME, BATCH, SUM, MIXED = "same", "batch", "sum", "mixed"


class Part(NamedTuple):
    """How a value relates to its shards' values (see the module docstring); power None
    marks zeros, which fit a sum of terms of any power."""
    kind: str
    axis: int | None = None
    power: int = 0


UNSPLIT = Part(SAME)
MIX = Part(MIXED)
SHAPE_ONLY = {"filled_like", "count", "shape", "size", "rank"}  # values read from a shape alone


def classify(graph: Graph, nodes: set, split: dict, fed=()) -> dict:
    """The Part of each node of `nodes` (every input of a node not fed is in it), with the
    nodes of `split` (name -> axis) fed per shard along that axis and those of `fed` whole."""
    parts: dict[str, Part] = {}
    stateful: set = set()  # nodes that change state or draw random numbers, and what follows
    for name in nx.topological_sort(graph.nx.subgraph(nodes)):
        if name in fed:
            parts[name] = Part(BATCH, split[name]) if name in split else UNSPLIT
            continue
        node = graph.node(name)
        if node["role"] in ("update", "init") or any(u in stateful for u in graph.nx.pred[name]) \
                or (node["op"] != "variable" and {"stateful", "random"} & _traits(node["op"])):
            stateful.add(name)
        parts[name] = _part(graph, name, parts, stateful)
    return parts


def _part(graph: Graph, name: str, parts: dict, stateful: set) -> Part:
    node = graph.node(name)
    if name in stateful:
        return MIX
    inputs = graph.inputs(name)
    if node["op"] in SHAPE_ONLY and known(graph.node(inputs[0])["shape"]):
        return UNSPLIT  # a static shape is every shard's and the whole batch's
    controls = [u for u, _, d in graph.nx.in_edges(name, data=True) if d.get("control")]
    if any(parts.get(u, UNSPLIT).kind == MIXED for u in controls):
        return MIX
    inputs = [parts.get(i, UNSPLIT) for i in inputs]
    if all(p == UNSPLIT for p in inputs):
        return UNSPLIT
    if any(p.kind == MIXED for p in inputs):
        return MIX
    rule = RULES.get(node["op"])
    if rule is None and "elementwise" in _traits(node["op"]):
        rule = _nonlinear
    if rule is None:
        return MIX
    ranks = [_rank(graph, i) for i in graph.inputs(name)]
    out_rank = None if node["shape"] is None else len(node["shape"])
    try:
        return rule(Node(node["attrs"], inputs, ranks, out_rank, node["shape"],
                         [graph.node(i)["shape"] for i in graph.inputs(name)]))
    except (TypeError, ValueError, IndexError):  # an axis out of range, an unknown rank
        return MIX


def _traits(op: str) -> set:
    return set(get_op(op).traits)


def _rank(graph: Graph, name: str) -> int | None:
    shape = graph.node(name)["shape"]
    return None if shape is None else len(shape)


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


def _nonlinear(n: Node) -> Part:
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


# ----- putting the shards' values together ----------------------------------------------------
def combine(part: Part, values: list, sizes: list, total: int) -> np.ndarray:
    """The whole batch's value of a node from its shards' `values` (shards of `sizes`
    examples out of `total`)."""
    if part.power:  # None for zeros: any power
        values = [rescale(v, (total / n) ** part.power) for v, n in zip(values, sizes)]
    if part.kind == BATCH:
        return np.concatenate(values, axis=part.axis)
    if part.kind == SUM:
        out = np.array(values[0], copy=True)
        for v in values[1:]:
            out += v
        return out
    return np.asarray(values[0])


def rescale(value, factor: float) -> np.ndarray:
    """`value * factor` in value's dtype (rounded to the nearest integer for integers: a count
    of 18 examples times 37/18 is 37, not 36.99...)."""
    value = np.asarray(value)
    scaled = value * factor
    if value.dtype.kind in "iu":
        scaled = np.rint(scaled)
    return np.asarray(scaled, dtype=value.dtype)
