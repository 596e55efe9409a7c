"""Ops that make values: constant, placeholder, zeros/ones/fill and their `_like` forms, identity."""
from __future__ import annotations

import mmap
import tempfile

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError, UnimplementedError
from staticgraph.graph import get_default_graph
from staticgraph.ops import reduce as R
from staticgraph.ops.batching import align, apply_named
from staticgraph.ops.registry import (NotBatchable, ShapeError, Spec, apply_static, as_array,
                                      defop)
from staticgraph.ops.shapes import (as_shape, run_shape, same_as_input, shape_argument,
                                    shape_input_rule)
from staticgraph.sourceinfo import user_source
from staticgraph.tensor_shape import TensorShape, as_static


def _constant_rule(*, value):
    if not isinstance(value, np.ndarray):  # a graph file may say anything
        raise ShapeError(f"a constant's value must be an array, got {type(value).__name__}")
    return Spec(value.shape, value.dtype)


# An op without inputs is the same for every example: vmap never needs to batch it.
NO_INPUTS = NotBatchable("it has no inputs, so it never carries a batch")
_constant = defop("constant", kernel=lambda *, value: value, shape_rule=_constant_rule,
                  traits={"foldable", "total"}, batch=NO_INPUTS, doc="A fixed value stored in the graph.")


def constant(value, dtype=None, shape=None, name: str | None = None,
             verify_shape: bool = False):
    """A tensor with a fixed value, stored in the graph (TF1's `tf.constant`).

    Args:
        value: a number, a nested list, a numpy array, or str / bytes (a string tensor).
        dtype: by default a numpy value keeps its dtype, a Python float is float32 and a Python
            int int32 (int64 when it does not fit), as in TF1.
        shape: TF1's reshaping: a value of that many elements takes the shape, and a shorter
            one fills the rest with its last element (so a scalar fills the whole shape).
        verify_shape: ask for a value of exactly `shape`.
    Example:
        >>> import staticgraph as sg
        >>> c = sg.constant([1.0, 2.0])
        >>> c.shape, c.dtype.name
        ((2,), 'float32')
        >>> sg.Session().run(sg.constant([1, 2], shape=(2, 2)))
        array([[1, 2],
               [2, 2]], dtype=int32)
    """
    try:
        arr = as_array(value, dtype)
        if shape is not None:
            arr = _reshaped(arr, as_shape(shape, "constant"), verify_shape)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"constant {name or ''!r}: {exc} at {user_source()}") from None
    return _frozen_constant(arr, name or "Const")


# A kept value this large is held on disk rather than in the process's memory (see `kept_value`).
SPILL_BYTES = 1 << 20


def kept_value(arr: np.ndarray, name: str):
    """A constant for a value that is kept but seldom read, such as a variable's initial value
    (read again only when the variable is initialised again): from SPILL_BYTES up, its read-only
    array lives in a memory map of an unlinked temporary file, which the operating system may
    page out, so it is not held in memory beside the variable's own value: an assign that copied
    it into a variable gives its pages back (`release_pages`)."""
    if arr.nbytes >= SPILL_BYTES and arr.dtype.kind != "S":
        try:
            with tempfile.TemporaryFile() as file:
                np.ascontiguousarray(arr).tofile(file)
                file.flush()
                mapped = mmap.mmap(file.fileno(), arr.nbytes, access=mmap.ACCESS_READ)
            return _constant(value=np.frombuffer(mapped, arr.dtype).reshape(arr.shape), name=name)
        except OSError:  # no temporary file to be had: kept in memory
            pass
    return _frozen_constant(arr, name)


def release_pages(value) -> None:
    """Give back to the operating system the memory pages that reading `value` brought in, when
    it is a kept value held on disk (see `kept_value`): its bytes stay in the file, and the next
    read loads them again. Any other value is left alone."""
    base = value
    while base is not None:
        if isinstance(base, mmap.mmap):
            if hasattr(base, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
                base.madvise(mmap.MADV_DONTNEED)
            return
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)


def _frozen_constant(arr: np.ndarray, name: str):
    """A constant holding a read-only copy of `arr`, which no one can change afterwards."""
    arr = arr.copy()
    arr.flags.writeable = False
    return _constant(value=arr, name=name)


def _reshaped(arr: np.ndarray, shape: tuple, verify: bool) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    if verify and arr.shape != shape:
        raise InvalidArgumentError(f"expected a value of shape {shape}, got shape {arr.shape}")
    if arr.size > size or (arr.size == 0 and size):
        raise InvalidArgumentError(f"shape {shape} holds {size} elements, the value has "
                                   f"{arr.size}")
    flat = arr.reshape(-1)
    if flat.size < size:
        flat = np.concatenate([flat, np.repeat(flat[-1:], size - flat.size)])
    return flat.reshape(shape)


def _unfed(*, dtype, shape):
    raise FailedPreconditionError("a placeholder has no value unless it is fed")


def _placeholder_rule(*, dtype, shape):
    return Spec(shape, dtype)  # shape None: the rank is unknown until fed


_placeholder = defop("placeholder", kernel=_unfed, shape_rule=_placeholder_rule, batch=NO_INPUTS,
                     doc="A value given at run time through feed_dict.")


