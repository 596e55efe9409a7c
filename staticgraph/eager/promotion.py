"""PyTorch's type promotion for the operands of an elementwise op, and constants for numbers.

Categories order bool < integer < float. A tensor with dims decides the result dtype within its
category; a 0-d tensor or a Python number only lifts the category (a Python float beside an int
tensor gives float32, PyTorch's default), so `int_tensor * 0.5` is float32 and
`float32_tensor * float64_scalar_tensor` stays float32. Ops that need floats (`exp`, true
division) turn integers into float32, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager.tensor import Tensor
from staticgraph.ops import math as M
from staticgraph.ops import shapes
from staticgraph.ops.registry import OpDef, as_array, converted_dtype, dtype_hint

_FLOAT_ONLY = (shapes.float_unary, shapes.float_elementwise)
_KEEP = (shapes.logical,)


def promoted(op: OpDef, inputs: list) -> list[Tensor]:
    """The inputs as tensors of the dtype PyTorch would compute `op` in."""
    if "elementwise" not in op.traits or op.shape_rule in _KEEP or op is M.cast_:
        hint = dtype_hint(inputs)
        return [x if isinstance(x, Tensor) else constant(x, converted_dtype(x, hint))
                for x in inputs]
    positions = range(1, len(inputs)) if op is M.where_ else range(len(inputs))
    target = result_type([inputs[i] for i in positions])
    if op.shape_rule in _FLOAT_ONLY and target.kind != "f":
        target = dtypes.float32
    out = list(inputs)
    for i in positions:
        x = inputs[i]
        if not isinstance(x, Tensor):
            out[i] = constant(x, target)
        elif x.dtype != target:
            out[i] = M.cast(x, target)
    if op is M.where_ and not isinstance(inputs[0], Tensor):
        out[0] = constant(inputs[0], dtypes.bool_)
    return out


def constant(value, dtype=None) -> Tensor:
    """A Python number or array as a read-only tensor (of `dtype` when given)."""
    if dtype is None and not isinstance(value, (np.ndarray, np.generic)) and \
            np.asarray(value).dtype == np.float64:
        dtype = dtypes.float32
    arr = np.array(np.asarray(value).astype(dtype) if dtype is not None else as_array(value),
                   copy=True)
    arr.flags.writeable = False
    return Tensor.wrap(arr, "")


def _category(dtype: np.dtype) -> int:
    return {"b": 0, "i": 1, "u": 1, "f": 2}[np.dtype(dtype).kind]


def _promote(a, b):
    """The smaller dtype holding both (int64 with float32 gives float32, as PyTorch)."""
    if a is None or b is None:
        return b if a is None else a
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    return a if np.dtype(a).itemsize >= np.dtype(b).itemsize else b


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.generic):
        return dtypes.int64
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and not isinstance(value, (np.ndarray, np.generic)):
        return dtypes.float32
    return dtypes.default_dtype_of(arr)


def result_type(values: list) -> np.dtype:
    """PyTorch's result dtype for these operands (tensors with dims, 0-d tensors, numbers)."""
    dims = zero = number = None
    for v in values:
        if isinstance(v, Tensor):
            if v.ndim:
                dims = _promote(dims, v.dtype)
            else:
                zero = _promote(zero, v.dtype)
        elif isinstance(v, np.ndarray) and v.ndim:
            dims = _promote(dims, dtypes.default_dtype_of(v))
        else:
            number = _promote(number, _scalar_dtype(v))
    return _combine(dims, _combine(zero, number))


def _combine(higher, lower):
    """A lower-priority dtype counts only when it is of a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    return higher if _category(higher) >= _category(lower) else _promote(higher, lower)
