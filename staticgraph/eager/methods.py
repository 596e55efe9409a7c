"""PyTorch's Tensor methods on the eager Tensor: `x.relu()`, `x.view(2, 3)`, `x.add_(y)` ...

Each is one of `eager.functions` (so one definition per operation) or an in-place update through
`eager.inplace`; dtype conversions (`float()`, `double()`, `to()`) are casts, recorded so that
gradients flow back to the original dtype.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager import functions as F
from staticgraph.eager import inplace
from staticgraph.eager.device import device, device_of
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops import math as M


def _view(self, *shape):
    """The same storage seen with another shape; refused where PyTorch refuses (non-contiguous)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return F.to_dtype(self, shape[0])
    out = F.named(A.reshape(self, F._sizes(shape)), "ViewBackward0")
    if out._base is None and self._value.size:
        raise FailedPreconditionError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return out


def _expand(self, *sizes):
    sizes = F._sizes(sizes)
    lead = len(sizes) - self.ndim
    shape = tuple(self.shape[i - lead] if d == -1 else d for i, d in enumerate(sizes))
    return A.broadcast_to(self, shape)


def _size(self, dim=None):
    return self.shape if dim is None else self.shape[dim]


def _to(self, *args, **kwargs):
    """`.to(dtype)`, `.to("cpu")`, `.to(other_tensor)`: a dtype cast (self when nothing changes)."""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device)):
            device_of(a)
        elif a is not None:
            dtype = a
    if kwargs.get("device") is not None:
        device_of(kwargs["device"])
    out = self if dtype is None else F.to_dtype(self, dtype)
    return F.clone(out) if kwargs.get("copy") and out is self else out


def _getitem(self, key):
    """self[key]; a basic index (ints, slices, None) gives a view, as in PyTorch, even when
    every dim is indexed by an int (numpy would give a copied scalar there)."""
    key = inplace.index_key(key)
    parts = key if isinstance(key, tuple) else (key,)
    if all(k is None or isinstance(k, (int, np.integer, slice)) and not isinstance(k, bool)
           for k in parts):
        key = parts + (Ellipsis,)
    return A.getitem(self, key)


def _cuda(self, *args, **kwargs):
    device_of("cuda")


_METHODS = {
    # reductions
    "sum": F.sum, "mean": F.mean, "max": F.max, "min": F.min, "argmax": F.argmax,
    "argmin": F.argmin, "norm": F.norm, "var": F.var, "std": F.std, "logsumexp": F.logsumexp,
    "all": F.all, "any": F.any,
    # elementwise
    "add": F.add, "sub": F.sub, "mul": F.mul, "div": F.div, "pow": F.pow, "neg": F.neg,
    "clamp": F.clamp, "clip": F.clamp, "exp": M.exp, "log": M.log, "sin": M.sin, "cos": M.cos,
    "tanh": M.tanh, "sigmoid": M.sigmoid, "relu": M.relu, "sqrt": M.sqrt, "abs": M.abs,
    "square": M.square, "sign": M.sign, "log1p": F.log1p, "expm1": F.expm1,
    "maximum": M.maximum, "minimum": M.minimum, "softmax": F.softmax,
    "log_softmax": F.log_softmax, "eq": F.eq, "ne": F.ne, "lt": F.lt, "le": F.le, "gt": F.gt,
    "ge": F.ge, "equal": F.equal, "allclose": F.allclose, "isclose": F.isclose,
    "where": lambda self, condition, other: M.where(condition, self, other),
    # products
    "matmul": F.matmul, "mm": F.mm, "mv": F.mv, "bmm": F.bmm, "dot": F.dot, "outer": F.outer,
    # shapes
    "reshape": F.reshape, "view": _view, "flatten": F.flatten, "squeeze": F.squeeze,
    "unsqueeze": F.unsqueeze, "transpose": F.transpose, "swapaxes": F.transpose,
    "permute": F.permute, "t": F.t, "expand": _expand, "size": _size,
    "view_as": lambda self, other: _view(self, other.shape),
    "reshape_as": lambda self, other: F.reshape(self, other.shape),
    "expand_as": lambda self, other: A.broadcast_to(self, other.shape),
    "index_select": F.index_select, "clone": F.clone,
    "dim": lambda self: self.ndim, "ndimension": lambda self: self.ndim, "numel": F.numel,
    "nelement": F.numel, "contiguous": lambda self: self, "is_contiguous": lambda self: True,
    "is_floating_point": F.is_floating_point,
    # dtypes and devices
    "to": _to, "float": lambda self: F.to_dtype(self, dtypes.float32),
    "double": lambda self: F.to_dtype(self, dtypes.float64),
    "long": lambda self: F.to_dtype(self, dtypes.int64),
    "int": lambda self: F.to_dtype(self, dtypes.int32),
    "bool": lambda self: F.to_dtype(self, dtypes.bool_),
    "type_as": lambda self, other: F.to_dtype(self, other.dtype),
    "cpu": lambda self: self, "cuda": _cuda,
    "__getitem__": _getitem,
    "__setitem__": inplace.setitem,
}


