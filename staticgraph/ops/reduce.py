"""Reductions: sum, mean, max, min, prod, norm, argmax, argmin (over `axis`, with `keepdims`).

max shares the cotangent among tied maxima as the kink convention says (`staticgraph.kinks`;
equally by default); norm'(0) is taken as 0 (a subgradient).
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes, kinks
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops import math as M
from staticgraph.ops.batching import shift_axes
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops.registry import ShapeError, Spec, defop, is_tensor
from staticgraph.sourceinfo import user_source
from staticgraph.ops.shapes import (as_axes, as_axis, normalize_axes, num_elements, reduced_shape,
                                    reduction, require_float)


def _reduction_batch(op):
    """The batching rule of a reduction: the same reduction over the example's axes, shifted."""
    def rule(values, dims, *, axis, keepdims):
        return op(values[0], axis=shift_axes(axis, values[0].ndim - 1), keepdims=keepdims), 0
    return rule


def _keep(t, x, axis, keepdims):
    """A reduction's result `t` with its reduced dims put back as size 1."""
    return t if keepdims else A.keep_reduced_dims(t, x, axis)


def _numeric_reduction(x: Spec, *, axis, keepdims):
    if x.dtype == dtypes.bool_:
        raise ShapeError("needs a numeric input, got bool; cast it first")
    return reduction(x, axis=axis, keepdims=keepdims)


_ONES: dict = {}  # dtype -> a read-only vector of ones as long as the longest column summed yet
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _sum_kernel(x, *, axis, keepdims, out=None):
    # The reductions call the ufuncs' reduce directly: np.sum and np.max wrap it in Python
    # layers that cost more than summing a few hundred numbers. The column sums of a float
    # matrix (a bias's gradient) are a BLAS product with ones, three times numpy's reduce.
    if axis in ((0,), (-2,)) and x.ndim == 2 and x.dtype in _BLAS_DTYPES:
        ones = _ONES.get(x.dtype)
        if ones is None or ones.size < len(x):
            ones = np.ones(len(x), x.dtype)
            ones.flags.writeable = False
            _ONES[x.dtype] = ones
        sums = np.matmul(ones[:len(x)], x, out=None if out is None else out.reshape(-1))
        return out if out is not None else sums[None] if keepdims else sums
    return np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=x.dtype, out=out)


sum_ = defop("sum", kernel=_sum_kernel,
             shape_rule=_numeric_reduction, traits={"out", "foldable", "total"},
             vjp=lambda ct, x, out, axis, keepdims: [A.broadcast_like(_keep(ct, x, axis, keepdims), x)],
             jvp=lambda t, x, out, axis, keepdims: sum_(t[0], axis=axis, keepdims=keepdims),
             batch=lambda values, dims, **attrs: _reduction_batch(sum_)(values, dims, **attrs))


