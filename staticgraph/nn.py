"""TF1's `tf.nn`: activations, softmax, the cross-entropy losses, l2_loss, bias_add, dropout,
conv2d, max_pool and avg_pool.

With `import staticgraph as tf`, `tf.nn.relu(x)` and the rest take TF1's arguments and give
TF1's values and gradients. Activations with kinks take TF1's derivatives there: relu'(0) = 0,
relu6' is 1 only on (0, 6), elu'(0) = 1. The losses are the numerically stable forms TF1 uses.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.ops import array as A
from staticgraph.ops import conv as CV
from staticgraph.ops import create as C
from staticgraph.ops import math as M
from staticgraph.ops import nn as N
from staticgraph.ops import reduce as R
from staticgraph.ops.math import relu, sigmoid, tanh
from staticgraph.ops.random import random_uniform, random_uniform_like
from staticgraph.ops.registry import is_tensor, op_scope
from staticgraph.ops.shapes import compatible, fmt
from staticgraph.sourceinfo import user_source

__all__ = ["relu", "relu6", "elu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax",
           "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
           "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
           "l2_loss", "l2_normalize", "bias_add", "dropout", "embedding_lookup", "conv2d",
           "max_pool", "avg_pool", "moments", "batch_normalization"]


def _tensor(x):
    return x if is_tensor(x) else C.constant(x)


def _axis(axis, dim, what: str) -> int:
    """TF1's `axis`, or its old name `dim`; -1 when neither is given."""
    if dim is not None:
        if axis is not None:
            raise InvalidArgumentError(f"{what}: give axis or dim, not both at {user_source()}")
        axis = dim
    return -1 if axis is None else axis


def relu6(features, name: str | None = None):
    """min(max(features, 0), 6); its derivative is 1 on (0, 6) and 0 elsewhere (as TF1)."""
    x = _tensor(features)
    with op_scope(name or "Relu6", x):
        return M.where(M.less(x, 6), relu(x), C.ones_like(x) * 6)


def elu(features, name: str | None = None):
    """x where x > 0, else exp(x) - 1 (its derivative at 0 is 1, as TF1)."""
    x = _tensor(features)
    with op_scope(name or "Elu", x):
        positive = M.greater(x, 0)
        # exp only of the non-positive values: exp(large x) would overflow in the unused branch.
        negative = M.where(positive, C.zeros_like(x), x)
        return M.where(positive, x, M.exp(negative) - 1)


def softplus(features, name: str | None = None):
    """log(exp(x) + 1), computed as max(x, 0) + log(1 + exp(-|x|)) so that exp never overflows."""
    x = _tensor(features)
    with op_scope(name or "Softplus", x):
        relu_x, minus_abs = _stable_parts(x)
        return relu_x + M.log(1 + M.exp(minus_abs))


def _stable_parts(x):
    """(max(x, 0), -|x|) written with where on x >= 0, so that at 0 their derivatives (1 and -1)
    add up to the smooth function's, as in TF1's sigmoid cross-entropy."""
    nonnegative = M.greater_equal(x, 0)
    return (M.where(nonnegative, x, C.zeros_like(x)),
            M.where(nonnegative, M.negative(x), x))


def softmax(logits, axis: int | None = None, name: str | None = None, dim: int | None = None):
    """exp(logits) normalised along `axis` (the last by default; `dim` is its old name)."""
    return N.softmax(logits, _axis(axis, dim, "softmax"), name=name)


def log_softmax(logits, axis: int | None = None, name: str | None = None, dim: int | None = None):
    """log(softmax(logits)) along `axis` (the last by default; `dim` is its old name)."""
    return N.log_softmax(logits, _axis(axis, dim, "log_softmax"), name=name)


def _named_only(what: str, sentinel, labels, logits) -> None:
    """TF1's rule for the losses that must be called with labels= and logits=."""
    if sentinel is not None:
        raise InvalidArgumentError(f"Only call `{what}` with named arguments (labels=..., "
                                   f"logits=..., ...) at {user_source()}")
    if labels is None or logits is None:
        raise InvalidArgumentError(f"{what}: both labels and logits must be provided "
                                   f"at {user_source()}")


