"""Making eager tensors as PyTorch does: tensor, arange, ones, zeros, randn (see manual_seed).

Sizes may be given as ints, as one tuple, or as `size=` (`ones(2, 3)`, `ones((2, 3))`,
`randn(size=())`).
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import create

_GENERATOR = [np.random.default_rng()]


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """A new leaf tensor holding a copy of `data`.

    Args:
        data: a number, nested list, numpy array or tensor.
        requires_grad: record ops on it so `backward` fills its `.grad` (float dtypes only).
        dtype: e.g. `eager.float64`; by default Python floats become float32, Python ints
            int64, and numpy arrays keep their dtype (as in PyTorch).
        name: a label for the tensor's node in `recorded_graph` drawings.
    Example:
        >>> import numpy as np
        >>> from staticgraph import eager
        >>> eager.tensor([1.0, 2.0]), eager.tensor(np.arange(2.0)).dtype.name
        (tensor([1., 2.]), 'float64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False,
           name: str | None = None) -> Tensor:
    """Values from `start` (0 when only one bound is given) up to `end`, by `step`.

    The dtype is float32 when any bound is a float, else int64 (PyTorch's rule).

    Example:
        >>> from staticgraph import eager
        >>> eager.arange(4.0)
        tensor([0., 1., 2., 3.])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, (float, np.floating)) for v in (start, end, step))
        dtype = dtypes.float32 if floats else dtypes.int64
    return Tensor(np.arange(start, end, step), dtype, requires_grad, name)


def _shape(shape: tuple, size) -> tuple:
    """The shape given as ints, as one tuple, or as the keyword `size`."""
    if size is not None:
        if shape:
            raise InvalidArgumentError("give the size either positionally or as size=, not both")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise InvalidArgumentError(f"a size must be non-negative ints, got {shape}")
    return tuple(int(d) for d in shape)


def ones(*shape, size=None, dtype=dtypes.float32, requires_grad: bool = False,
         name: str | None = None) -> Tensor:
    """A tensor of ones, e.g. `eager.ones(len(x))` or `eager.ones(2, 3)`."""
    return Tensor(np.ones(_shape(shape, size)), dtype, requires_grad, name)


def zeros(*shape, size=None, dtype=dtypes.float32, requires_grad: bool = False,
          name: str | None = None) -> Tensor:
    """A tensor of zeros, e.g. `eager.zeros(3)` or `eager.zeros((2, 3))`."""
    return Tensor(np.zeros(_shape(shape, size)), dtype, requires_grad, name)


def full(size, fill_value, dtype=None, requires_grad: bool = False,
         name: str | None = None) -> Tensor:
    """A new leaf of shape `size` holding `fill_value` everywhere (dtype as `tensor` picks it)."""
    return Tensor(np.full(_shape((size,), None), Tensor(fill_value, dtype).numpy()), dtype,
                  requires_grad, name)


def fill(shape, value) -> Tensor:
    """`sg.fill` for the eager style: a Python `value` is made a tensor first, so the result is
    eager (and, when `value` requires grad, recorded: its gradient is the sum of the cotangent)."""
    return create.fill(shape, value if isinstance(value, Tensor) else Tensor(value))


def randn(*shape, size=None, dtype=dtypes.float32, requires_grad: bool = False,
          name: str | None = None) -> Tensor:
    """Standard normal samples from the generator `manual_seed` seeds.

    Example:
        >>> from staticgraph import eager
        >>> _ = eager.manual_seed(0)
        >>> a = eager.randn(size=(), requires_grad=True)
        >>> a.shape, a.requires_grad
        ((), True)
    """
    return Tensor(_GENERATOR[0].standard_normal(_shape(shape, size)), dtype, requires_grad, name)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator `randn` draws from (returns it), as `torch.manual_seed`."""
    _GENERATOR[0] = np.random.default_rng(seed)
    return _GENERATOR[0]