def sum(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The sum over `axis` (all axes when None).

    Example:
        >>> import staticgraph as sg
        >>> sg.sum(sg.ones((2, 3)), axis=1).shape
        (2,)
    """
    return sum_(x, axis=as_axes(axis, "sum"), keepdims=bool(keepdims), name=name)


def _count_rule(x: Spec, *, axis):
    return Spec((), x.dtype)


count_ = defop("count",
               kernel=lambda x, *, axis: np.asarray(np.prod([x.shape[a] for a in normalize_axes(axis, x.ndim)]),
                                                    x.dtype),
               shape_rule=_count_rule, traits={"foldable", "total"},
               vjp=lambda ct, x, out, axis: [None],
               jvp=lambda t, x, out, axis: None,
               batch=lambda values, dims, axis: (
                   count_(values[0], axis=shift_axes(axis, values[0].ndim - 1)), None),
               doc="How many elements a reduction over `axis` combines (known at run time).")


def mean(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The mean over `axis` (all axes when None); float inputs only."""
    axis = as_axes(axis, "mean")
    x = x if is_tensor(x) else C.constant(x)
    if not dtypes.is_floating(x.dtype):
        raise InvalidArgumentError(f"mean: needs a float input, got {x.dtype.name}; cast it first "
                                   f"at {user_source()}")
    total = sum(x, axis, keepdims)
    n = None if x.ndim is None else num_elements([x.shape[a] for a in normalize_axes(axis, x.ndim)])
    return M.divide(total, n if n is not None else count_(x, axis=axis), name=name or "mean")


def _max_weights(x, out, axis, dtype):
    """How the cotangent of max(x) is spread over x: over the k tied maxima 1/k each, or (when
    the kink convention sends ties to the first) 1 on the first maximum, as argmax picks it."""
    mask = M.cast(M.equal(x, out), dtype)
    if not kinks.active_convention().tie_to_first:
        return mask / sum(mask, axis=axis, keepdims=True)
    axes = normalize_axes(axis, x.ndim)
    for i, a in enumerate(axes):
        # Keep only the first slice along axis a that still holds a maximum, then go inwards.
        if x.shape[a] is None:
            raise InvalidArgumentError(
                f"max: the {kinks.get_kink_convention()!r} kink convention needs the size of "
                f"reduced axis {a} of {x.name!r}, which is unknown; use sg.kink_convention('zero') "
                f"at {user_source()}")
        held = max_(mask, axis=axes[i + 1:], keepdims=True) if axes[i + 1:] else mask
        first = A.one_hot(argmax(held, axis=a), x.shape[a], dtype=dtype)
        mask = mask * A.transpose(first, _last_to(a, x.ndim))
    return mask


def _last_to(a: int, ndim: int) -> tuple:
    """The transpose axes that move the last of `ndim` axes to position a."""
    rest = list(range(ndim - 1))
    return tuple(rest[:a] + [ndim - 1] + rest[a:])


def _max_vjp(ct, x, out, axis, keepdims):
    out, ct = _keep(out, x, axis, keepdims), _keep(ct, x, axis, keepdims)
    return [ct * _max_weights(x, out, axis, ct.dtype)]


def _max_jvp(t, x, out, axis, keepdims):
    # The transpose of _max_vjp: the weighted sum of the tangents of the maxima.
    weights = _max_weights(x, _keep(out, x, axis, keepdims), axis, out.dtype)
    return sum_(t[0] * weights, axis=axis, keepdims=keepdims)


max_ = defop("max",
             kernel=lambda x, *, axis, keepdims, out=None: np.maximum.reduce(
                 x, axis=axis, keepdims=keepdims, out=out),
             shape_rule=_numeric_reduction, traits={"out", "foldable", "kink"}, vjp=_max_vjp,
             jvp=_max_jvp,
             batch=lambda values, dims, **attrs: _reduction_batch(max_)(values, dims, **attrs))


def max(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The maximum over `axis`; tied maxima share the gradient equally (see `staticgraph.kinks`)."""
    return max_(x, axis=as_axes(axis, "max"), keepdims=bool(keepdims), name=name)


def min(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The minimum over `axis`, as -max(-x); tied minima share the gradient like max's."""
    return M.negative(max(M.negative(x), axis, keepdims), name=name or "min")


def _prod_slopes(x, out, axis, keepdims):
    """d prod / d x: the product of the other elements. That is out / x where x is nonzero;
    at a zero it is the product of the nonzero elements when that zero is the only one, else 0."""
    out = _keep(out, x, axis, keepdims)
    zero = M.equal(x, 0)
    safe = M.where(zero, C.ones_like(x), x)
    others = prod_(safe, axis=axis, keepdims=True)
    lone = M.equal(sum_(M.cast(zero, x.dtype), axis=axis, keepdims=True), 1)
    at_zero = M.where(lone, others, C.zeros_like(others))
    return M.where(zero, A.broadcast_like(at_zero, x), out / safe)


prod_ = defop("prod",
              kernel=lambda x, *, axis, keepdims, out=None: np.multiply.reduce(
                  x, axis=axis, keepdims=keepdims, dtype=x.dtype, out=out),
              shape_rule=_numeric_reduction, traits={"out", "foldable", "total"},
              vjp=lambda ct, x, out, axis, keepdims: [
                  _keep(ct, x, axis, keepdims) * _prod_slopes(x, out, axis, keepdims)],
              jvp=lambda t, x, out, axis, keepdims: sum_(
                  t[0] * _prod_slopes(x, out, axis, keepdims), axis=axis, keepdims=keepdims),
              batch=lambda values, dims, **attrs: _reduction_batch(prod_)(values, dims, **attrs))


def prod(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The product over `axis` (all axes when None); its gradient is exact at zeros too."""
    return prod_(x, axis=as_axes(axis, "prod"), keepdims=bool(keepdims), name=name)


def _norm_kernel(x, *, axis, keepdims):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _norm_vjp(ct, x, out, axis, keepdims):
    # d|x| = x / |x|; at |x| = 0 the subgradient 0 is taken instead of 0/0.
    out, ct = _keep(out, x, axis, keepdims), _keep(ct, x, axis, keepdims)
    nonzero = M.greater(out, 0)
    scale = M.where(nonzero, ct / M.where(nonzero, out, C.ones_like(out)), C.zeros_like(out))
    return [x * scale]


def _norm_jvp(t, x, out, axis, keepdims):
    # d|x| = <x, dx> / |x|, and 0 at |x| = 0 as in _norm_vjp.
    inner = sum_(x * t[0], axis=axis, keepdims=keepdims)
    nonzero = M.greater(out, 0)
    return M.where(nonzero, inner / M.where(nonzero, out, C.ones_like(out)), C.zeros_like(out))


def _norm_rule(x: Spec, *, axis, keepdims):
    require_float(x)
    return reduction(x, axis=axis, keepdims=keepdims)


norm_ = defop("norm", kernel=_norm_kernel, shape_rule=_norm_rule, traits={"foldable"},
              vjp=_norm_vjp, jvp=_norm_jvp,
              batch=lambda values, dims, **attrs: _reduction_batch(norm_)(values, dims, **attrs))


def norm(x, axis=None, keepdims: bool = False, name: str | None = None):
    """The Euclidean (Frobenius) norm over `axis`; its gradient at 0 is 0.

    A primitive rather than sqrt(sum(x*x)) because that composite's gradient at 0 is NaN.
    """
    return norm_(x, axis=as_axes(axis, "norm"), keepdims=bool(keepdims), name=name)


def _arg_rule(x: Spec, *, axis):
    if x.dtype == dtypes.bool_:
        raise ShapeError("needs a numeric input, got bool")
    return Spec(reduced_shape(x.shape, axis, False), dtypes.int64)


def _arg_batch(op):
    """The batching rule of argmax / argmin: the same op along the example's axis, shifted."""
    return lambda values, dims, *, axis: (
        op(values[0], axis=shift_axes(axis, values[0].ndim - 1)), 0)


argmax_ = defop("argmax", kernel=lambda x, *, axis: np.argmax(x, axis=axis).astype(np.int64),
                shape_rule=_arg_rule, traits={"foldable"},
                batch=lambda values, dims, **attrs: _arg_batch(argmax_)(values, dims, **attrs))
argmin_ = defop("argmin", kernel=lambda x, *, axis: np.argmin(x, axis=axis).astype(np.int64),
                shape_rule=_arg_rule, traits={"foldable"},
                batch=lambda values, dims, **attrs: _arg_batch(argmin_)(values, dims, **attrs))


def _arg(op, x, axis, dimension, output_type, name):
    """argmax / argmin with TF1's arguments: `dimension` is the old name of `axis`."""
    if dimension is not None:
        if axis is not None:
            raise InvalidArgumentError(f"{op.name}: give axis or dimension, not both "
                                       f"at {user_source()}")
        axis = dimension
    out = op(x, axis=as_axis(0 if axis is None else axis, op.name), name=name)
    output_type = dtypes.as_dtype(output_type)
    return out if output_type == dtypes.int64 else M.cast(out, output_type)


def argmax(x, axis: int | None = None, name: str | None = None, dimension: int | None = None,
           output_type=dtypes.int64):
    """The index of the largest element along `axis` (not differentiable).

    As TF1, `axis` defaults to 0 (not the last axis), `dimension` is its old name, and the
    result is int64 unless `output_type` says int32.

    Example:
        >>> import staticgraph as sg
        >>> sg.Session().run(sg.argmax([[1.0, 5.0], [3.0, 2.0]])).tolist()
        [1, 0]
    """
    return _arg(argmax_, x, axis, dimension, output_type, name)


def argmin(x, axis: int | None = None, name: str | None = None, dimension: int | None = None,
           output_type=dtypes.int64):
    """The index of the smallest element along `axis` (0 by default, as TF1; not differentiable)."""
    return _arg(argmin_, x, axis, dimension, output_type, name)