def softmax_cross_entropy_with_logits_v2(labels, logits, axis: int | None = None,
                                         name: str | None = None, dim: int | None = None):
    """Per-example -sum(labels * log_softmax(logits)) along `axis`; gradients reach the labels too.

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> loss = sg.nn.softmax_cross_entropy_with_logits_v2(
        ...     labels=[[0.0, 1.0]], logits=sg.constant(np.log([[1.0, 3.0]])))
        >>> sg.Session().run(loss).round(4).tolist()
        [0.2877]
    """
    axis = _axis(axis, dim, "softmax_cross_entropy_with_logits_v2")
    return N.softmax_cross_entropy_with_logits(labels, logits, axis, name=name)


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim: int = -1,
                                      name: str | None = None, axis: int | None = None):
    """TF1's deprecated form: as `_v2`, but labels= and logits= must be named and no gradient
    flows into the labels (they are held constant, as TF1 does).

    Raises:
        InvalidArgumentError: labels or logits given by position, or missing.
    """
    _named_only("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    labels = C.stop_gradient(labels) if is_tensor(labels) else labels
    axis = _axis(axis, None if dim == -1 else dim, "softmax_cross_entropy_with_logits")
    return N.softmax_cross_entropy_with_logits(labels, logits, axis, name=name)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                             name: str | None = None):
    """Per-example -log_softmax(logits)[labels] with integer class labels (named arguments only).

    Raises:
        InvalidArgumentError: labels or logits given by position or missing; ShapeError: labels
            not of logits' shape without its last dim.
    """
    _named_only("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    return N.sparse_softmax_cross_entropy_with_logits(labels, _tensor(logits), name=name)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                      name: str | None = None):
    """Elementwise -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)) for labels z, logits x,
    computed as TF1 does: max(x, 0) - x z + log(1 + exp(-|x|)) (no overflow, exact gradient at 0).

    Raises:
        InvalidArgumentError: labels or logits given by position or missing; ShapeError: labels
            and logits of different shapes.
    """
    _named_only("sigmoid_cross_entropy_with_logits", _sentinel, labels, logits)
    x = _tensor(logits)
    z = labels if is_tensor(labels) else C.constant(labels, dtype=x.dtype)
    if not compatible(x.shape, z.shape):
        raise InvalidArgumentError(
            f"sigmoid_cross_entropy_with_logits: logits and labels must have the same shape, got "
            f"{fmt(x.shape)} and {fmt(z.shape)} at {user_source()}")
    with op_scope(name or "logistic_loss", x):
        relu_x, minus_abs = _stable_parts(x)
        return relu_x - x * z + M.log(1 + M.exp(minus_abs))


def l2_loss(t, name: str | None = None):
    """sum(t ** 2) / 2, a scalar (TF1's weight-decay term)."""
    t = _tensor(t)
    with op_scope(name or "L2Loss", t):
        return R.sum(M.square(t)) / 2


def l2_normalize(x, axis=None, epsilon: float = 1e-12, name: str | None = None, dim=None):
    """x / sqrt(max(sum(x ** 2, axis), epsilon)) (all axes when `axis` is None, as TF1)."""
    x = _tensor(x)
    axis = dim if axis is None else axis
    with op_scope(name or "l2_normalize", x):
        squares = R.sum(M.square(x), axis, keepdims=True)
        return x / M.sqrt(M.maximum(squares, epsilon))


def bias_add(value, bias, data_format: str | None = None, name: str | None = None):
    """value + bias, with the 1-D `bias` added along the channel dim: the last one ("NHWC",
    the default), or dim 1 for a data_format starting "NC".

    Raises:
        InvalidArgumentError: a bias that is not 1-D or does not match the channel dim.
    """
    value, bias = _tensor(value), _tensor(bias)
    channels_first = data_format is not None and data_format.startswith("NC")
    channel = 1 if channels_first else -1
    if len(bias.shape) != 1 or len(value.shape) < 2 or not compatible(
            (value.shape[channel],), bias.shape):
        raise InvalidArgumentError(
            f"bias_add: needs a 1-D bias as long as the channel dim {channel} of a value of rank "
            f">= 2, got value {fmt(value.shape)} and bias {fmt(bias.shape)} at {user_source()}")
    if channels_first:
        bias = A.reshape(bias, (-1,) + (1,) * (len(value.shape) - 2))
    return M.add(value, bias, name=name)


def dropout(x, keep_prob=None, noise_shape=None, seed: int | None = None,
            name: str | None = None, rate=None):
    """x with each element kept with probability keep_prob (= 1 - rate) and scaled by 1/keep_prob,
    else 0; a new mask at each run, seeded as other random ops (see `set_random_seed`).

    Args:
        keep_prob or rate (not both): a number, or a scalar tensor (a placeholder fed 1.0 at
            test time, as TF1 programs do).
        noise_shape: a fully known shape broadcast against x's (e.g. (n, 1) drops whole rows).
    Raises:
        InvalidArgumentError: both or neither of keep_prob and rate, a number outside [0, 1),
            or a non-float x.
    """
    x = _tensor(x)
    if (keep_prob is None) == (rate is None):
        raise InvalidArgumentError(f"dropout: give exactly one of keep_prob and rate "
                                   f"at {user_source()}")
    if not dtypes.is_floating(x.dtype):
        raise InvalidArgumentError(f"dropout: x must be a float tensor, got {x.dtype.name} "
                                   f"at {user_source()}")
    if not is_tensor(rate if keep_prob is None else keep_prob):
        rate = 1 - float(keep_prob) if keep_prob is not None else float(rate)
        if not 0 <= rate < 1:
            raise InvalidArgumentError(f"dropout: rate must be in [0, 1) (keep_prob in (0, 1]), "
                                       f"got rate {rate:g} at {user_source()}")
        keep_prob = 1 - rate
    elif keep_prob is None:
        rate = _scalar(rate, "rate")
        keep_prob = M.subtract(1, rate)
    else:
        keep_prob = _scalar(keep_prob, "keep_prob")
        rate = M.subtract(1, keep_prob)
    with op_scope(name or "dropout", x):
        draws = (random_uniform_like(x, seed=seed) if noise_shape is None else
                 random_uniform(noise_shape, dtype=x.dtype, seed=seed))
        kept = M.cast(M.greater_equal(draws, rate), x.dtype)
        return M.divide(x, keep_prob) * kept


def _scalar(t, what: str):
    """A scalar tensor as one: of unknown rank (a placeholder without a shape, as TF1 programs
    feed keep_prob) it is reshaped to () so that dropout keeps x's static shape, as TF1 does."""
    if t.shape is None:
        return A.reshape(t, ())
    if t.shape != ():
        raise InvalidArgumentError(f"dropout: {what} must be a scalar, got shape {fmt(t.shape)} "
                                   f"at {user_source()}")
    return t


def embedding_lookup(params, ids, name: str | None = None):
    """The rows of `params` at `ids` (a gather along axis 0)."""
    ids = ids if is_tensor(ids) else np.asarray(ids)
    return A.gather(params, ids, axis=0, name=name)


# ----- convolution and pooling (NHWC) ------------------------------------------------------
PADDINGS = ("SAME", "VALID")


def _pair(value, what: str, name: str, ones_outside: bool) -> tuple:
    """TF1's strides / ksize / dilations: an int, a pair, or four with 1 for batch and channels."""
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) == 4 and ones_outside:
        if values[0] != 1 or values[3] != 1:
            raise InvalidArgumentError(f"{what}: {name} must be 1 for the batch and channel "
                                       f"dims (NHWC), got {value!r} at {user_source()}")
        values = values[1:3]
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in values):
        raise InvalidArgumentError(f"{what}: {name} must be positive ints (1, 2 or 4 of them), "
                                   f"got {value!r} at {user_source()}")
    return tuple(int(v) for v in values)


