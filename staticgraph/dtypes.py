"""The dtypes staticgraph supports: numpy dtypes, named as in TensorFlow, with TF1's defaults."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import InvalidArgumentError

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
# TF1's tf.string: values are bytes (numpy "S" arrays; a scalar fetches as bytes, b'Hello').
string = np.dtype("S")
half, double = float16, float64  # TF1's other names

NUMERIC = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
SUPPORTED = NUMERIC + (string,)
# The dtype of a node whose value is a tuple of arrays (a cond's or while_loop's outputs).
packed = np.dtype(object)

# TF1's dtype names (tf.as_dtype): "float" is float32 there, not numpy's float64.
_NAMES = {"half": float16, "float16": float16, "float": float32, "float32": float32,
          "double": float64, "float64": float64, "int8": int8, "int16": int16, "int32": int32,
          "int64": int64, "uint8": uint8, "bool": bool_, "string": string}


def as_dtype(dtype) -> np.dtype:
    """The supported numpy dtype that `dtype` names: a numpy dtype or type, a Python type, or
    a TensorFlow name ("float" is float32, "double" float64, "half", "int32", "string" ...).

    Example:
        >>> import staticgraph as sg
        >>> [sg.dtypes.as_dtype(d).name for d in ("float", "double", sg.int8, "string")]
        ['float32', 'float64', 'int8', 'bytes']
    """
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgumentError(f"not a dtype: {dtype!r}") from exc
    if result.kind in "SU":
        return string
    if result not in SUPPORTED:
        names = ", ".join(name for name in _NAMES if name != "half")
        raise InvalidArgumentError(f"unsupported dtype {result.name}; use one of {names}")
    return result


def is_floating(dtype) -> bool:
    """True for float16, float32 and float64."""
    return np.dtype(dtype).kind == "f"


def carries_gradient(dtype) -> bool:
    """True for values that gradients flow through: floats, and packed tuples holding them."""
    return np.dtype(dtype).kind in "fO"


def default_dtype_of(value) -> np.dtype:
    """The dtype a value becomes when no dtype is asked for, by TF1's rules: a numpy array or
    scalar keeps its dtype; Python floats are float32, ints int32 (int64 when one does not fit
    in int32), bools bool, and str or bytes string.

    Example:
        >>> import numpy as np
        >>> from staticgraph.dtypes import default_dtype_of
        >>> [default_dtype_of(v).name for v in (1.5, [1, 2], 2**40, np.float64(1.5), "Hi")]
        ['float32', 'int32', 'int64', 'float64', 'bytes']
    """
    if isinstance(value, (np.ndarray, np.generic)):
        return as_dtype(value.dtype)
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        return float32
    if arr.dtype.kind in "iu":
        fits = not arr.size or np.iinfo(int32).min <= arr.min() and arr.max() <= np.iinfo(int32).max
        return int32 if fits else int64
    if arr.dtype.kind == "b":
        return bool_
    if arr.dtype.kind in "SU":
        return string
    raise InvalidArgumentError(f"cannot make a tensor of {arr.dtype} values: {value!r}")
