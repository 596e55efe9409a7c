"""Shape-changing ops: reshape, transpose, broadcast, expand/squeeze, concat/stack, indexing, gather.

Also the "like" ops that vjps use when a shape is only known at run time (`reduce_to`,
`broadcast_like`, `reshape_like`), so gradients work with `None` dims.
"""
from __future__ import annotations


import numpy as np

from staticgraph import dtypes
from staticgraph.ops import create as C
from staticgraph.ops.batching import (align, apply_named, batch_size, example_rank, materialize,
                                      move_from_front, shift_axes)
from staticgraph.ops.registry import ShapeError, Spec, defop, is_tensor
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.ops.shapes import (as_axes, as_axis, as_shape, broadcast_shapes, compatible, fmt,
                                    known, normalize_axes, normalize_axis, num_elements,
                                    reduced_shape, same_dtype)
from staticgraph.sourceinfo import user_source

VIEW = {"view", "foldable", "total"}


# ----- the "like" ops: shapes taken from another tensor at run time -----------------------------
def _sum_to_shape(x: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum the broadcast dims of x away so that it has `shape`."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and x.shape[i + lead] != 1)
    if axes:
        x = np.sum(x, axis=axes, keepdims=True, dtype=x.dtype)
    return x.reshape(shape) if lead else x


def _like_rule(x: Spec, like: Spec):
    return Spec(like.shape, x.dtype)


def _reduce_to_rule(x: Spec, like: Spec):
    if len(like.shape) > len(x.shape) or not compatible(broadcast_shapes(x.shape, like.shape),
                                                         x.shape):
        raise ShapeError(f"{fmt(like.shape)} does not broadcast to {fmt(x.shape)}")
    return Spec(like.shape, x.dtype)


def _reshape_like_rule(x: Spec, like: Spec):
    size, target = num_elements(x.shape), num_elements(like.shape)
    if None not in (size, target) and size != target:
        raise ShapeError(f"cannot reshape {fmt(x.shape)} to {fmt(like.shape)}")
    return Spec(like.shape, x.dtype)


def _reduce_to_batch(values, dims):
    # The example's leading dims that like lacks are summed away: like is given them as size 1
    # (after the batch dim, which reduce_to then keeps) and they are squeezed afterwards.
    x, like = values
    lead = example_rank(x, dims[0]) - example_rank(like, dims[1])
    like = align(materialize(like, dims[1], "reduce_to"), 0, example_rank(x, dims[0]))
    out = reduce_to(materialize(x, dims[0], "reduce_to"), like)
    return (squeeze(out, tuple(range(1, 1 + lead))) if lead > 0 else out), 0


reduce_to = defop("reduce_to", kernel=lambda x, like: _sum_to_shape(x, like.shape),
                  shape_rule=_reduce_to_rule, traits={"foldable", "total"}, batch=_reduce_to_batch,
                  vjp=lambda ct, x, like, out: [broadcast_like(ct, x), None],
                  jvp=lambda t, x, like, out: None if t[0] is None else reduce_to(t[0], like),
                  doc="Sum x's broadcast dims away so it has like's shape (the vjp of broadcasting).")


def _broadcast_like_rule(x: Spec, like: Spec):
    return Spec(broadcast_shapes(x.shape, like.shape), x.dtype)


broadcast_like = defop(
    "broadcast_like",
    kernel=lambda x, like: np.broadcast_to(x, np.broadcast_shapes(x.shape, like.shape)),
    shape_rule=_broadcast_like_rule, traits=VIEW,
    batch=lambda values, dims: _aligned(broadcast_like, values, dims),
    vjp=lambda ct, x, like, out: [reduce_to(ct, x), None],
    jvp=lambda t, x, like, out: None if t[0] is None else broadcast_like(t[0], like),
    doc="x broadcast against like's shape.")

def _aligned(op, values, dims, **attrs):
    """The batching rule of an op that broadcasts its inputs as numpy does."""
    rank = max(example_rank(v, d) for v, d in zip(values, dims))
    return op(*(align(v, d, rank) for v, d in zip(values, dims)), **attrs), 0


def _all_batched(op, values, dims, **attrs):
    """`op` applied to its inputs all batched (the unbatched ones repeated)."""
    return op(*(materialize(v, d, op.name) for v, d in zip(values, dims)), **attrs), 0


reshape_like = defop("reshape_like", kernel=lambda x, like: np.reshape(x, like.shape),
                     shape_rule=_reshape_like_rule, traits=VIEW,
                     batch=lambda values, dims: _all_batched(reshape_like, values, dims),
                     vjp=lambda ct, x, like, out: [reshape_like(ct, x), None],
                     jvp=lambda t, x, like, out: None if t[0] is None else reshape_like(t[0], like),
                     doc="x reshaped to like's shape.")


def _keepdims_like_kernel(t, x, *, axis):
    axes = normalize_axes(axis, x.ndim)
    return np.reshape(t, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))


