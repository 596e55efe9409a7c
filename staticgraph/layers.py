"""TF1's `tf.layers` in their functional forms: dense, conv2d, max_pooling2d, average_pooling2d,
flatten, dropout and batch_normalization.

Each call opens a variable scope named `name`, or made unique from the layer's kind when `name`
is None (`dense`, `dense_1`, ... inside the enclosing scope), as TF1 does; dense and conv2d make
`<scope>/kernel` and `<scope>/bias` there with `get_variable`, so `reuse=True` / `AUTO_REUSE`
(or an enclosing scope's reuse) shares them, and they are trainable variables that an
optimizer's `minimize` updates. Only `data_format="channels_last"` (NHWC) is supported.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph import nn
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph_keys import GraphKeys
from staticgraph.initializers import Ones, Zeros
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops.control import cond
from staticgraph.ops.linalg import matmul
from staticgraph.ops.registry import is_tensor
from staticgraph.ops.shapes import fmt
from staticgraph.sourceinfo import user_source
from staticgraph.variable_scope import get_variable, variable_scope

__all__ = ["dense", "conv2d", "max_pooling2d", "average_pooling2d", "flatten", "dropout",
           "batch_normalization"]


def _float_input(inputs, layer: str):
    x = inputs if is_tensor(inputs) else C.constant(inputs)
    if not dtypes.is_floating(x.dtype):
        raise InvalidArgumentError(f"{layer}: inputs must be a float tensor, got "
                                   f"{x.dtype.name} at {user_source()}")
    return x


def _layer_scope(layer: str, name, reuse):
    """The layer's variable scope: `name`, else a new one made unique from the layer's kind."""
    if name is None:
        return variable_scope(None, default_name=layer, reuse=reuse)
    return variable_scope(name, reuse=reuse)


def _no_constraints(layer: str, **constraints) -> None:
    given = sorted(key for key, value in constraints.items() if value is not None)
    if given:
        raise UnimplementedError(f"{layer}: {', '.join(given)} not supported (a projection "
                                 f"after each update) at {user_source()}")


def _finish(outputs, bias, activation, activity_regularizer):
    """outputs + bias, then the activation; the activity regularizer's loss is collected."""
    if bias is not None:
        outputs = nn.bias_add(outputs, bias, name="BiasAdd")
    if activation is not None:
        outputs = activation(outputs)
    if activity_regularizer is not None:
        loss = activity_regularizer(outputs)
        if loss is not None:
            outputs.graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return outputs