def _check_layout(what: str, padding, data_format) -> str:
    if data_format not in (None, "NHWC"):
        raise UnimplementedError(f"{what}: only data_format='NHWC' is supported, got "
                                 f"{data_format!r} at {user_source()}")
    padding = padding.upper() if isinstance(padding, str) else padding
    if padding not in PADDINGS:
        raise InvalidArgumentError(f"{what}: padding must be 'SAME' or 'VALID', got {padding!r} "
                                   f"at {user_source()}")
    return padding


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu: bool = True,  # noqa: A002
           data_format: str = "NHWC", dilations=(1, 1, 1, 1), name: str | None = None,
           filters=None):
    """TF1's `tf.nn.conv2d`: a 2-D convolution of NHWC `input` with an HWIO `filter`.

    Args:
        input: (batch, height, width, in_channels), float32 or float64.
        filter: (height, width, in_channels, out_channels), of input's dtype (`filters` is
            its TF2 name).
        strides: an int, (sh, sw), or (1, sh, sw, 1).
        padding: "SAME" (ceil(size / stride) outputs, zeros around) or "VALID".
        dilations: as strides: the step between a filter's taps.
        use_cudnn_on_gpu: accepted and ignored.
    Returns:
        (batch, out_height, out_width, out_channels); differentiable in both arguments, to
        any order.
    Raises:
        ShapeError: when built, for channels that differ or a VALID window larger than the image.
        UnimplementedError: data_format other than "NHWC".

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> k = tf.constant(np.ones((2, 2, 1, 1)))
        >>> tf.Session().run(tf.nn.conv2d(x, k, strides=2, padding="VALID"))[0, :, :, 0]
        array([[10., 18.],
               [42., 50.]])
    """
    filter = filters if filter is None else filter
    padding = _check_layout("conv2d", padding, data_format)
    attrs = {"strides": _pair(strides, "conv2d", "strides", True), "padding": padding,
             "dilations": _pair(dilations, "conv2d", "dilations", True)}
    x = input if is_tensor(input) else C.constant(
        input, dtype=filter.dtype if is_tensor(filter) else None)
    return CV.conv2d_(x, filter if is_tensor(filter) else C.constant(filter, dtype=x.dtype), name=name or "Conv2D", **attrs)