keepdims_like = defop(
    "keepdims_like", kernel=_keepdims_like_kernel, traits=VIEW,
    batch=lambda values, dims, axis: _all_batched(
        keepdims_like, values, dims, axis=shift_axes(axis, example_rank(values[1], dims[1]))),
    shape_rule=lambda t, x, *, axis: Spec(reduced_shape(x.shape, axis, True), t.dtype),
    vjp=lambda ct, t, x, out, axis: [reshape_like(ct, t), None],
    jvp=lambda tangents, t, x, out, axis:
        None if tangents[0] is None else keepdims_like(tangents[0], x, axis=axis),
    doc="t, x reduced over `axis`, with the reduced dims back as size 1 at x's run-time rank.")


def keep_reduced_dims(t, x, axis):
    """`t`, a reduction of x over `axis` (None: all) without keepdims, with the reduced dims put
    back as size 1; at run time when x's rank is unknown."""
    if x.ndim is None:
        return keepdims_like(t, x, axis=axis)
    return expand_dims(t, normalize_axes(axis, x.ndim))


def unbroadcast(ct, like):
    """The cotangent `ct` of a broadcast result, summed back to the shape of input `like`."""
    if ct.shape == like.shape and known(like.shape):
        return ct
    return reduce_to(ct, like)


def broadcast_as(t, like):
    """`t` broadcast to the shape of `like` (the jvp twin of `unbroadcast`), statically when known."""
    if t.shape == like.shape and known(like.shape):
        return t
    if known(like.shape):
        return broadcast_to(t, like.shape)
    return broadcast_like(t, like)


def reshape_back(ct, like):
    """`ct` reshaped to like's shape (statically when it is known)."""
    if known(like.shape):
        return ct if ct.shape == like.shape else reshape(ct, like.shape)
    return reshape_like(ct, like)


# ----- shape, size, rank: a value's run-time shape as a tensor --------------------------------
def _shape_kernel(x, *, dtype):
    return np.array(x.shape, dtype=dtype)


_NO_GRADIENT = {"vjp": lambda ct, x, out, dtype: [None], "jvp": lambda t, x, out, dtype: None}
# These outputs do not depend on x's values: x is disconnected, not non-differentiable.
shape_ = defop("shape", kernel=_shape_kernel, **_NO_GRADIENT, traits={"foldable", "total"},
               batch=lambda values, dims, dtype: (getitem(shape_(values[0], dtype=dtype),
                                                          (slice(1, None),)), None),
               shape_rule=lambda x, *, dtype: Spec((len(x.shape),), dtype),
               doc="x's run-time shape, a 1-D integer tensor.")
size_ = defop("size", kernel=lambda x, *, dtype: np.array(x.size, dtype=dtype), **_NO_GRADIENT,
              shape_rule=lambda x, *, dtype: Spec((), dtype), traits={"foldable", "total"},
              batch=lambda values, dims, dtype: (apply_named(
                  "prod", getitem(shape_(values[0], dtype=dtype), (slice(1, None),)), axis=None,
                  keepdims=False), None),
              doc="The number of x's elements at run time.")
rank_ = defop("rank", kernel=lambda x, *, dtype: np.array(x.ndim, dtype=dtype), **_NO_GRADIENT,
              shape_rule=lambda x, *, dtype: Spec((), dtype), traits={"foldable", "total"},
              batch=lambda values, dims, dtype: (
                  apply_named("subtract", rank_(values[0], dtype=dtype), 1), None),
              doc="x's rank (its number of dims) at run time.")


def _static_or_run_time(op, known_value, x, out_type, name):
    """A constant when `known_value` (x's static shape, size or rank) is not None and x is not
    eager, else `op` applied to x."""
    dtype = _index_dtype(out_type, op.name)
    if known_value is not None and getattr(x, "style", "static") == "static":
        return C.constant(np.array(known_value, dtype), name=name)
    return op(x, dtype=dtype, name=name)


def _static_shape(x) -> tuple | None:
    """x's shape as known now: a tensor's static shape, a Python or numpy value's own."""
    return x.shape if is_tensor(x) else np.shape(x)


def _index_dtype(dtype, what: str) -> np.dtype:
    dtype = dtypes.as_dtype(dtype)
    if dtype not in (dtypes.int32, dtypes.int64):
        raise InvalidArgumentError(f"{what}: out_type must be int32 or int64, got {dtype.name} "
                                   f"at {user_source()}")
    return dtype