def placeholder(dtype, shape=None, name: str | None = None):
    """A value that must be fed when the graph runs: `sess.run(y, {x: value})`.

    Args:
        dtype: e.g. `sg.float32`.
        shape: a tuple; `None` in it marks a dim fixed only by the fed value, e.g.
            `(None, 784)`; `shape=None` (the default, as in TF1) leaves even the rank to the
            fed value: the tensor's `.shape` is then None, ops built on it infer what holds
            at every rank, and each run compiles for the shapes it is fed.
    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, shape=(None, 3), name="x")
        >>> x.shape
        (None, 3)
        >>> print(sg.placeholder(sg.float32).shape)
        None
    """
    if isinstance(shape, TensorShape):  # TensorShape(None) is the unknown rank
        shape = as_static(shape)
    if shape is not None:
        shape = as_shape(shape, f"placeholder {name or ''!r}", unknown=True)
    return apply_static(get_default_graph(), _placeholder,
                        [], {"dtype": dtypes.as_dtype(dtype), "shape": shape}, name=name or "Placeholder")


def _filled_rule(*dims, shape, dtype, value):
    return Spec(shape_input_rule(*dims, shape=shape), dtype)


_filled = defop("filled", kernel=lambda *dims, shape, dtype, value:
                    np.full(run_shape(dims, shape), value, dtype),
                shape_rule=_filled_rule, traits={"foldable", "total"},
                batch=NotBatchable("its shape would differ between examples (a ragged batch)"),
                doc="A new array of one fixed value (zeros, ones), of `shape` or of the shape "
                    "its input holds.")


def _new_filled(what: str, shape, dtype, value, name: str):
    shape, dims = shape_argument(shape, what)
    return _filled(*dims, shape=shape, dtype=dtypes.as_dtype(dtype), value=value, name=name)


def zeros(shape, dtype=dtypes.float32, name: str | None = None):
    """A tensor of zeros of `shape`: ints, or a 1-D integer tensor such as `sg.shape(x)`."""
    return _new_filled("zeros", shape, dtype, 0, name or "zeros")


def ones(shape, dtype=dtypes.float32, name: str | None = None):
    """A tensor of ones of `shape`: ints, or a 1-D integer tensor such as `sg.shape(x)`."""
    return _new_filled("ones", shape, dtype, 1, name or "ones")


def _fill_rule(value: Spec, *dims, shape):
    if value.shape != ():
        raise ShapeError(f"the fill value must be a scalar, got shape {value.shape}")
    return Spec(shape_input_rule(*dims, shape=shape), value.dtype)


def _fill_batch(values, dims, *, shape):
    # Each example's value times ones of the (unbatched) shape.
    if any(d is not None for d in dims[1:]):
        raise UnimplementedError("vmap: batching fill over a batched shape is not supported")
    ones = fill_(np.ones((), values[0].dtype), *values[1:], shape=shape)
    return apply_named("multiply", align(values[0], 0, len(shape)), ones), 0


fill_ = defop("fill", kernel=lambda value, *dims, shape: np.full(run_shape(dims, shape), value),
              shape_rule=_fill_rule, batch=_fill_batch,
              vjp=lambda ct, value, *dims, out, shape: [R.sum(ct)] + [None] * len(dims),
              jvp=lambda t, value, *dims, out, shape: fill_(t[0], *dims, shape=shape),
              traits={"foldable"}, doc="A tensor of `shape` (or of the shape its second input "
                                       "holds) holding the scalar `value`.")


def fill(shape, value, name: str | None = None):
    """A tensor of `shape` (ints, or a 1-D integer tensor such as `sg.shape(x)`) whose every
    element is the scalar `value` (differentiable in `value`)."""
    shape, dims = shape_argument(shape, "fill")
    return fill_(value, *dims, shape=shape, name=name)


def _like_rule(x: Spec, *, dtype, value):
    return Spec(x.shape, x.dtype if dtype is None else dtype)


_filled_like = defop(
    "filled_like",
    kernel=lambda x, *, dtype, value: np.full(x.shape, value, x.dtype if dtype is None else dtype),
    shape_rule=_like_rule,
    batch=lambda values, dims, **attrs: (_filled_like(values[0], **attrs), 0),
    # The output does not depend on x's values: x is disconnected, not non-differentiable.
    vjp=lambda ct, x, out, dtype, value: [None],
    jvp=lambda t, x, out, dtype, value: None,
    traits={"foldable"}, doc="An array of x's shape holding one value.")


def zeros_like(x, dtype=None, name: str | None = None):
    """Zeros of x's (run-time) shape, and x's dtype unless `dtype` is given."""
    return _filled_like(x, dtype=None if dtype is None else dtypes.as_dtype(dtype), value=0,
                        name=name or "zeros_like")


def ones_like(x, dtype=None, name: str | None = None):
    """Ones of x's (run-time) shape, and x's dtype unless `dtype` is given."""
    return _filled_like(x, dtype=None if dtype is None else dtypes.as_dtype(dtype), value=1,
                        name=name or "ones_like")


identity_ = defop("identity", kernel=lambda x: x, shape_rule=same_as_input,
                  vjp=lambda ct, x, out: [ct], jvp=lambda t, x, out: t[0],
                  traits={"view", "elementwise", "strings", "total"},
                  doc="The input, unchanged.")


def identity(x, name: str | None = None):
    """The input unchanged, as a new node (useful to name a value or hang control deps on)."""
    return identity_(x, name=name)


stop_gradient_ = defop("stop_gradient", kernel=lambda x: x, shape_rule=same_as_input,
                       traits={"view", "elementwise", "stops_gradient", "strings", "total"},
                       doc="The input unchanged; gradients do not flow back through it.")


def stop_gradient(x, name: str | None = None):
    """The input's value, treated as a constant by `sg.gradients` (the static twin of `detach()`).

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,))
        >>> u = sg.stop_gradient(x * x)
        >>> [g.op for g in sg.gradients(sg.sum(u * x), [x])]
        ['multiply']
    """
    return stop_gradient_(x, name=name)