def _pool(op, what: str, value, ksize, strides, padding, data_format, name):
    padding = _check_layout(what, padding, data_format)
    attrs = {"ksize": _pair(ksize, what, "ksize", True),
             "strides": _pair(strides, what, "strides", True), "padding": padding}
    return op(_tensor(value), name=name, **attrs)


def max_pool(value, ksize, strides, padding, data_format: str = "NHWC",
             name: str | None = None, input=None):  # noqa: A002
    """TF1's `tf.nn.max_pool`: the largest element of each `ksize` window, per channel.

    `ksize` and `strides` are an int, a pair or (1, h, w, 1); padding "SAME" pads with -inf
    (a window never takes the padding). The gradient goes to the first largest element of each
    window, as TF1's.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> tf.Session().run(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    return _pool(CV.max_pool_, "max_pool", value if input is None else input, ksize, strides,
                 padding, data_format, name or "MaxPool")


def avg_pool(value, ksize, strides, padding, data_format: str = "NHWC",
             name: str | None = None, input=None):  # noqa: A002
    """TF1's `tf.nn.avg_pool`: the mean of each `ksize` window, per channel; with "SAME" the
    mean of the elements inside the image (padding is not counted), as TF1.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.arange(9.0).reshape(1, 3, 3, 1))
        >>> tf.Session().run(tf.nn.avg_pool(x, 2, 2, "SAME"))[0, :, :, 0]
        array([[2. , 3.5],
               [6.5, 8. ]])
    """
    return _pool(CV.avg_pool_, "avg_pool", value if input is None else input, ksize, strides,
                 padding, data_format, name or "AvgPool")


def moments(x, axes, shift=None, name: str | None = None, keep_dims=None, keepdims=None):
    """(mean, variance) of `x` over `axes`, TF1's `tf.nn.moments`: the variance is the biased
    one, mean((x - mean) ** 2), with no gradient through the inner mean (as TF1; the gradient
    is the same). `shift` is accepted and unused, as in TF1. The reduced axes are kept (as
    size 1) when `keep_dims` (or `keepdims`) is true.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> m, v = tf.nn.moments(tf.constant([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
        >>> tf.Session().run([m, v])
        [array([2., 4.], dtype=float32), array([1., 4.], dtype=float32)]
    """
    x = _tensor(x)
    if keep_dims is not None and keepdims is not None and bool(keep_dims) != bool(keepdims):
        raise InvalidArgumentError(f"moments: keep_dims and keepdims disagree at {user_source()}")
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axes = list(axes) if isinstance(axes, (list, tuple)) else [axes]
    with op_scope(name or "moments", x):
        mean = R.mean(x, axes, keepdims=True, name="mean")
        variance = R.mean(M.square(x - C.stop_gradient(mean)), axes, keepdims=True,
                          name="variance")
        if not keep:
            mean, variance = A.squeeze(mean, axes), A.squeeze(variance, axes)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon,
                        name: str | None = None):
    """TF1's `tf.nn.batch_normalization`: `scale * (x - mean) / sqrt(variance + epsilon) +
    offset`, with `offset` and `scale` optional (None) and every argument broadcast against x.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> y = tf.nn.batch_normalization(tf.constant([1.0, 3.0]), 2.0, 1.0, None, None, 0.0)
        >>> tf.Session().run(y)
        array([-1.,  1.], dtype=float32)
    """
    x = _tensor(x)
    mean, variance, offset, scale = (C.constant(v) if isinstance(v, (np.ndarray, list)) else v
                                     for v in (mean, variance, offset, scale))
    with op_scope(name or "batchnorm", x):
        inv = 1.0 / M.sqrt(M.add(variance, variance_epsilon))
        if scale is not None:
            inv = inv * scale
        shift = -mean * inv if offset is None else offset - mean * inv
        return x * M.cast(inv, x.dtype) + M.cast(shift, x.dtype)