def shape(x, name: str | None = None, out_type=dtypes.int32):
    """x's shape as a 1-D integer tensor (TF1's `tf.shape`): a constant when x's shape is known
    as the graph is built, else read at run time (of a placeholder of unknown rank, say).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float32)
        >>> sg.Session().run(sg.shape(x), {x: np.zeros((2, 3))})
        array([2, 3], dtype=int32)
    """
    static = _static_shape(x)
    return _static_or_run_time(shape_, static if known(static) else None, x, out_type,
                               name or "Shape")


def size(x, name: str | None = None, out_type=dtypes.int32):
    """The number of x's elements as a scalar integer tensor (TF1's `tf.size`)."""
    return _static_or_run_time(size_, num_elements(_static_shape(x)), x,
                               out_type, name or "Size")


def rank(x, name: str | None = None):
    """x's rank as a scalar int32 tensor (TF1's `tf.rank`); a constant when the rank is known."""
    static = _static_shape(x)
    return _static_or_run_time(rank_, None if static is None else len(static), x, dtypes.int32,
                               name or "Rank")


# ----- reshape / transpose / broadcast_to ----------------------------------------------------
def _reshape_rule(x: Spec, *, shape):
    shape = as_shape(shape, "reshape", infer=True)
    size = num_elements(x.shape)
    rest = num_elements([d for d in shape if d != -1])
    if -1 in shape:
        if rest == 0:
            raise ShapeError(f"cannot infer the -1 of {shape}: the other dims hold no elements")
        fill = size // rest if size is not None else None
        if size is not None and size % rest:
            raise ShapeError(f"cannot reshape {fmt(x.shape)} ({size} elements) to {shape}")
        return Spec(tuple(fill if d == -1 else d for d in shape), x.dtype)
    if size is not None and size != rest:
        raise ShapeError(f"cannot reshape {fmt(x.shape)} ({size} elements) to {fmt(shape)} "
                         f"({rest} elements)")
    return Spec(shape, x.dtype)


def _reshape_batch(values, dims, *, shape):
    # The batch takes a -1; so the example's own -1 is resolved from its known size first.
    x = values[0]
    if -1 in shape:
        resolved = _reshape_rule(Spec(x.shape[1:], x.dtype), shape=shape).shape
        if None in resolved:
            return reshape_(x, shape=(batch_size("reshape"),) + tuple(shape)), 0
        shape = resolved
    return reshape_(x, shape=(-1,) + tuple(shape)), 0


reshape_ = defop("reshape", kernel=lambda x, *, shape: np.reshape(x, shape),
                 shape_rule=_reshape_rule, traits=VIEW, batch=_reshape_batch,
                 vjp=lambda ct, x, out, shape: [reshape_back(ct, x)],
                 jvp=lambda t, x, out, shape: reshape_(t[0], shape=shape))


def reshape(x, shape, name: str | None = None):
    """x with a new shape of the same size; one dim may be -1 (inferred)."""
    return reshape_(x, shape=as_shape(shape, "reshape", infer=True), name=name)


def _transpose_rule(x: Spec, *, axes):
    if axes is None:
        return Spec(x.shape[::-1], x.dtype)
    if sorted(axes) != list(range(len(x.shape))):
        raise ShapeError(f"axes {axes} are not a permutation of the {len(x.shape)} dims of "
                         f"{fmt(x.shape)}")
    return Spec(tuple(x.shape[a] for a in axes), x.dtype)


def _transpose_vjp(ct, x, out, axes):
    return [transpose(ct, None if axes is None else tuple(np.argsort(axes)))]


# The method gives np.transpose's view without its dispatch layer.
def _transpose_batch(values, dims, *, axes):
    rank = example_rank(values[0], 0)
    axes = range(rank - 1, -1, -1) if axes is None else axes
    return transpose_(values[0], axes=(0,) + tuple(a + 1 for a in axes)), 0


transpose_ = defop("transpose", kernel=lambda x, *, axes: x.transpose(axes),
                   shape_rule=_transpose_rule, traits=VIEW, vjp=_transpose_vjp,
                   batch=_transpose_batch,
                   jvp=lambda t, x, out, axes: transpose_(t[0], axes=axes))


def transpose(x, axes=None, name: str | None = None):
    """x with its dims permuted (reversed when `axes` is None)."""
    return transpose_(x, axes=None if axes is None else as_axes(axes, "transpose"), name=name)


def _swap_last_rule(x: Spec):
    if len(x.shape) < 2:
        raise ShapeError(f"needs a tensor of rank >= 2, got {fmt(x.shape)}")
    return Spec(x.shape[:-2] + x.shape[:-3:-1], x.dtype)


