"""What batching rules (the rules `sg.vmap` applies to each op) share, and the interpreter that
applies them to a sub-graph.

A rule is `batch(values, dims, **attrs) -> (output, out_dim)`: `values` are the op's inputs in the
batched graph, `dims[i]` is 0 when value i carries the batch along its first dim and None when it
is the same for every example (`batch_subgraph` moves every batch dim to the front before calling
a rule). The output is built with ordinary sg ops; `out_dim` says where its batch dim is (None: the
output is the same for every example). A packed op (cond, while_loop) gives a packed value and
one dim per element, which its `tuple_get` consumers pick from. An op marked "elementwise" needs
no rule of its own: `elementwise_rule` aligns its inputs by numpy's broadcasting and applies it
unchanged. An op whose `batch` is `NotBatchable(reason)` stops vmap with that reason.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import networkx as nx
import numpy as np

from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor
from staticgraph.ops.registry import NotBatchable, OpDef, apply, get_op, is_tensor
from staticgraph.ops.shapes import known, normalize_axes


class _Batch(NamedTuple):
    size: int | None  # None: known only at run time
    like: Tensor      # a batched value (batch dim first) whose run-time batch size rules may use


_BATCHES: list[_Batch] = []  # the vmaps being built, innermost last


@contextlib.contextmanager
def batch_scope(size: int | None, like: Tensor):
    """Make `size` (and `like`, a value batched along dim 0) the batch that rules see while a
    vmap is built."""
    _BATCHES.append(_Batch(size, like))
    try:
        yield
    finally:
        _BATCHES.pop()


def _eager() -> bool:
    """Whether the vmap being built runs on eager tensors."""
    return getattr(type(_BATCHES[-1].like), "style", None) == "eager"


def batch_size(op: str) -> int:
    """The batch size of the vmap being built; `op`'s rule needs it known."""
    if not _BATCHES or _BATCHES[-1].size is None:
        raise UnimplementedError(f"vmap: batching {op} needs the batch size known when the graph "
                                 "is built; give the batched inputs a known batch dim")
    return _BATCHES[-1].size


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
    """`x` batched along dim 0: an unbatched x repeated for every example (a broadcast view)."""
    if dim is not None:
        return move_to_front(x, dim)
    if not is_tensor(x):  # a value an eager vmap computed at once (see _batch_node)
        return apply_named("broadcast_like", np.expand_dims(x, 0), batch_column(1 + np.ndim(x)))
    front = apply_named("expand_dims", x, axis=(0,))
    size = _BATCHES[-1].size
    if size is not None and known(x.shape):
        return apply_named("broadcast_to", front, shape=(size,) + tuple(x.shape))
    return apply_named("broadcast_like", front, batch_column(1 + example_rank(x, None)))


def batch_column(rank: int):
    """A value of shape (batch, 1, ..., 1) with `rank` dims, sized by the run's batch."""
    like = _BATCHES[-1].like
    column = apply_named("getitem", like, key=(slice(None),) + (0,) * (like.ndim - 1))
    return apply_named("expand_dims", column, axis=tuple(range(1, rank))) if rank > 1 else column


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
        return None if isinstance(op.batch, NotBatchable) else op.batch
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


def is_batched(dim) -> bool:
    """Whether a value with batch dim `dim` (an int, None, or a packed value's list) varies."""
    return any(d is not None for d in dim) if isinstance(dim, list) else dim is not None


def batch_subgraph(fg, inputs: list) -> list:
    """Rebuild `fg` (a FuncGraph) batched, in the default graph: `inputs` holds one (value, batch
    dim) pair per parameter then per capture; returns one (value, batch dim) pair per output.
    Runs inside `batch_scope`. A node none of whose inputs is batched is rebuilt unchanged."""
    values = {t.name: v for t, v in zip(fg.params + fg.inner_captures, inputs)}
    needed = set().union(*(nx.ancestors(fg.nx, t.name) | {t.name} for t in fg.outputs))
    for name in nx.topological_sort(fg.nx.subgraph(needed)):
        if name not in values:
            values[name] = _batch_node(fg, name, [values[i] for i in fg.inputs(name)])
    return [values[t.name] for t in fg.outputs]


def _batch_node(fg, name: str, inputs: list) -> tuple:
    node = fg.node(name)
    op = get_op(node["op"])
    if not any(is_batched(d) for _, d in inputs):
        values = [v for v, _ in inputs]
        if _eager() and not any(is_tensor(v) for v in values) and "stateful" not in op.traits:
            # Eagerly, a value that depends on no tensor is computed now, as numpy does; the
            # eager ops it meets take it as a constant (a static node could not meet them).
            return op.kernel(*values, **node["attrs"]), None
        return apply(op, values, node["attrs"]), None
    rule = rule_of(op)
    if rule is None:
        why = f": {op.batch.reason}" if isinstance(op.batch, NotBatchable) else " has no batching rule"
        raise UnimplementedError(f"vmap: op {op.name} (node {name!r}, created at "
                                 f"{node['source']}){why}")
    fronts = [(v, d) if isinstance(d, list) else to_front(v, d) for v, d in inputs]
    return rule([v for v, _ in fronts], [d for _, d in fronts], **node["attrs"])


def to_front(x, dim) -> tuple:
    """(x, dim) with a batch dim moved to the front: (x', 0), or (x, None) when unbatched."""
    return (x, None) if dim is None else (move_to_front(x, dim), 0)
