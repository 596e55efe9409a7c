"""TF1's variable initializers: objects called as `init(shape, dtype)` that return the initial value.

The random ones build random ops (`staticgraph.ops.random`), so each run of the initializer
draws anew, as in TF1, and `seed=` with the graph seed follows TF1's rules (`set_random_seed`).
"""
from __future__ import annotations

import math

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor
from staticgraph.ops import create
from staticgraph.ops import random
from staticgraph.ops.shapes import as_shape


class Initializer:
    """Base class: `init(shape, dtype=None, partition_info=None)` gives a Tensor of that shape."""

    def __init__(self, dtype=dtypes.float32) -> None:
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None) -> Tensor:
        shape = _full_shape(shape, type(self).__name__)
        dtype = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        return create.constant(self._value(shape, dtype), dtype, name="initial")

    def _value(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError


class Zeros(Initializer):
    """Zeros (TF1's `tf.zeros_initializer`)."""

    def _value(self, shape, dtype):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    """Ones (TF1's `tf.ones_initializer`)."""

    def _value(self, shape, dtype):
        return np.ones(shape, dtype)


class Constant(Initializer):
    """`value` (TF1's `tf.constant_initializer`): a scalar fills the shape; a list or array of
    fewer elements than the shape is completed with its last element, as in TF1.

    Raises:
        InvalidArgumentError: more elements than the shape holds, or with `verify_shape`, another
            shape than the variable's.
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape: bool = False) -> None:
        super().__init__(dtype)
        self.value = np.asarray(value)
        self.verify_shape = verify_shape

    def _value(self, shape, dtype):
        flat, size = self.value.ravel(), math.prod(shape)
        if self.verify_shape and self.value.shape != shape:
            raise InvalidArgumentError(f"constant_initializer: expected shape {shape}, got "
                                       f"{self.value.shape}")
        if flat.size > size:
            raise InvalidArgumentError(f"Too many elements provided. Needed at most {size}, but "
                                       f"received {flat.size}")
        if flat.size == 0:
            raise InvalidArgumentError("constant_initializer: the value has no element")
        padded = np.concatenate([flat, np.repeat(flat[-1:], size - flat.size)])
        return padded.astype(dtype).reshape(shape)


class _Random(Initializer):
    def __init__(self, seed: int | None = None, dtype=dtypes.float32) -> None:
        super().__init__(dtype)
        if not dtypes.is_floating(self.dtype):
            raise InvalidArgumentError(f"{type(self).__name__}: dtype must be float, got "
                                       f"{self.dtype.name}")
        self.seed = seed

    def __call__(self, shape, dtype=None, partition_info=None) -> Tensor:
        shape = _full_shape(shape, type(self).__name__)
        dtype = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        return self._draw(shape, dtype)

    def _draw(self, shape: tuple, dtype: np.dtype) -> Tensor:
        raise NotImplementedError


class RandomNormal(_Random):
    """Normal draws of mean `mean` and deviation `stddev` (TF1's `tf.random_normal_initializer`)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32) -> None:
        super().__init__(seed, dtype)
        self.mean, self.stddev = mean, stddev

    def _draw(self, shape, dtype):
        return random.random_normal(shape, self.mean, self.stddev, dtype, self.seed, "initial")


class TruncatedNormal(_Random):
    """Normal draws, those more than two deviations from the mean drawn again (TF1's
    `tf.truncated_normal_initializer`)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32) -> None:
        super().__init__(seed, dtype)
        self.mean, self.stddev = mean, stddev

    def _draw(self, shape, dtype):
        return random.truncated_normal(shape, self.mean, self.stddev, dtype, self.seed, "initial")


class RandomUniform(_Random):
    """Uniform draws in [minval, maxval) (TF1's `tf.random_uniform_initializer`)."""

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=dtypes.float32) -> None:
        super().__init__(seed, dtype)
        self.minval, self.maxval = minval, 1.0 if maxval is None else maxval

    def _draw(self, shape, dtype):
        return random.random_uniform(shape, self.minval, self.maxval, dtype, self.seed, "initial")


class VarianceScaling(_Random):
    """Draws of variance scale / n, n the fan-in, fan-out or their mean (`mode`); `distribution`
    "truncated_normal" (TF1's default), "untruncated_normal" or "uniform"."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32) -> None:
        super().__init__(seed, dtype)
        if scale <= 0 or mode not in self.MODES or distribution not in self.DISTRIBUTIONS:
            raise InvalidArgumentError(
                f"VarianceScaling: scale must be positive, mode one of {self.MODES}, distribution "
                f"one of {self.DISTRIBUTIONS}; got {scale!r}, {mode!r}, {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def _draw(self, shape, dtype):
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return random.random_uniform(shape, -limit, limit, dtype, self.seed, "initial")
        if self.distribution == "truncated_normal":
            # 0.8796...: the deviation of a unit normal truncated to [-2, 2].
            stddev = math.sqrt(variance) / 0.87962566103423978
            return random.truncated_normal(shape, 0.0, stddev, dtype, self.seed, "initial")
        return random.random_normal(shape, 0.0, math.sqrt(variance), dtype, self.seed, "initial")


class GlorotUniform(VarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio; TF1's
    `tf.glorot_uniform_initializer`, the default initializer of `get_variable`)."""

    def __init__(self, seed=None, dtype=dtypes.float32) -> None:
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    """Truncated normal of deviation sqrt(2 / (fan_in + fan_out)) (`tf.glorot_normal_initializer`)."""

    def __init__(self, seed=None, dtype=dtypes.float32) -> None:
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


def fans(shape: tuple) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight of `shape`, TF1's rule: the last two dims are (in, out),
    the dims before them a receptive field (convolution kernels)."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _full_shape(shape, who: str) -> tuple:
    return as_shape(() if shape is None else shape, who)


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