swap_last_ = defop("swap_last", kernel=lambda x: np.swapaxes(x, -1, -2),
                   shape_rule=_swap_last_rule, traits=VIEW,
                   vjp=lambda ct, x, out: [swap_last_(ct)], jvp=lambda t, x, out: swap_last_(t[0]),
                   batch=lambda values, dims: (swap_last_(values[0]), 0),
                   doc="x with its last two dims swapped, at any rank (a matrix transpose of "
                       "unknown rank).")


def matrix_transpose(x):
    """Swap the last two dims."""
    if x.ndim is None:
        return swap_last_(x)
    perm = list(range(x.ndim))
    perm[-2:] = perm[-1], perm[-2]
    return transpose(x, perm)


def _broadcast_to_rule(x: Spec, *, shape):
    shape = as_shape(shape, "broadcast_to")
    result = broadcast_shapes(x.shape, shape)
    if result != tuple(shape):
        raise ShapeError(f"cannot broadcast {fmt(x.shape)} to {fmt(shape)}")
    return Spec(shape, x.dtype)


broadcast_to_ = defop("broadcast_to", kernel=lambda x, *, shape: np.broadcast_to(x, shape),
                      shape_rule=_broadcast_to_rule, traits=VIEW,
                      batch=lambda values, dims, shape: (broadcast_like(
                          align(values[0], 0, len(shape)),
                          broadcast_to_(np.zeros((), values[0].dtype), shape=(1,) + tuple(shape))), 0),
                      vjp=lambda ct, x, out, shape: [unbroadcast(ct, x)],
                      jvp=lambda t, x, out, shape: broadcast_to_(t[0], shape=shape))


def broadcast_to(x, shape, name: str | None = None):
    """x broadcast (numpy rules) to a fully known `shape`."""
    return broadcast_to_(x, shape=as_shape(shape, "broadcast_to"), name=name)


# ----- expand_dims / squeeze ---------------------------------------------------------------
def _expand_rule(x: Spec, *, axis):
    ndim = len(x.shape) + len(axis)
    axes = normalize_axes(axis, ndim)
    dims = iter(x.shape)
    return Spec(tuple(1 if i in axes else next(dims) for i in range(ndim)), x.dtype)


def _expand_batch(values, dims, *, axis):
    rank = example_rank(values[0], 0) + len(axis)
    return expand_dims_(values[0], axis=shift_axes(axis, rank)), 0


expand_dims_ = defop("expand_dims", kernel=lambda x, *, axis: np.expand_dims(x, axis),
                     shape_rule=_expand_rule, traits=VIEW, batch=_expand_batch,
                     vjp=lambda ct, x, out, axis: [reshape_back(ct, x)],
                     jvp=lambda t, x, out, axis: expand_dims_(t[0], axis=axis))


def expand_dims(x, axis, name: str | None = None):
    """x with new size-1 dims inserted at `axis` (an int or a tuple of ints)."""
    return expand_dims_(x, axis=as_axes(axis, "expand_dims"), name=name)


def _squeeze_rule(x: Spec, *, axis):
    if axis is None:
        if not known(x.shape):
            raise ShapeError(f"squeeze of {fmt(x.shape)} needs an explicit axis (dims are unknown)")
        return Spec(tuple(d for d in x.shape if d != 1), x.dtype)
    axes = normalize_axes(axis, len(x.shape))
    for a in axes:
        if x.shape[a] not in (1, None):
            raise ShapeError(f"cannot squeeze axis {a} of size {x.shape[a]} in {fmt(x.shape)}")
    return Spec(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)


def _squeeze_batch(values, dims, *, axis):
    x = values[0]
    if axis is None:  # the example's size-1 dims, known as squeeze's shape rule requires
        axis = tuple(i for i, d in enumerate(x.shape[1:]) if d == 1)
    return squeeze_(x, axis=shift_axes(axis, example_rank(x, 0))), 0


squeeze_ = defop("squeeze", kernel=lambda x, *, axis: np.squeeze(x, axis),
                 shape_rule=_squeeze_rule, traits=VIEW, batch=_squeeze_batch,
                 vjp=lambda ct, x, out, axis: [reshape_back(ct, x)],
                 jvp=lambda t, x, out, axis: squeeze_(t[0], axis=axis))


def squeeze(x, axis=None, name: str | None = None):
    """x without its size-1 dims (only those in `axis`, if given)."""
    return squeeze_(x, axis=as_axes(axis, "squeeze"), name=name)