def dense(inputs, units: int, activation=None, use_bias: bool = True, kernel_initializer=None,
          bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
          trainable: bool = True, name: str | None = None, reuse=None):
    """TF1's `tf.layers.dense`: `activation(inputs @ kernel + bias)` on the last axis.

    Args:
        inputs: a float tensor of rank >= 2 whose last dim is known.
        units: the output's last dim.
        activation: a function of a tensor (`tf.nn.relu`), or None for linear.
        kernel_initializer: default the variable scope's, else glorot_uniform (as get_variable);
            bias_initializer: default zeros.
        kernel_regularizer, bias_regularizer, activity_regularizer: their losses go to the
            collection "regularization_losses".
        trainable: whether the variables are trainable variables.
        name, reuse: the variable scope (`<name>/kernel`, `<name>/bias`) and its reuse.
    Returns:
        inputs' shape with the last dim `units`.
    Raises:
        InvalidArgumentError: a non-float input, an unknown last dim, reuse of a variable that
            does not exist or of another shape.
        UnimplementedError: kernel_constraint or bias_constraint.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.placeholder(tf.float32, (None, 3))
        >>> y = tf.layers.dense(x, 2, kernel_initializer=tf.ones_initializer(), name="fc")
        >>> [v.name for v in tf.trainable_variables()][-2:]
        ['fc/kernel', 'fc/bias']
        >>> sess = tf.Session(); sess.run(tf.global_variables_initializer())
        >>> sess.run(y, {x: np.ones((1, 3))})
        array([[3., 3.]], dtype=float32)
    """
    _no_constraints("dense", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
    x = _float_input(inputs, "dense")
    if x.shape is None or len(x.shape) < 2 or x.shape[-1] is None:
        raise InvalidArgumentError(f"dense: the last dimension of the inputs should be defined, "
                                   f"got shape {fmt(x.shape)} at {user_source()}")
    with _layer_scope("dense", name, reuse):
        kernel = get_variable("kernel", (x.shape[-1], int(units)), x.dtype, kernel_initializer,
                              regularizer=kernel_regularizer, trainable=trainable)
        bias = (get_variable("bias", (int(units),), x.dtype, bias_initializer or Zeros(),
                             regularizer=bias_regularizer, trainable=trainable)
                if use_bias else None)
        return _finish(matmul(x, kernel, name="MatMul"), bias, activation, activity_regularizer)


def _channels_last(layer: str, data_format) -> None:
    if data_format not in ("channels_last", "NHWC"):
        raise UnimplementedError(f"{layer}: only data_format='channels_last' (NHWC) is "
                                 f"supported, got {data_format!r} at {user_source()}")


def _padding(layer: str, padding) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise InvalidArgumentError(f"{layer}: padding must be 'valid' or 'same', got "
                                   f"{padding!r} at {user_source()}")
    return padding.upper()


def _images(inputs, layer: str):
    x = _float_input(inputs, layer)
    if x.shape is None or len(x.shape) != 4:
        raise InvalidArgumentError(f"{layer}: inputs must be 4-D (batch, height, width, "
                                   f"channels), got shape {fmt(x.shape)} at {user_source()}")
    return x


def conv2d(inputs, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate=(1, 1), activation=None,
           use_bias: bool = True, kernel_initializer=None, bias_initializer=None,
           kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
           kernel_constraint=None, bias_constraint=None, trainable: bool = True,
           name: str | None = None, reuse=None):
    """TF1's `tf.layers.conv2d`: `activation(conv2d(inputs, kernel) + bias)` on NHWC images.

    Args:
        inputs: (batch, height, width, channels), channels known.
        filters: the output's channels; kernel_size, strides, dilation_rate: an int or a pair.
        padding: "valid" or "same" (either case).
        The other arguments are dense's; the kernel is `<name>/kernel` of shape
        (kh, kw, channels, filters), the bias `<name>/bias` of shape (filters,).
    Raises:
        InvalidArgumentError: inputs not 4-D or of unknown channels, a bad padding.
        UnimplementedError: data_format="channels_first", or a constraint.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.ones((1, 4, 4, 2), np.float32))
        >>> y = tf.layers.conv2d(x, 3, 3, padding="same", name="c")
        >>> y.shape, [v.shape for v in tf.trainable_variables()[-2:]]
        ((1, 4, 4, 3), [(3, 3, 2, 3), (3,)])
    """
    _channels_last("conv2d", data_format)
    _no_constraints("conv2d", kernel_constraint=kernel_constraint,
                    bias_constraint=bias_constraint)
    x = _images(inputs, "conv2d")
    if x.shape[-1] is None:
        raise InvalidArgumentError(f"conv2d: the channel dimension of the inputs should be "
                                   f"defined, got shape {fmt(x.shape)} at {user_source()}")
    kh, kw = nn._pair(kernel_size, "conv2d", "kernel_size", False)
    attrs = {"strides": nn._pair(strides, "conv2d", "strides", False),
             "padding": _padding("conv2d", padding),
             "dilations": nn._pair(dilation_rate, "conv2d", "dilation_rate", False)}
    with _layer_scope("conv2d", name, reuse):
        kernel = get_variable("kernel", (kh, kw, x.shape[-1], int(filters)), x.dtype,
                              kernel_initializer, regularizer=kernel_regularizer,
                              trainable=trainable)
        bias = (get_variable("bias", (int(filters),), x.dtype, bias_initializer or Zeros(),
                             regularizer=bias_regularizer, trainable=trainable)
                if use_bias else None)
        return _finish(nn.conv2d(x, kernel, **attrs), bias, activation, activity_regularizer)


def _pooling(layer: str, pool, inputs, pool_size, strides, padding, data_format, name):
    _channels_last(layer, data_format)
    x = _images(inputs, layer)
    size = nn._pair(pool_size, layer, "pool_size", False)
    step = nn._pair(strides, layer, "strides", False)
    with _layer_scope(layer, name, None):
        return pool(x, size, step, _padding(layer, padding))


def max_pooling2d(inputs, pool_size, strides, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None):
    """TF1's `tf.layers.max_pooling2d`: `tf.nn.max_pool` with `pool_size` and `strides` given
    as an int or a pair, padding "valid" or "same".

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> tf.Session().run(tf.layers.max_pooling2d(x, 2, 2))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    return _pooling("max_pooling2d", nn.max_pool, inputs, pool_size, strides, padding,
                    data_format, name)


def average_pooling2d(inputs, pool_size, strides, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None):
    """TF1's `tf.layers.average_pooling2d`: `tf.nn.avg_pool` with max_pooling2d's arguments."""
    return _pooling("average_pooling2d", nn.avg_pool, inputs, pool_size, strides, padding,
                    data_format, name)


def flatten(inputs, name: str | None = None, data_format: str = "channels_last"):
    """TF1's `tf.layers.flatten`: (batch, ...) reshaped to (batch, the product of the rest).

    Raises:
        UnimplementedError: the batch dim and another both unknown (TF1 reads them at run time).

    Example:
        >>> import staticgraph as tf
        >>> tf.layers.flatten(tf.placeholder(tf.float32, (None, 4, 4, 3))).shape
        (None, 48)
    """
    _channels_last("flatten", data_format)
    x = inputs if is_tensor(inputs) else C.constant(inputs)
    if x.shape is None or len(x.shape) < 1:
        raise InvalidArgumentError(f"flatten: inputs must have a batch dim, got shape "
                                   f"{fmt(x.shape)} at {user_source()}")
    with _layer_scope("flatten", name, None):
        rest = x.shape[1:]
        if all(d is not None for d in rest):
            batch = -1 if x.shape[0] is None else x.shape[0]
            return A.reshape(x, (batch, int(np.prod(rest, dtype=np.int64))))
        if x.shape[0] is not None:
            return A.reshape(x, (x.shape[0], -1))
    raise UnimplementedError(f"flatten: needs the batch dim or all the others known, got shape "
                             f"{fmt(x.shape)} at {user_source()}")


def dropout(inputs, rate=0.5, noise_shape=None, seed: int | None = None, training=False,
            name: str | None = None):
    """TF1's `tf.layers.dropout`: when `training`, each element is zeroed with probability
    `rate` and the rest scaled by 1 / (1 - rate) (`tf.nn.dropout`); otherwise inputs unchanged.

    Args:
        rate: the fraction dropped, a number in [0, 1) or a scalar tensor.
        noise_shape: the mask's shape, broadcast against the inputs'; a None dim takes the
            inputs' (then known) dim.
        seed: the op seed, under TF1's rules with `tf.set_random_seed`.
        training: a Python bool (default False, as TF1: no dropout unless asked), or a bool
            scalar tensor, which chooses at each run (`tf.cond`).

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.ones((2, 3), np.float32))
        >>> tf.Session().run(tf.layers.dropout(x, 0.5))      # training=False: unchanged
        array([[1., 1., 1.],
               [1., 1., 1.]], dtype=float32)
    """
    x = _float_input(inputs, "dropout")
    noise_shape = _noise_shape(x, noise_shape)
    with _layer_scope("dropout", name, None):
        def dropped():
            return nn.dropout(x, noise_shape=noise_shape, seed=seed, rate=rate)

        if is_tensor(training):
            _bool_training("dropout", training)
            return cond(training, dropped, lambda: C.identity(x))
        return dropped() if training else C.identity(x)


def _noise_shape(x, noise_shape):
    """noise_shape with each None dim taken from x's static shape."""
    if noise_shape is None:
        return None
    dims = list(noise_shape)
    if x.shape is None or len(dims) != len(x.shape):
        raise InvalidArgumentError(f"dropout: noise_shape {tuple(dims)} must have the inputs' "
                                   f"rank, got inputs {fmt(x.shape)} at {user_source()}")
    for i, d in enumerate(dims):
        if d is None:
            if x.shape[i] is None:
                raise InvalidArgumentError(f"dropout: noise_shape dim {i} is None and the "
                                           f"inputs' dim {i} is unknown at {user_source()}")
            dims[i] = x.shape[i]
    return tuple(dims)


