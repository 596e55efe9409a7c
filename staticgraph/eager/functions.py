"""PyTorch's module functions on eager tensors (`torch.sum(x, dim)`, `torch.cat`, `torch.clamp`).

Each is the static style's op (or a composition of ops) under PyTorch's name and signature:
`dim` / `keepdim` (numpy's `axis` / `keepdims` are accepted too, as PyTorch accepts them),
`max(x, dim)` giving `(values, indices)`, and the node named as PyTorch names it.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from staticgraph import dtypes
from staticgraph.eager.composite import composite
from staticgraph.eager.promotion import constant
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops import linalg as L
from staticgraph.ops import math as M
from staticgraph.ops import nn as N
from staticgraph.ops import reduce as R

_ValuesIndices = namedtuple("return_types", ["values", "indices"])


def named(t: Tensor, name: str) -> Tensor:
    """Give the node that just made `t` PyTorch's name for the call that made it."""
    if t._node is not None:
        t._node.torch_name = name
    return t


def _dim(dim, axis):
    return axis if dim is None else dim


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else constant(x)


# ----- reductions ------------------------------------------------------------------------------
def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The sum over `dim` (every element when None)."""
    x = input if dtype is None else to_dtype(input, dtype)
    if dtype is None and x.dtype.kind in "bi" and x.dtype != dtypes.int64:
        x = M.cast(x, dtypes.int64)  # PyTorch sums bools and ints as int64
    return R.sum(x, _dim(dim, axis), keepdim if keepdims is None else keepdims)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The mean over `dim` (every element when None); float tensors only, as in PyTorch."""
    x = input if dtype is None else to_dtype(input, dtype)
    if not dtypes.is_floating(x.dtype):
        raise InvalidArgumentError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {x.dtype.name}")
    dim, keep = _dim(dim, axis), keepdim if keepdims is None else keepdims
    return composite("MeanBackward0" if dim is None else "MeanBackward1",
                     lambda z: R.mean(z, dim, keep), x)


def _extreme(reduce, arg, input, dim, keepdim, other, name):
    """max / min: of every element (tied extremes share the gradient equally, as PyTorch's
    MaxBackward1); along `dim`, `(values, indices)` with the gradient going to the element the
    index names (PyTorch's MaxBackward0); of two tensors, elementwise."""
    if isinstance(dim, Tensor) or other is not None:
        return (M.maximum if reduce is R.max else M.minimum)(input, dim if other is None else other)
    if dim is None:
        return composite(name + "1", reduce, input)
    dim = dim % builtins.max(input.ndim, 1)
    indices = arg(input, dim)
    key = list(np.indices(indices.shape))  # the index named along dim, every position elsewhere
    key.insert(dim, indices._value)
    values = composite(name + "0", lambda x: _kept(A.getitem(x, tuple(key)), dim, keepdim), input)
    return _ValuesIndices(values, _kept(indices, dim, keepdim))


def _kept(t, dim, keepdim):
    return A.expand_dims(t, dim) if keepdim else t


def max(input, dim=None, keepdim: bool = False, *, other=None):
    """The largest element; with `dim`, `(values, indices)` along it; with a tensor, maximum."""
    return _extreme(R.max, R.argmax, input, dim, keepdim, other, "MaxBackward")


def min(input, dim=None, keepdim: bool = False, *, other=None):
    """The smallest element; with `dim`, `(values, indices)` along it; with a tensor, minimum."""
    return _extreme(R.min, R.argmin, input, dim, keepdim, other, "MinBackward")


def _arg(reduce, input, dim, keepdim):
    if dim is None:
        return reduce(A.reshape(input, (-1,)), 0)
    out = reduce(input, dim)
    return A.expand_dims(out, dim) if keepdim else out


def argmax(input, dim=None, keepdim: bool = False, *, axis=None):
    """The index of the largest element (of the flattened tensor when `dim` is None)."""
    return _arg(R.argmax, input, _dim(dim, axis), keepdim)


def argmin(input, dim=None, keepdim: bool = False, *, axis=None):
    """The index of the smallest element (of the flattened tensor when `dim` is None)."""
    return _arg(R.argmin, input, _dim(dim, axis), keepdim)