# ----- concat / stack ----------------------------------------------------------------------
def _concat_rule(*xs: Spec, axis):
    if not xs:
        raise ShapeError("needs at least one input")
    dtype = same_dtype(*xs)
    ndim = len(xs[0].shape)
    if ndim == 0 or any(len(x.shape) != ndim for x in xs):
        raise ShapeError("inputs must have the same rank >= 1, got " + ", ".join(fmt(x.shape) for x in xs))
    axis = normalize_axis(axis, ndim)
    out = []
    for i in range(ndim):
        dims = [x.shape[i] for x in xs]
        if i == axis:
            out.append(None if None in dims else sum(dims))
            continue
        fixed = {d for d in dims if d is not None}
        if len(fixed) > 1:
            raise ShapeError(f"dim {i} differs: " + ", ".join(fmt(x.shape) for x in xs))
        out.append(fixed.pop() if fixed else None)
    return Spec(tuple(out), dtype)


def _concat_part_kernel(x, *parts, index, axis):
    start = sum(p.shape[axis] for p in parts[:index])
    key = (slice(None),) * (axis % x.ndim) + (slice(start, start + parts[index].shape[axis]),)
    return x[key]


def _concat_part_rule(x: Spec, *parts: Spec, index, axis):
    return Spec(parts[index].shape, x.dtype)


def _concat_part_vjp(ct, x, *parts, out, index, axis):
    pieces = [ct if i == index else C.zeros_like(p, dtype=ct.dtype) for i, p in enumerate(parts)]
    return [concat(pieces, axis)] + [None] * len(parts)


def _joined_batch(op, values, dims, *, axis, new_axis=False, **attrs):
    """The batching rule of concat / stack / concat_part: all inputs batched, axis shifted."""
    rank = example_rank(values[0], dims[0]) + new_axis
    return _all_batched(op, values, dims, axis=shift_axes(axis, rank), **attrs)


concat_part = defop("concat_part", kernel=_concat_part_kernel, shape_rule=_concat_part_rule,
                    traits=VIEW, vjp=_concat_part_vjp,
                    batch=lambda values, dims, index, axis: _joined_batch(
                        concat_part, values, dims, axis=axis, index=index),
                    jvp=lambda t, x, *parts, out, index, axis:
                        None if t[0] is None else concat_part(t[0], *parts, index=index, axis=axis),
                    doc="The slice of a concat result that came from input `index` (its vjp).")

concat_ = defop("concat", kernel=lambda *xs, axis: np.concatenate(xs, axis=axis),
                shape_rule=_concat_rule, traits={"foldable", "total"},
                batch=lambda values, dims, axis: _joined_batch(concat_, values, dims, axis=axis),
                vjp=lambda ct, *xs, out, axis: [concat_part(ct, *xs, index=i, axis=axis)
                                                for i in range(len(xs))],
                jvp=lambda t, *xs, out, axis: concat_(*_zeros_for_none(t, xs), axis=axis))


def _zeros_for_none(tangents, xs) -> list:
    """The tangents, with zeros of the input's shape where a tangent is None (zero)."""
    return [C.zeros_like(x) if t is None else t for t, x in zip(tangents, xs)]


def concat(values, axis, name: str | None = None):
    """The tensors joined along an existing `axis`."""
    return concat_(*values, axis=as_axis(axis, "concat"), name=name)


def _stack_rule(*xs: Spec, axis):
    if not xs:
        raise ShapeError("needs at least one input")
    dtype = same_dtype(*xs)
    shape = xs[0].shape
    for x in xs[1:]:
        if not compatible(x.shape, shape):
            raise ShapeError("inputs must have the same shape, got " + ", ".join(fmt(x.shape) for x in xs))
        shape = tuple(b if a is None else a for a, b in zip(shape, x.shape))
    axis = normalize_axis(axis, len(shape) + 1)
    return Spec(shape[:axis] + (len(xs),) + shape[axis:], dtype)


def _stack_vjp(ct, *xs, out, axis):
    if axis < 0:  # counted from the end, which an unknown rank leaves unknown
        return [getitem(ct, (Ellipsis, i) + (slice(None),) * (-axis - 1)) for i in range(len(xs))]
    return [getitem(ct, (slice(None),) * axis + (i,)) for i in range(len(xs))]


stack_ = defop("stack", kernel=lambda *xs, axis: np.stack(xs, axis=axis), shape_rule=_stack_rule,
               traits={"foldable", "total"}, vjp=_stack_vjp,
               batch=lambda values, dims, axis: _joined_batch(stack_, values, dims, axis=axis,
                                                              new_axis=True),
               jvp=lambda t, *xs, out, axis: stack_(*_zeros_for_none(t, xs), axis=axis))


def stack(values, axis: int = 0, name: str | None = None):
    """The tensors (all of one shape) joined along a new `axis`."""
    return stack_(*values, axis=as_axis(axis, "stack"), name=name)


