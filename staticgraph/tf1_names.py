"""TensorFlow 1's names for ops staticgraph already has: `reduce_*`, `pow`, `arg_max`, `to_float`...

Each takes TF1's arguments, including the deprecated spellings old programs still use
(`keep_dims`, `reduction_indices`, `dimension`), and builds the same nodes as our own names.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import create as C
from staticgraph.ops import math as M
from staticgraph.ops import reduce as R
from staticgraph.ops import state as S
from staticgraph.ops.registry import is_tensor, op_scope
from staticgraph.ops.shapes import as_axes
from staticgraph.sourceinfo import user_source


def _reduction_args(what: str, x, axis, keepdims, reduction_indices, keep_dims):
    """(x as a tensor, axis, keepdims) from TF1's arguments, old names folded into the new."""
    if reduction_indices is not None:
        if axis is not None:
            raise InvalidArgumentError(f"{what}: give axis or reduction_indices, not both "
                                       f"at {user_source()}")
        axis = reduction_indices
    if keep_dims is not None:
        if keepdims is not None:
            raise InvalidArgumentError(f"{what}: give keepdims or keep_dims, not both "
                                       f"at {user_source()}")
        keepdims = keep_dims
    if isinstance(axis, np.ndarray):
        axis = axis.tolist()
    return (x if is_tensor(x) else C.constant(x)), axis, bool(keepdims)


def _tf1_reduction(what: str, reduce):
    """A TF1 reduction `what(input_tensor, axis, keepdims, name, reduction_indices, keep_dims)`."""

    def reduction(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
        x, axis, keepdims = _reduction_args(what, input_tensor, axis, keepdims,
                                            reduction_indices, keep_dims)
        return reduce(x, axis, keepdims, name)

    reduction.__name__ = reduction.__qualname__ = what
    reduction.__doc__ = (f"TF1's `tf.{what}`: {reduce.__doc__.splitlines()[0]}\n\n"
                         "    `keep_dims` and `reduction_indices` are accepted as TF1's old names "
                         "of `keepdims` and `axis`.")
    return reduction


def _mean(x, axis, keepdims, name):
    """The mean over `axis`; of integers, the truncated integer mean (as TF1)."""
    if dtypes.is_floating(x.dtype):
        return R.mean(x, axis, keepdims, name)
    if x.dtype == dtypes.bool_:
        raise InvalidArgumentError(f"reduce_mean: needs a numeric input, got bool; cast it first "
                                   f"at {user_source()}")
    # TF1 divides the integer sum by the count in integers, truncating toward zero.
    with op_scope(name or "Mean", x):
        total = M.cast(R.sum(x, axis, keepdims), dtypes.float64)
        count = M.cast(R.count_(x, axis=as_axes(axis, "reduce_mean")), dtypes.float64)
        return M.cast(total / count, x.dtype)


def _any(x, axis, keepdims, name):
    """True where some element along `axis` is true (False over no elements)."""
    counts = R.sum(M.cast(_bools(x, "reduce_any"), dtypes.int64), axis, keepdims)
    return M.greater(counts, 0, name=name)


def _all(x, axis, keepdims, name):
    """True where every element along `axis` is true (True over no elements)."""
    falses = R.sum(M.cast(M.logical_not(_bools(x, "reduce_all")), dtypes.int64), axis, keepdims)
    return M.equal(falses, 0, name=name)


def _bools(x, what: str):
    if x.dtype != dtypes.bool_:
        raise InvalidArgumentError(f"{what}: needs a bool input, got {x.dtype.name} "
                                   f"at {user_source()}")
    return x


def _logsumexp(x, axis, keepdims, name):
    """log(sum(exp(x))) over `axis`, computed stably as m + log(sum(exp(x - m))), m the max.

    m is held constant (its gradient cancels exactly), and an infinite m is replaced by 0 so
    that all -inf gives -inf and +inf gives +inf, as TF1.
    """
    with op_scope(name or "ReduceLogSumExp", x):
        top = C.stop_gradient(R.max(x, axis, keepdims=True))
        finite = M.less(M.abs(top), np.inf)
        top = M.where(finite, top, C.zeros_like(top))
        # Without keepdims, top's reduced dims (all of size 1) go by a max over them, which
        # needs no rank (a squeeze would).
        return M.log(R.sum(M.exp(x - top), axis, keepdims)) + (
            top if keepdims else R.max(top, axis, keepdims=False))


reduce_sum = _tf1_reduction("reduce_sum", R.sum)
reduce_mean = _tf1_reduction("reduce_mean", _mean)
reduce_max = _tf1_reduction("reduce_max", R.max)
reduce_min = _tf1_reduction("reduce_min", R.min)
reduce_prod = _tf1_reduction("reduce_prod", R.prod)
reduce_any = _tf1_reduction("reduce_any", _any)
reduce_all = _tf1_reduction("reduce_all", _all)
reduce_logsumexp = _tf1_reduction("reduce_logsumexp", _logsumexp)


def pow(x, y, name: str | None = None):  # noqa: A001 (TF1's name)
    """TF1's `tf.pow`: x ** y elementwise."""
    return M.power(x, y, name=name)


def floormod(x, y, name: str | None = None):
    """TF1's `tf.floormod` (also `tf.mod`, and `%` on tensors): x mod y with the sign of y, as
    Python's and numpy's %. The gradient is TF1's: 1 for x, -floor(x / y) for y."""
    return M.floormod(x, y, name=name)


mod = floormod


def floordiv(x, y, name: str | None = None):
    """TF1's `tf.floordiv` (also `tf.floor_div`, and `//` on tensors): floor(x / y) elementwise;
    no gradient, as TF1."""
    return M.floor_divide(x, y, name=name)


floor_div = floordiv


def truncatemod(x, y, name: str | None = None):
    """TF1's `tf.truncatemod`: x mod y with the sign of x (C's fmod); no gradient, as TF1."""
    return M.truncatemod(x, y, name=name)


def arg_max(input, dimension=None, output_type=dtypes.int64, name: str | None = None):  # noqa: A002
    """TF1's deprecated `tf.arg_max(input, dimension)`: `argmax` along `dimension`."""
    return R.argmax(input, dimension, name=name, output_type=output_type)


def arg_min(input, dimension=None, output_type=dtypes.int64, name: str | None = None):  # noqa: A002
    """TF1's deprecated `tf.arg_min(input, dimension)`: `argmin` along `dimension`."""
    return R.argmin(input, dimension, name=name, output_type=output_type)


def to_float(x, name: str = "ToFloat"):
    """TF1's `tf.to_float`: x cast to float32."""
    return M.cast(x, dtypes.float32, name=name)


def to_double(x, name: str = "ToDouble"):
    """TF1's `tf.to_double`: x cast to float64."""
    return M.cast(x, dtypes.float64, name=name)


def to_int32(x, name: str = "ToInt32"):
    """TF1's `tf.to_int32`: x cast to int32 (floats truncated toward zero)."""
    return M.cast(x, dtypes.int32, name=name)


def to_int64(x, name: str = "ToInt64"):
    """TF1's `tf.to_int64`: x cast to int64 (floats truncated toward zero)."""
    return M.cast(x, dtypes.int64, name=name)


def initialize_all_variables():
    """TF1's deprecated name of `global_variables_initializer()`."""
    return S.global_variables_initializer()


def local_variables_initializer():
    """An op that does nothing: staticgraph has no local variables (TF1 gives a no-op too when
    there are none)."""
    return S.no_op(name="init_local")


initialize_local_variables = local_variables_initializer
