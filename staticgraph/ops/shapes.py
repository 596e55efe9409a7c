"""Shape and dtype rules shared by many ops.

A shape is a tuple of ints, with None for a dim known only at run time, or None itself for a
value whose rank is unknown (TF1's `placeholder(dtype)` without a shape). Shape rules never see
an unknown rank: `registry.infer_spec` tries them at each rank (see there).
"""
from __future__ import annotations

import operator
from typing import Sequence

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops.registry import ShapeError, Spec, is_tensor
from staticgraph.sourceinfo import user_source


def fmt(shape: tuple | None) -> str:
    """A shape as users write it: (3, None), or "(unknown rank)"."""
    if shape is None:
        return "(unknown rank)"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(*shapes: tuple) -> tuple:
    """numpy broadcasting of static shapes; None dims stay None unless the other side fixes them."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        dims = [s[i] for s in shapes if len(s) >= -i]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError("shapes do not broadcast: " + " vs ".join(fmt(s) for s in shapes))
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _dim(d, what: str, unknown: bool, infer: bool, shape):
    """One dim of a shape a user gave, checked (see `as_shape`)."""
    if d is None and unknown:
        return None
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
        hint = "; use None for a dim known only at run time" if unknown else ""
        raise InvalidArgumentError(f"{what}: dims must be ints, got {d!r} in {shape!r}{hint} "
                                   f"at {user_source()}")
    d = int(d)
    if d < 0 and not (infer and d == -1):
        hint = ("; None marks a dim known only at run time" if unknown else
                "; -1 (once) marks the dim to infer" if infer else "")
        raise InvalidArgumentError(f"{what}: dimension {d} must be >= 0 in {shape!r}{hint} "
                                   f"at {user_source()}")
    return d


def as_shape(shape, what: str, unknown: bool = False, infer: bool = False) -> tuple:
    """A shape a user gave (an int, or a sequence of ints) as a tuple of non-negative ints.

    Args:
        what: the op or argument it belongs to, for the error.
        unknown: None may stand for a dim known only at run time (placeholders).
        infer: one -1 may stand for the dim inferred from the size (reshape).
    Raises:
        InvalidArgumentError naming `what` and the shape, for anything else: a float, a
        string, a negative dim, a second -1.
    Example:
        >>> as_shape((None, 3), "placeholder", unknown=True)
        (None, 3)
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise InvalidArgumentError(f"{what}: a shape is an int or a sequence of ints, got "
                                   f"{shape!r} at {user_source()}")
    dims = tuple(_dim(d, what, unknown, infer, shape) for d in shape)
    if dims.count(-1) > 1:
        raise InvalidArgumentError(f"{what}: at most one -1 in the shape {shape!r} "
                                   f"at {user_source()}")
    return dims


def shape_argument(shape, what: str) -> tuple:
    """The `shape` argument of zeros, ones, fill and the random ops as (static shape, inputs):
    ((ints...), []) when it is known as the graph is built (ints, or a constant tensor), else
    (what is known of it, [the 1-D integer tensor]), read at run time; `sg.shape(x)` tells
    x's static shape."""
    if not is_tensor(shape):
        return as_shape(shape, what), []
    if shape.op == "constant":
        return as_shape(shape.node["attrs"]["value"].tolist(), what), []
    if shape.op == "shape":  # TF1's constant_value_as_shape: sg.shape(x) has x's static shape
        return shape.graph.tensor(shape.graph.inputs(shape.name)[0]).shape, [shape]
    return None, [shape]


def shape_input_rule(*dims: Spec, shape: tuple | None) -> tuple | None:
    """The static shape of a value of `shape`, or, given `dims` (a 1-D integer tensor whose
    values shape it at run time), of what `shape` knows of it, else as many unknown dims as
    `dims` has elements (an unknown rank when that too is unknown)."""
    if not dims:
        return shape
    (spec,) = dims
    if spec.dtype.kind not in "iu" or len(spec.shape) != 1:
        raise ShapeError(f"a shape given as a tensor must be a 1-D integer tensor, got "
                         f"{fmt(spec.shape)} {spec.dtype.name}")
    rank = spec.shape[0]
    if shape is not None and rank is not None and len(shape) != rank:
        raise ShapeError(f"the shape tensor holds {rank} dims, but the static shape is "
                         f"{fmt(shape)}")
    if shape is not None:
        return shape
    return None if rank is None else (None,) * rank