# ----- indexing ----------------------------------------------------------------------------


def canonical_key(key) -> tuple:
    """A static index as a hashable tuple: ints, slices, None, Ellipsis, nested int tuples."""
    key = key if isinstance(key, tuple) else (key,)
    out = []
    for k in key:
        if is_tensor(k):
            raise ShapeError("tensor indices are not static; use sg.gather(params, indices, axis)")
        if k is None or k is Ellipsis or isinstance(k, slice):
            out.append(_canonical_slice(k) if isinstance(k, slice) else k)
        elif isinstance(k, (bool, np.bool_)):
            raise ShapeError("boolean scalars are not supported as indices")
        elif isinstance(k, (int, np.integer)):
            out.append(int(k))
        else:
            arr = np.asarray(k)
            if arr.dtype.kind not in "iub":
                raise ShapeError(f"index arrays must hold ints or bools, got {arr.dtype}")
            out.append(arr.tolist() if arr.dtype.kind == "b" else arr.astype(np.int64).tolist())
            out[-1] = _freeze(out[-1])
    return tuple(out)


def _canonical_slice(k: slice) -> slice:
    """A slice of ints or None, with a non-zero step."""
    bounds = []
    for v in (k.start, k.stop, k.step):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))):
            raise InvalidArgumentError(f"getitem: slice bounds and steps must be ints or None, "
                                       f"got {k} at {user_source()}")
        bounds.append(None if v is None else int(v))
    if bounds[2] == 0:
        raise InvalidArgumentError(f"getitem: the slice step must not be zero, got {k} at "
                                   f"{user_source()}")
    return slice(*bounds)


def _is_bool(value) -> bool:
    return isinstance(value, bool) or isinstance(value, tuple) and any(_is_bool(v) for v in value)


def _freeze(value):
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _numpy_key(key: tuple) -> tuple:
    return tuple(np.array(k) if isinstance(k, tuple) else k for k in key)


def _getitem_rule(x: Spec, *, key):
    if not known(x.shape) and any(isinstance(k, tuple) and _is_bool(k) for k in key):
        raise ShapeError(f"a boolean mask index needs the indexed dims known, got {fmt(x.shape)}")
    # numpy computes the result shape on zero-stride dummies. Each result dim depends on at most
    # one input dim, so each unknown dim is tried alone at every size where the length of a
    # slice can change (0, 1, 2, around each index, and steps beyond the largest), the others
    # standing at a size beyond every index; a result dim is claimed only when every try agrees.
    # Sizes the key does not fit are skipped: a run with them fails.
    beyond = _largest_index(key) + 2 * _largest_step(key) + 3
    base = tuple(beyond if d is None else d for d in x.shape)
    shapes = [_indexed_shape(x.shape, base, key)]
    for i, d in enumerate(x.shape):
        if d is None:
            for size in _trial_sizes(key, beyond):
                try:
                    shapes.append(_indexed_shape(x.shape, base[:i] + (size,) + base[i + 1:], key))
                except ShapeError:
                    pass
    return Spec(tuple(dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes)),
                x.dtype)


def _largest_index(key) -> int:
    values = [0]
    for k in key:
        if isinstance(k, slice):
            values += [abs(v) for v in (k.start, k.stop) if v is not None]
        elif isinstance(k, int):
            values.append(abs(k))
        elif isinstance(k, tuple) and not _is_bool(k):
            values.append(int(np.max(np.abs(np.array(k, dtype=np.int64)), initial=0)))
    return max(values)


def _largest_step(key) -> int:
    return max([abs(k.step) for k in key if isinstance(k, slice) and k.step is not None],
               default=1)


def _trial_sizes(key, beyond: int) -> list:
    """The sizes of one unknown dim at which a slice's length may change: between two of them
    the length is monotone in the size, so its extremes are among them."""
    sizes = {0, 1, 2, beyond - 1, beyond}
    for k in key:
        if isinstance(k, slice):
            sizes |= {abs(v) + d for v in (k.start, k.stop) if v is not None for d in (-1, 0, 1, 2)}
            step = 1 if k.step is None else abs(k.step)
            sizes |= {beyond + step, beyond + 2 * step}
    return sorted(s for s in sizes if s >= 0)


def _indexed_shape(shape: tuple, sizes: tuple, key: tuple) -> tuple:
    """The shape of dummy[key] for a dummy of `sizes` (standing in for `shape`)."""
    dummy = np.broadcast_to(np.empty((), np.int8), sizes)
    try:
        return dummy[_numpy_key(key)].shape
    except IndexError as exc:
        raise ShapeError(f"index {key} does not fit {fmt(shape)}: {exc}") from None


def _getitem_kernel(x, *, key):
    return x[_numpy_key(key)]


