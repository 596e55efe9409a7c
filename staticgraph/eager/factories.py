"""Making eager tensors as PyTorch does: tensor, as_tensor, from_numpy, zeros, ones, full, eye,
arange, linspace, rand, randn, randint, normal, empty and the `*_like` forms.

Sizes may be given as ints, as one tuple, or as `size=` (`ones(2, 3)`, `ones((2, 3))`,
`randn(size=())`). Floats default to float32, integers to int64. Random tensors come from one
generator that `manual_seed` seeds (numpy's PCG64, so the numbers differ from PyTorch's).
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager.device import device_of
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import create

_GENERATOR = [np.random.default_rng()]


class Generator:
    """A random generator of its own (PyTorch's `torch.Generator`), seeded by `manual_seed`."""

    def __init__(self, device="cpu") -> None:
        self.rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> "Generator":
        self.rng = np.random.default_rng(seed)
        return self


def generator_of(generator) -> np.random.Generator:
    """The numpy generator to draw from: `generator`'s, or the global one."""
    return _GENERATOR[0] if generator is None else generator.rng


def _make(value, dtype, requires_grad: bool, name=None, device=None) -> Tensor:
    if device is not None:
        device_of(device)
    return Tensor(value, dtype, requires_grad, name)


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           name: str | None = None, pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data`.

    Args:
        data: a number, nested list, numpy array or tensor.
        dtype: e.g. `eager.float64`; by default Python floats become float32, Python ints
            int64, and numpy arrays keep their dtype (as in PyTorch).
        requires_grad: record ops on it so `backward` fills its `.grad` (float dtypes only).
        name: a label for the tensor's node in `recorded_graph` drawings.
    Example:
        >>> import numpy as np
        >>> from staticgraph import eager
        >>> eager.tensor([1.0, 2.0]), eager.tensor(np.arange(2.0)).dtype.name
        (tensor([1., 2.]), 'float64')
    """
    return _make(data, dtype, requires_grad, name, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory with a numpy array (or tensor) when no conversion is
    needed."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and data.dtype in dtypes.SUPPORTED and (
            dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype, device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing `ndarray`'s memory: changes to one are seen by the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.as_dtype(ndarray.dtype)
    from staticgraph.sourceinfo import user_source
    return Tensor.wrap(ndarray, user_source())


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False,
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
    return _make(np.arange(start, end, step), dtype, requires_grad, name, device)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included (float32 by default)."""
    return _make(np.linspace(start, end, steps), dtype or dtypes.float32, requires_grad, None,
                 device)


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


def _filled(value):
    def factory(*shape, size=None, dtype=None, device=None, requires_grad: bool = False,
                name: str | None = None) -> Tensor:
        return _make(np.full(_shape(shape, size), value), dtype or dtypes.float32,
                     requires_grad, name, device)
    return factory


ones = _filled(1.0)
ones.__doc__ = "A tensor of ones, e.g. `eager.ones(len(x))` or `eager.ones(2, 3)` (float32)."
zeros = _filled(0.0)
zeros.__doc__ = "A tensor of zeros, e.g. `eager.zeros(3)` or `eager.zeros((2, 3))` (float32)."
empty = _filled(0.0)
empty.__doc__ = "A tensor of the given size (its values are zeros here; PyTorch leaves them)."


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
         name: str | None = None) -> Tensor:
    """A new leaf of shape `size` holding `fill_value` everywhere (dtype as `tensor` picks it)."""
    value = Tensor(fill_value, dtype)
    return _make(np.full(_shape((size,), None), value._value), value.dtype, requires_grad, name,
                 device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (float32 by default)."""
    return _make(np.eye(n, m), dtype or dtypes.float32, requires_grad, None, device)


def fill(shape, value) -> Tensor:
    """`sg.fill` for the eager style: a Python `value` is made a tensor first, so the result is
    eager (and, when `value` requires grad, recorded: its gradient is the sum of the cotangent)."""
    return create.fill(shape, value if isinstance(value, Tensor) else Tensor(value))


def _like(make):
    def factory(input, *, dtype=None, device=None, requires_grad: bool = False, **kwargs):
        return make(*input.shape, dtype=dtype or input.dtype, device=device,
                    requires_grad=requires_grad, **kwargs)
    return factory


def rand(*shape, size=None, generator=None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1) (float32 by default)."""
    return _make(generator_of(generator).random(_shape(shape, size)), dtype or dtypes.float32,
                 requires_grad, None, device)


def randn(*shape, size=None, generator=None, dtype=None, device=None,
          requires_grad: bool = False, name: str | None = None) -> Tensor:
    """Standard normal samples from the generator `manual_seed` seeds.

    Example:
        >>> from staticgraph import eager
        >>> _ = eager.manual_seed(0)
        >>> a = eager.randn(size=(), requires_grad=True)
        >>> a.shape, a.requires_grad
        ((), True)
    """
    return _make(generator_of(generator).standard_normal(_shape(shape, size)),
                 dtype or dtypes.float32, requires_grad, name, device)


def randint(low, high=None, size=(), *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (`randint(high, size)` starts at 0); int64."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, size if high is None else high
    return _make(generator_of(generator).integers(low, high, _shape((size,), None)),
                 dtype or dtypes.int64, requires_grad, None, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples: `normal(0, 1, (n, 2))`, or one per element of tensor `mean` / `std`."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if size is None and not tensors:
        raise InvalidArgumentError("normal: give a size, or a tensor mean or std")
    m = mean._value if isinstance(mean, Tensor) else mean
    s = std._value if isinstance(std, Tensor) else std
    shape = np.broadcast_shapes(*(t.shape for t in tensors)) if size is None else \
        _shape((size,), None)
    dtype = dtype or (tensors[0].dtype if tensors else dtypes.float32)
    return _make(generator_of(generator).normal(m, s, shape), dtype, requires_grad, None, device)


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator the random factories draw from (returns it), as `torch.manual_seed`."""
    _GENERATOR[0] = np.random.default_rng(seed)
    return _GENERATOR[0]


def seed() -> int:
    """Seed the generator from the operating system; return the seed used."""
    value = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(value)
    return value