def norm(input, p="fro", dim=None, keepdim: bool = False):
    """The 2-norm (Frobenius for matrices) over `dim`; other `p` are composed from ops."""
    if p in ("fro", 2, 2.0):
        return R.norm(input, dim, keepdim)
    if p in (1, 1.0):
        return R.sum(M.abs(input), dim, keepdim)
    if p == float("inf"):
        return R.max(M.abs(input), dim, keepdim)
    return R.sum(M.abs(input) ** p, dim, keepdim) ** (1.0 / p)


def var(input, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    """The variance over `dim`, with Bessel's correction by default (as PyTorch)."""
    return composite("VarBackward0", lambda x: _var(x, dim, unbiased, keepdim, correction), input)


def _var(input, dim, unbiased, keepdim, correction):
    correction = (1 if unbiased else 0) if correction is None else correction
    centred = input - R.mean(input, dim, keepdims=True)
    count = input._value.size if dim is None else int(np.prod(
        [input.shape[d] for d in np.atleast_1d(dim)]))
    return R.sum(centred * centred, dim, keepdim) / (count - correction)


def std(input, dim=None, unbiased: bool = True, keepdim: bool = False, *, correction=None):
    """The standard deviation over `dim` (the square root of `var`)."""
    return composite("StdBackward0", lambda x: M.sqrt(_var(x, dim, unbiased, keepdim,
                                                           correction)), input)


def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(x))) over `dim`, shifted by the maximum so exp never overflows."""
    def fn(x):
        top = R.max(x, dim, keepdims=True).detach()
        out = M.log(R.sum(M.exp(x - top), dim, keepdims=True)) + top
        return out if keepdim else A.squeeze(out, dim)
    return composite("LogsumexpBackward0", fn, input)


def all(input, dim=None) -> Tensor:
    """True where every element (along `dim`) is non-zero."""
    return M.equal(R.sum(M.cast(M.equal(input, 0), dtypes.int64), dim), 0)


def any(input, dim=None) -> Tensor:
    """True where some element (along `dim`) is non-zero."""
    return M.greater(R.sum(M.cast(M.not_equal(input, 0), dtypes.int64), dim), 0)


# ----- elementwise -----------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """input + alpha * other."""
    return M.add(input, other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1):
    """input - alpha * other."""
    return M.subtract(input, other if alpha == 1 else other * alpha)


def mul(input, other):
    return M.multiply(input, other)


def div(input, other, *, rounding_mode=None):
    """True division (integers give float32, as in PyTorch)."""
    if rounding_mode is not None:
        raise InvalidArgumentError("div: rounding_mode is not supported; divide, then round")
    return M.divide(input, other)


def pow(input, exponent):
    """input ** exponent (either may be a number)."""
    return M.power(input, exponent)


def neg(input):
    return M.negative(input)


def clamp(input, min=None, max=None):
    """input limited to [min, max]; the gradient is 1 inside, boundaries included, else 0."""
    def fn(x, low, high):
        out = x
        if low is not None:
            out = M.where(M.less(out, low), low, out)
        if high is not None:
            out = M.where(M.greater(out, high), high, out)
        return out
    tensors = isinstance(min, Tensor) or isinstance(max, Tensor)
    return composite("ClampBackward0" if tensors else "ClampBackward1", fn, input, min, max)


def log1p(input):
    return composite("Log1PBackward0", lambda x: M.log(1 + x), input)


def expm1(input):
    return composite("Expm1Backward0", lambda x: M.exp(x) - 1, input)


def softmax(input, dim=None, dtype=None):
    """exp(x) normalised to sum to 1 along `dim`."""
    x = input if dtype is None else to_dtype(input, dtype)
    return composite("SoftmaxBackward0", lambda z: N.softmax(z, -1 if dim is None else dim), x)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along `dim`, computed stably."""
    x = input if dtype is None else to_dtype(input, dtype)
    return N.log_softmax(x, -1 if dim is None else dim)


# ----- products --------------------------------------------------------------------------------
def _same_dtype(a, b, what):
    if a.dtype != b.dtype:
        raise RuntimeError(f"{what}: expected both operands to have the same dtype, but got: "
                           f"{a.dtype.name} != {b.dtype.name}")


def matmul(input, other):
    """The matrix product with numpy's (and PyTorch's) rules for 1-D and batched operands."""
    _same_dtype(input, other, "matmul")
    return L.matmul(input, other)


