"""Python operators and methods (+ - * / ** @, comparisons, [], .T, .sum() …) for tensor classes.

Installed on both the static and the eager Tensor, so `x * y` applies the same `multiply` op in
either style.
"""
from __future__ import annotations

from staticgraph.ops import array as A
from staticgraph.ops import linalg as L
from staticgraph.ops import math as M
from staticgraph.ops import reduce as R


def _binary(op, reflected=False):
    if reflected:
        return lambda self, other: op(other, self)
    return lambda self, other: op(self, other)


def install_operators(cls) -> None:
    """Give `cls` the arithmetic, comparison, indexing and reduction methods."""
    for name, op in [("add", M.add), ("sub", M.subtract), ("mul", M.multiply),
                     ("truediv", M.divide), ("pow", M.power), ("matmul", L.matmul),
                     ("floordiv", M.floor_divide), ("mod", M.floormod)]:
        setattr(cls, f"__{name}__", _binary(op))
        setattr(cls, f"__r{name}__", _binary(op, reflected=True))
    for name, op in [("lt", M.less), ("le", M.less_equal), ("gt", M.greater),
                     ("ge", M.greater_equal), ("eq", M.equal), ("ne", M.not_equal),
                     ("and", M.logical_and), ("or", M.logical_or), ("xor", M.logical_xor)]:
        setattr(cls, f"__{name}__", _binary(op))
    cls.__neg__ = lambda self: M.negative(self)
    cls.__abs__ = lambda self: M.abs(self)
    cls.__invert__ = lambda self: M.logical_not(self)
    cls.__getitem__ = lambda self, key: A.getitem(self, key)
    cls.__hash__ = object.__hash__  # == is elementwise; hashing stays by identity
    cls.T = property(lambda self: A.transpose(self))
    cls.sum = lambda self, axis=None, keepdims=False: R.sum(self, axis, keepdims)
    cls.mean = lambda self, axis=None, keepdims=False: R.mean(self, axis, keepdims)
    cls.max = lambda self, axis=None, keepdims=False: R.max(self, axis, keepdims)
    cls.min = lambda self, axis=None, keepdims=False: R.min(self, axis, keepdims)
    cls.norm = lambda self, axis=None, keepdims=False: R.norm(self, axis, keepdims)
    cls.reshape = lambda self, *shape: A.reshape(self, shape[0] if len(shape) == 1 else shape)
    cls.transpose = lambda self, *axes: A.transpose(self, axes or None)
    cls.astype = lambda self, dtype: M.cast(self, dtype)
