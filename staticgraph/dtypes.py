"""The dtypes staticgraph supports: numpy dtypes, named as in TensorFlow."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import InvalidArgumentError

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

SUPPORTED = (float32, float64, int32, int64, bool_)
# The dtype of a node whose value is a tuple of arrays (a cond's or while_loop's outputs).
packed = np.dtype(object)


def as_dtype(dtype) -> np.dtype:
    """Return the supported numpy dtype that `dtype` names (a dtype, a type, or a string)."""
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgumentError(f"not a dtype: {dtype!r}") from exc
    if result not in SUPPORTED:
        names = ", ".join(d.name for d in SUPPORTED)
        raise InvalidArgumentError(f"unsupported dtype {result.name}; use one of {names}")
    return result


def is_floating(dtype) -> bool:
    """True for float32 and float64."""
    return np.dtype(dtype).kind == "f"


def carries_gradient(dtype) -> bool:
    """True for values that gradients flow through: floats, and packed tuples holding them."""
    return np.dtype(dtype).kind in "fO"


def default_dtype_of(value) -> np.dtype:
    """The dtype a Python or numpy value becomes when no dtype is asked for."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        return float64 if arr.dtype.itemsize >= 8 else float32
    if arr.dtype.kind in "iu":
        return int64 if arr.dtype.itemsize >= 8 else int32
    if arr.dtype.kind == "b":
        return bool_
    raise InvalidArgumentError(f"cannot make a tensor of {arr.dtype} values: {value!r}")