def _method(fn):
    """`fn` as a method (op definitions are callables, not functions, so they do not bind)."""
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__, method.__doc__ = getattr(fn, "__name__", "method"), fn.__doc__
    return method


def _inplace(fn, name=None):
    """The in-place form of `fn(self, *args)`."""
    return lambda self, *args, **kwargs: inplace.update(
        self, lambda t, *a: fn(t, *a, **kwargs), *args, name=name)


def _fill(t, value):
    return C.fill(t.shape, value) if isinstance(value, Tensor) and value.requires_grad else \
        C.ones_like(t) * (value.item() if isinstance(value, Tensor) else value)


def _copy(t, src):
    src = src if isinstance(src, Tensor) else Tensor(src)
    return A.broadcast_to(F.to_dtype(src, t.dtype), t.shape)


def _random(sample):
    """An in-place fill with samples (no gradient flows, as PyTorch's normal_ and uniform_)."""
    def method(self, *args, generator=None, **kwargs):
        from staticgraph.eager.factories import generator_of
        drawn = sample(generator_of(generator), self.shape, *args, **kwargs)
        return inplace.update(self, lambda t: Tensor.wrap(np.asarray(drawn, t.dtype), ""))
    return method


_INPLACE = {
    "add_": F.add, "sub_": F.sub, "mul_": F.mul, "div_": F.div, "pow_": F.pow, "neg_": F.neg,
    "clamp_": F.clamp, "clip_": F.clamp, "exp_": M.exp, "log_": M.log, "sin_": M.sin,
    "cos_": M.cos, "tanh_": M.tanh, "sigmoid_": M.sigmoid, "relu_": M.relu, "sqrt_": M.sqrt,
    "abs_": M.abs, "square_": M.square, "fill_": _fill, "copy_": _copy,
    "__iadd__": M.add, "__isub__": M.subtract, "__imul__": M.multiply,
    "__itruediv__": M.divide, "__ipow__": M.power,
}


def install(cls) -> None:
    """Give `cls` PyTorch's tensor methods and properties."""
    for name, fn in _METHODS.items():
        setattr(cls, name, _method(fn))
    for name, fn in _INPLACE.items():
        setattr(cls, name, _inplace(fn))
    # `2 * t` and `1 + t` are t.mul(2) and t.add(1) in PyTorch: the tensor is the first input.
    cls.__radd__ = lambda self, other: M.add(self, other)
    cls.__rmul__ = lambda self, other: M.multiply(self, other)
    cls.zero_ = lambda self: inplace.update(self, lambda t: C.zeros_like(t))
    cls.normal_ = _random(lambda g, shape, mean=0.0, std=1.0: g.normal(mean, std, shape))
    cls.uniform_ = _random(lambda g, shape, a=0.0, b=1.0: g.uniform(a, b, shape))
    cls.T = property(lambda self: A.transpose(self) if self.ndim > 1 else self)
    cls.mT = property(lambda self: F.transpose(self, -2, -1))
    cls.device = property(lambda self: device("cpu"))
    cls.is_cuda = property(lambda self: False)
    cls.astype = lambda self, dtype: F.to_dtype(self, dtype)