def _bool_training(layer: str, training) -> None:
    if training.dtype != dtypes.bool_:
        raise InvalidArgumentError(f"{layer}: training must be a bool, got a "
                                   f"{training.dtype.name} tensor at {user_source()}")


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center: bool = True,
                        scale: bool = True, beta_initializer=None, gamma_initializer=None,
                        moving_mean_initializer=None, moving_variance_initializer=None,
                        beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                        gamma_constraint=None, training=False, trainable: bool = True,
                        name: str | None = None, reuse=None, renorm: bool = False,
                        renorm_clipping=None, renorm_momentum=0.99, fused=None,
                        virtual_batch_size=None, adjustment=None):
    """TF1's `tf.layers.batch_normalization`: inputs normalised per feature along `axis`, then
    scaled by `gamma` and shifted by `beta`.

    When `training`, the statistics are the batch's (`tf.nn.moments` over every axis but
    `axis`: the biased variance), and the ops updating the moving averages,
    `moving = moving * momentum + batch * (1 - momentum)`, go to the collection
    `tf.GraphKeys.UPDATE_OPS`: run them with the training step, as TF1 programs do with
    `with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):`. Otherwise the
    moving averages normalise and nothing is updated. `training` may be a bool scalar tensor,
    choosing at each run (`tf.cond`); the updates are then collected too and leave the moving
    averages unchanged on runs that are not training.

    Args:
        axis: the features' axis (default the last).
        momentum, epsilon: the moving averages' decay and the variance's epsilon.
        center, scale: whether `beta` / `gamma` exist (else offset 0 / scale 1).
        beta_initializer, moving_mean_initializer: default zeros; gamma_initializer,
            moving_variance_initializer: default ones.
        beta_regularizer, gamma_regularizer: their losses go to
            `tf.GraphKeys.REGULARIZATION_LOSSES`.
        trainable: whether gamma and beta are trainable variables (the moving ones never are).
        name, reuse: the variable scope of `<name>/gamma`, `beta`, `moving_mean` and
            `moving_variance` (default name `batch_normalization`, `batch_normalization_1`, ...).
        fused: accepted and ignored: the statistics are always the non-fused path's.
    Raises:
        InvalidArgumentError: a non-float input, an axis out of range or of unknown size, a
            non-bool training tensor.
        UnimplementedError: renorm, virtual_batch_size, adjustment or a constraint.

    Example:
        >>> import numpy as np, staticgraph as tf
        >>> x = tf.constant(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> y = tf.layers.batch_normalization(x, epsilon=0.0, training=True, name="bn")
        >>> [v.name for v in tf.global_variables()[-4:]]
        ['bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']
        >>> sess = tf.Session(); sess.run(tf.global_variables_initializer())
        >>> sess.run(y)
        array([[-1., -1.],
               [ 1.,  1.]])
    """
    _no_constraints("batch_normalization", beta_constraint=beta_constraint,
                    gamma_constraint=gamma_constraint)
    if renorm or virtual_batch_size is not None or adjustment is not None:
        raise UnimplementedError(f"batch_normalization: renorm, virtual_batch_size and "
                                 f"adjustment are not supported at {user_source()}")
    x = _float_input(inputs, "batch_normalization")
    axis = _feature_axis(x, axis)
    if is_tensor(training):
        _bool_training("batch_normalization", training)
    features = (x.shape[axis],)
    with _layer_scope("batch_normalization", name, reuse):
        def param(var_name, initializer, default, regularizer=None, trainable=trainable):
            return get_variable(var_name, features, x.dtype, initializer or default,
                                regularizer=regularizer, trainable=trainable)

        gamma = param("gamma", gamma_initializer, Ones(), gamma_regularizer) if scale else None
        beta = param("beta", beta_initializer, Zeros(), beta_regularizer) if center else None
        moving_mean = param("moving_mean", moving_mean_initializer, Zeros(), trainable=False)
        moving_variance = param("moving_variance", moving_variance_initializer, Ones(),
                                trainable=False)
        if not is_tensor(training) and not training:
            mean, variance = moving_mean, moving_variance
        else:
            reduced = [a for a in range(len(x.shape)) if a != axis]
            batch_mean, batch_variance = nn.moments(x, reduced)
            mean = _choose(training, batch_mean, moving_mean)
            variance = _choose(training, batch_variance, moving_variance)
            graph = x.graph
            for moving, value in ((moving_mean, mean), (moving_variance, variance)):
                with graph.name_scope("AssignMovingAvg"):
                    update = moving.assign_sub((moving - value) * (1.0 - momentum))
                graph.add_to_collection(GraphKeys.UPDATE_OPS, update)
        shape = [1] * len(x.shape)
        shape[axis] = features[0]
        mean, variance, beta, gamma = (
            t if t is None or axis == len(x.shape) - 1 else A.reshape(t, tuple(shape))
            for t in (mean, variance, beta, gamma))
        return nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)


def _feature_axis(x, axis) -> int:
    """`axis` (an int, or a list of one) as a non-negative axis of x whose size is known."""
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    rank = None if x.shape is None else len(x.shape)
    if (isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or rank is None
            or not -rank <= axis < rank):
        raise InvalidArgumentError(f"batch_normalization: axis must be one int in [-rank, rank) "
                                   f"of inputs of known rank, got axis {axis!r} and shape "
                                   f"{fmt(x.shape)} at {user_source()}")
    axis = int(axis) % rank
    if x.shape[axis] is None:
        raise InvalidArgumentError(f"batch_normalization: axis {axis} of the inputs should be "
                                   f"defined, got shape {fmt(x.shape)} at {user_source()}")
    return axis


def _choose(training, batch, moving):
    """The batch statistic when training (a Python bool, or a bool tensor read at each run)."""
    if is_tensor(training):
        return cond(training, lambda: C.identity(batch), lambda: C.identity(moving))
    return batch