def run_shape(dims, shape: tuple | None) -> tuple:
    """The shape a kernel makes: the values of the shape tensor `dims` when given, else `shape`."""
    return tuple(int(d) for d in dims[0]) if dims else shape


def as_axes(axis, what: str) -> tuple | None:
    """An `axis` argument (None, an int, or a sequence of ints) as None or a tuple of ints."""
    if axis is None:
        return None
    items = (axis,) if not isinstance(axis, (list, tuple)) else axis
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise InvalidArgumentError(f"{what}: an axis must be an int, got {a!r} "
                                       f"at {user_source()}")
    return tuple(int(a) for a in items)


def as_axis(axis, what: str) -> int:
    """A single `axis` argument as an int."""
    if isinstance(axis, (list, tuple)) or axis is None:
        raise InvalidArgumentError(f"{what}: needs a single int axis, got {axis!r} "
                                   f"at {user_source()}")
    return as_axes(axis, what)[0]


def same_dtype(*specs: Spec) -> np.dtype:
    """The common dtype of `specs`; differing dtypes are an error (no silent promotion)."""
    first = specs[0].dtype
    for s in specs[1:]:
        if s.dtype != first:
            names = " vs ".join(x.dtype.name for x in specs)
            raise ShapeError(f"dtypes differ: {names}; convert one with sg.cast")
    return first


def require_float(*specs: Spec) -> None:
    for s in specs:
        if not dtypes.is_floating(s.dtype):
            raise ShapeError(f"needs a float32 or float64 input, got {s.dtype.name}")


def require_bool(*specs: Spec) -> None:
    for s in specs:
        if s.dtype != dtypes.bool_:
            raise ShapeError(f"needs a bool input, got {s.dtype.name}")


def same_as_input(x: Spec, **_) -> Spec:
    """The output has the input's shape and dtype."""
    return x


def float_unary(x: Spec, **_) -> Spec:
    """An elementwise float function: same shape and dtype, float only."""
    require_float(x)
    return x


def numeric_unary(x: Spec, **_) -> Spec:
    if x.dtype == dtypes.bool_:
        raise ShapeError("needs a numeric input, got bool")
    return x


def elementwise(*specs: Spec, **_) -> Spec:
    """Broadcast the shapes; all inputs share one dtype."""
    return Spec(broadcast_shapes(*(s.shape for s in specs)), same_dtype(*specs))


def numeric_elementwise(*specs: Spec, **_) -> Spec:
    spec = elementwise(*specs)
    if spec.dtype == dtypes.bool_:
        raise ShapeError("needs numeric inputs, got bool; use the logical ops")
    return spec


def float_elementwise(*specs: Spec, **_) -> Spec:
    require_float(*specs)
    return elementwise(*specs)


def comparison(x: Spec, y: Spec, **_) -> Spec:
    """Broadcast the shapes; the result is bool."""
    same_dtype(x, y)
    return Spec(broadcast_shapes(x.shape, y.shape), dtypes.bool_)


def logical(*specs: Spec, **_) -> Spec:
    require_bool(*specs)
    return Spec(broadcast_shapes(*(s.shape for s in specs)), dtypes.bool_)


def normalize_axes(axis, ndim: int) -> tuple:
    """`axis` (None, an int or ints, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def normalize_axis(axis: int, ndim: int) -> int:
    """One axis (negatives allowed) as a non-negative int."""
    return normalize_axes(axis, ndim)[0]


def reduced_shape(shape: tuple, axis, keepdims: bool) -> tuple:
    axes = normalize_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def reduction(x: Spec, axis=None, keepdims=False, **_) -> Spec:
    """Shape of a reduction over `axis` (None: all axes)."""
    return Spec(reduced_shape(x.shape, axis, keepdims), x.dtype)


def compatible(a: Sequence | None, b: Sequence | None) -> bool:
    """True when shapes a and b can describe one value: an unknown rank (None) matches any
    shape; else they have one rank and agree wherever both dims are known."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def known(shape: Sequence | None) -> bool:
    """True when the rank and every dim are known."""
    return shape is not None and all(d is not None for d in shape)


def num_elements(shape: Sequence | None) -> int | None:
    return int(np.prod(shape, dtype=np.int64)) if known(shape) else None