def _batched_key(key: tuple) -> tuple[tuple, int]:
    """`key` for the batched value (a full slice over the batch dim in front, boolean masks as
    the index arrays of their true elements, which need no known batch size), and where the
    batch dim lands: first, unless index arrays stand apart, when numpy puts their dims first
    (in each example too) and the batch after them."""
    key = tuple(part for k in key for part in _mask_as_indices(k))
    arrays = any(isinstance(k, tuple) for k in key)
    advanced = [i for i, k in enumerate(key) if isinstance(k, tuple) or arrays and isinstance(k, int)]
    apart = advanced and advanced != list(range(advanced[0], advanced[-1] + 1))
    lead = max(np.ndim(key[i]) for i in advanced) if apart else 0
    return (slice(None),) + key, lead


def _mask_as_indices(k) -> tuple:
    if isinstance(k, tuple) and _is_bool(k):
        return tuple(tuple(int(i) for i in axis) for axis in np.nonzero(np.array(k)))
    return (k,)


def _getitem_batch(values, dims, *, key):
    key, lead = _batched_key(key)
    return getitem_(values[0], key=key), lead


def _getitem_grad_batch(values, dims, *, key):
    key, lead = _batched_key(key)
    ct, like = (materialize(v, d, "getitem_grad") for v, d in zip(values, dims))
    return getitem_grad(move_from_front(ct, lead), like, key=key), 0


getitem_ = defop("getitem", kernel=_getitem_kernel, shape_rule=_getitem_rule, traits=VIEW,
                 batch=_getitem_batch,
                 vjp=lambda ct, x, out, key: [getitem_grad(ct, x, key=key)],
                 jvp=lambda t, x, out, key: getitem_(t[0], key=key))


def getitem(x, key, name: str | None = None):
    """x[key] for a static key: ints, slices, None, Ellipsis, int or bool index arrays."""
    return getitem_(x, key=canonical_key(key), name=name)


def _getitem_grad_kernel(ct, like, *, key):
    grad = np.zeros(like.shape, ct.dtype)
    nkey = _numpy_key(key)
    if any(isinstance(k, np.ndarray) for k in nkey):
        np.add.at(grad, nkey, ct)  # repeated indices accumulate
    else:
        grad[nkey] = ct
    return grad


getitem_grad = defop("getitem_grad", kernel=_getitem_grad_kernel,
                     shape_rule=lambda ct, like, *, key: _like_rule(ct, like),
                     traits={"foldable"},
                     batch=_getitem_grad_batch,
                     vjp=lambda ct, g, like, out, key: [getitem(ct, key), None],
                     jvp=lambda t, g, like, out, key:
                         None if t[0] is None else getitem_grad(t[0], like, key=key),
                     doc="Zeros of like's shape with ct added at [key] (the vjp of getitem).")


def _gather_rule(params: Spec, indices: Spec, *, axis):
    if indices.dtype.kind not in "iu":
        raise ShapeError(f"indices must be integers, got {indices.dtype.name}")
    a = normalize_axis(axis, len(params.shape))
    return Spec(params.shape[:a] + indices.shape + params.shape[a + 1:], params.dtype)


def _gather_kernel(params, indices, *, axis):
    n = params.shape[axis]
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = np.flatnonzero((indices < 0) | (indices >= n))[0]
        where = np.unravel_index(bad, indices.shape)
        raise InvalidArgumentError(f"gather: indices{list(map(int, where))} = "
                                   f"{int(indices.flat[bad])} is not in [0, {n}) (the size of "
                                   f"axis {axis} of params {params.shape})")
    return np.take(params, indices, axis=axis)


def _gather_batch(values, dims, *, axis):
    (params, indices), (dp, di) = values, dims
    if di is None:
        return gather_(params, indices, axis=shift_axes(axis, example_rank(params, dp))), 0
    if dp is None:  # the indices' batch dim lands where params' axis was
        a = normalize_axis(axis, params.ndim)
        return gather_(params, indices, axis=a), a
    # Each example's indices pick from its own rows: all examples' rows stacked along the axis.
    a = normalize_axis(axis, params.ndim - 1)
    rows = _stacked_rows(params, a, "gather")
    out = gather_(rows, _into_stacked_rows(indices, params.shape[1 + a], "gather"), axis=0)
    k = indices.ndim - 1  # out: batch, index dims, params' dims before a, after a
    return transpose(out, [0, *range(1 + k, 1 + k + a), *range(1, 1 + k),
                           *range(1 + k + a, out.ndim)]), 0