def mm(input, mat2):
    """The product of two matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got {input.ndim}-D and "
                           f"{mat2.ndim}-D")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x"
                           f"{input.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    return named(matmul(input, mat2), "MmBackward0")


def mv(input, vec):
    return named(matmul(input, vec), "MvBackward0")


def bmm(input, mat2):
    return named(matmul(input, mat2), "BmmBackward0")


def dot(input, other):
    """The inner product of two vectors."""
    _same_dtype(input, other, "dot")
    return L.dot(input, other)


def outer(input, vec2):
    return named(A.expand_dims(input, 1) * A.expand_dims(vec2, 0), "MulBackward0")


# ----- shapes ----------------------------------------------------------------------------------
def _sizes(shape) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def cat(tensors, dim: int = 0, *, axis=None):
    """The tensors joined along an existing dim."""
    return A.concat(list(tensors), _dim(dim, axis) if axis is not None else dim)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None):
    """The tensors (of one shape) joined along a new dim."""
    return A.stack(list(tensors), dim if axis is None else axis)


def reshape(input, *shape):
    """The elements in a new shape (a view when the storage allows, else a copy)."""
    return A.reshape(input, _sizes(shape))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """The dims from start_dim to end_dim merged into one."""
    if input.ndim == 0:
        return A.reshape(input, (1,))
    start, end = start_dim % input.ndim, end_dim % input.ndim
    shape = input.shape[:start] + (-1,) + input.shape[end + 1:]
    return named(A.reshape(input, shape), "ViewBackward0")


def squeeze(input, dim=None):
    """Without size-1 dims (only `dim`, if given and of size 1; else unchanged, as PyTorch)."""
    if dim is not None:
        dims = tuple(d for d in np.atleast_1d(dim) if input.shape[d] == 1)
        if not dims:
            return A.reshape(input, input.shape)
        return A.squeeze(input, dims)
    return A.squeeze(input)


def unsqueeze(input, dim: int):
    """A new size-1 dim at `dim`."""
    return A.expand_dims(input, dim)


def transpose(input, dim0: int, dim1: int):
    """dim0 and dim1 swapped (a view)."""
    axes = list(range(input.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return named(A.transpose(input, axes), "TransposeBackward0")


swapaxes = swapdims = transpose


def permute(input, *dims):
    """The dims reordered (a view)."""
    return A.transpose(input, _sizes(dims))


def t(input):
    """A matrix transposed (vectors unchanged), as a view."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return named(A.transpose(input), "TBackward0")


def where(condition, input=None, other=None):
    """Elementwise `input if condition else other` (indices of non-zeros with one argument)."""
    if input is None and other is None:
        return tuple(Tensor.wrap(i.astype(np.int64), "") for i in np.nonzero(condition._value))
    return M.where(condition if isinstance(condition, Tensor) else constant(condition, bool),
                   input, other)


def index_select(input, dim: int, index):
    """The slices of `input` along `dim` at the integer `index`."""
    return A.gather(input, index, dim)


def clone(input):
    """A copy with storage of its own; gradients flow through it (CloneBackward0)."""
    out = named(C.identity(input), "CloneBackward0")
    out._value, out._base, out._counter = out._value.copy(), None, [0]
    if out._node is not None:
        out._node.rebind(out)
    return out


def to_dtype(input, dtype):
    """input converted to `dtype` (itself when it already has it, as PyTorch's `.to`)."""
    dtype = dtypes.as_dtype(dtype)
    return input if input.dtype == dtype else M.cast(input, dtype)


# ----- comparisons -----------------------------------------------------------------------------
def eq(input, other):
    return M.equal(input, other)


def ne(input, other):
    return M.not_equal(input, other)


def lt(input, other):
    return M.less(input, other)


def le(input, other):
    return M.less_equal(input, other)


def gt(input, other):
    return M.greater(input, other)


def ge(input, other):
    return M.greater_equal(input, other)


def equal(input, other) -> bool:
    """True when both have the same shape and elements."""
    return input.shape == other.shape and bool(np.array_equal(input._value, other._value))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    return bool(np.allclose(np.asarray(input._value), np.asarray(_as_tensor(other)._value),
                            rtol, atol, equal_nan))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    return Tensor.wrap(np.isclose(input._value, _as_tensor(other)._value, rtol, atol,
                                  equal_nan), "")


def numel(input) -> int:
    return int(input._value.size)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    return dtypes.is_floating(input.dtype)