def _stacked_rows(x, a: int, op: str):
    """Batched x with each example's axis a stacked over the batch: (batch * size, other dims)."""
    if not known(x.shape[1:]):
        raise UnimplementedError(f"vmap: batching {op} over both its operands needs the "
                                 f"example's shape known, got {fmt(x.shape[1:])}")
    moved = transpose(x, [0, 1 + a, *(i for i in range(1, x.ndim) if i != 1 + a)])
    return reshape_(moved, shape=(-1,) + tuple(moved.shape[2:]))


def _into_stacked_rows(indices, size: int, op: str):
    """Each example's row indices as indices into all examples' rows stacked: b * size + i."""
    starts = C.constant(np.arange(batch_size(op), dtype=indices.dtype) * size)
    return indices + align(starts, 0, example_rank(indices, 0))


gather_ = defop("gather", kernel=_gather_kernel,
                shape_rule=_gather_rule, traits={"foldable"}, batch=_gather_batch,
                vjp=lambda ct, params, indices, out, axis: [gather_grad(ct, indices, params, axis=axis),
                                                           None],
                jvp=lambda t, params, indices, out, axis: gather_(t[0], indices, axis=axis))


def gather(params, indices, axis: int = 0, name: str | None = None):
    """Slices of `params` along `axis` picked by the integer `indices` (a tensor, or ints).

    Raises:
        InvalidArgumentError: at run time, an index outside [0, params.shape[axis]) (negative
            indices included, as TensorFlow on CPU), naming the index.
    """
    # Ints given as a list stay integers (beside float params they would become floats).
    indices = indices if is_tensor(indices) else np.asarray(indices)
    return gather_(params, indices, axis=as_axis(axis, "gather"), name=name)


def _gather_grad_kernel(ct, indices, like, *, axis):
    axis = axis % like.ndim
    grad = np.zeros(like.shape, ct.dtype)
    moved = np.moveaxis(ct, tuple(range(axis, axis + indices.ndim)), tuple(range(indices.ndim)))
    np.add.at(np.moveaxis(grad, axis, 0), indices, moved)
    return grad


def _gather_grad_rule(ct: Spec, indices: Spec, like: Spec, *, axis):
    return Spec(like.shape, ct.dtype)


def _gather_grad_batch(values, dims, *, axis):
    (ct, indices, like), (dc, di, dl) = values, dims
    ct = materialize(ct, dc, "gather_grad")
    if di is None:
        return gather_grad(ct, indices, materialize(like, dl, "gather_grad"),
                           axis=shift_axes(axis, example_rank(like, dl))), 0
    # The vjp of gather's rule above: the cotangent scattered into all examples' stacked rows.
    a = normalize_axis(axis, example_rank(like, dl))
    k = indices.ndim - 1  # ct: batch, like's dims before a, index dims, like's after a
    ct = transpose(ct, [0, *range(1 + a, 1 + a + k), *range(1, 1 + a), *range(1 + a + k, ct.ndim)])
    rows = _stacked_rows(materialize(like, dl, "gather_grad"), a, "gather_grad")
    size = like.shape[-example_rank(like, dl) + a]
    out = gather_grad(ct, _into_stacked_rows(indices, size, "gather_grad"), rows, axis=0)
    out = reshape_(out, shape=(-1, size) + tuple(out.shape[1:]))
    return transpose(out, [0, *range(2, 2 + a), 1, *range(2 + a, out.ndim)]), 0


gather_grad = defop("gather_grad", kernel=_gather_grad_kernel, shape_rule=_gather_grad_rule,
                    traits={"foldable"}, batch=_gather_grad_batch,
                    vjp=lambda ct, g, indices, like, out, axis: [gather(ct, indices, axis), None, None],
                    jvp=lambda t, g, indices, like, out, axis:
                        None if t[0] is None else gather_grad(t[0], indices, like, axis=axis),
                    doc="Zeros of like's shape with ct scattered-added at indices (gather's vjp).")


def _one_hot_rule(indices: Spec, *, depth, dtype):
    as_shape(depth, "one_hot depth")
    if indices.dtype.kind not in "iu":
        raise ShapeError(f"indices must be integers, got {indices.dtype.name}")
    return Spec(indices.shape + (depth,), dtype)


one_hot_ = defop("one_hot",
                 kernel=lambda indices, *, depth, dtype: (indices[..., None] == np.arange(depth)).astype(dtype),
                 shape_rule=_one_hot_rule, traits={"foldable"},
                 batch=lambda values, dims, **attrs: (one_hot_(values[0], **attrs), 0))


def one_hot(indices, depth: int, dtype=dtypes.float32, name: str | None = None):
    """A new last axis of size `depth` holding 1 at each index and 0 elsewhere."""
    return one_hot_(indices, depth=int(depth), dtype=dtypes.as_dtype(dtype), name=name)
