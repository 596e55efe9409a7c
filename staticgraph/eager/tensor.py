"""The eager Tensor: a numpy value that remembers the recorded op that made it (define-by-run).

Every operator and op function applies the same `OpDef`s as the static style; the registry hands
eager inputs to `staticgraph.eager.apply`, which runs the kernel at once and records a tape node.

Dtypes follow PyTorch: Python floats become float32, Python ints int64, and numpy arrays keep their
dtype (so `tensor(np.arange(4.0))` is float64, `arange(4.0)` is float32). Values are read-only
numpy arrays: ops never change a value in place, so a recorded node's inputs stay valid; the
in-place methods (`zero_()`, `+=` ...) replace a tensor's value and bump its version instead.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager import backward as B
from staticgraph.eager import recorded
from staticgraph.eager.mode import is_grad_enabled
from staticgraph.eager.printing import format_tensor
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError
from staticgraph.ops.overloads import install_operators
from staticgraph.ops.registry import as_array
from staticgraph.sourceinfo import user_source


def as_value(data, dtype=None) -> np.ndarray:
    """`data` as a fresh read-only array of a supported dtype, with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        data = data._value
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        if np.asarray(data).dtype == np.float64:
            dtype = dtypes.float32  # Python floats: PyTorch's default float dtype
    value = np.array(as_array(data, dtype), copy=True)
    value.flags.writeable = False
    return value


class Tensor:
    """An eager tensor: holds a value now, and its history when it requires grad.

    Create one with `eager.tensor(data, requires_grad=False, dtype=None)` or a factory (`arange`,
    `ones`, `zeros`, `randn`). Operators (`+ - * / ** @`, comparisons, `[]`, `.T`, `.sum()`,
    `.norm()` ...) and every `staticgraph` op function work on it and run at once. When some
    input requires grad (and grad mode is on), the op is recorded, and `backward()` runs the
    recorded ops' vjps in reverse. Python `if`/`while` work on one-element tensors.

    Example:
        >>> from staticgraph import eager
        >>> x = eager.arange(4.0, requires_grad=True)
        >>> y = 2 * eager.dot(x, x)
        >>> y
        tensor(28., grad_fn=<MultiplyBackward>)
        >>> y.backward()
        >>> x.grad
        tensor([ 0.,  4.,  8., 12.])
    """

    __slots__ = ("_value", "_requires_grad", "_node", "_retains_grad", "_version", "_source",
                 "grad", "name", "__weakref__")
    style = "eager"
    # numpy defers `array * tensor` to Tensor.__rmul__ (so it is recorded) instead of converting.
    __array_ufunc__ = None

    def __init__(self, data, dtype=None, requires_grad: bool = False,
                 name: str | None = None) -> None:
        self._value = as_value(data, dtype)
        self._node = None
        self._retains_grad = False
        self._version = 0
        self._source = user_source()
        self._requires_grad = False
        self.grad = None
        self.name = name
        self.requires_grad_(requires_grad)

    @classmethod
    def wrap(cls, value: np.ndarray, source: str) -> "Tensor":
        """A tensor holding `value` (already a read-only array) as it is; internal to eager."""
        t = cls.__new__(cls)
        t._value, t._source = value, source
        t._node, t._retains_grad, t._version, t._requires_grad = None, False, 0, False
        t.grad = t.name = None
        return t

    # ----- what it is ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def requires_grad(self) -> bool:
        """True when gradients flow back to it (a leaf asked for them, or an op was recorded)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def is_leaf(self) -> bool:
        """True unless the tensor was produced by a recorded op (PyTorch's meaning)."""
        return self._node is None

    @property
    def grad_fn(self):
        """The tape `Node` that produced this tensor (`.name`, `.op`, `.inputs`), or None."""
        return self._node

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def version(self) -> int:
        """How many in-place updates this tensor has had."""
        return self._version

    # ----- values -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The value, a read-only numpy array (copy it to change it)."""
        return self._value

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._value.size != 1:
            raise InvalidArgumentError(f"only one-element tensors can be converted to Python "
                                       f"scalars; this one has shape {self.shape}")
        return self._value.item()

    def tolist(self):
        return self._value.tolist()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        value = self._value if dtype is None else self._value.astype(dtype)
        return value.copy() if copy else value

    def __bool__(self) -> bool:
        if self._value.size != 1:
            raise InvalidArgumentError(
                f"the truth value of a tensor with {self._value.size} elements is ambiguous; "
                "reduce it to one value first, e.g. `if t.sum() > 0:` or `if t.max() > 0:`")
        return bool(self._value.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """The sub-tensors along dim 0 (each a recorded `getitem`, so gradients flow)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if self.ndim == 0 and spec else repr(self)

    def __repr__(self) -> str:
        extras = []
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return format_tensor(self._value, extras)

    # ----- autograd -----------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Ask for (or stop asking for) this leaf's gradient; returns self.

        Raises:
            InvalidArgumentError: the dtype is not float, or the tensor is not a leaf.
        """
        requires_grad = bool(requires_grad)
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise InvalidArgumentError(f"only float tensors can require gradients, this one is "
                                       f"{self.dtype.name}; convert it with .astype(eager.float32)")
        if self._node is not None and not requires_grad:
            raise InvalidArgumentError(
                f"requires_grad can only be changed on leaf tensors; this one was computed by "
                f"{self._node.op.name} at {self._node.source}. Use .detach() instead")
        self._requires_grad = requires_grad
        return self

    def detach(self) -> "Tensor":
        """A new leaf with the same value and no history: gradients do not flow back through it."""
        return recorded.remember_cut(Tensor.wrap(self._value, user_source()), self)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor too when `backward` passes through it."""
        if not self._requires_grad:
            raise FailedPreconditionError("retain_grad() on a tensor that does not require grad")
        if self._node is not None:
            self._retains_grad = True

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the `.grad` of every leaf that requires grad.

        Args:
            gradient: the cotangent of self (same shape); may be omitted only for a
                one-element tensor (it is then 1), as in PyTorch.
            retain_graph: keep the recorded graph for another backward pass (defaults to
                `create_graph`); without it a second pass through the same nodes is an error.
            create_graph: record the backward computation too, so the gradients can be
                differentiated again (higher-order gradients).
        Raises:
            FailedPreconditionError: self does not require grad; a non-scalar without
                `gradient`; the graph was already freed; an input was changed in place.
        Example:
            >>> from staticgraph import eager
            >>> x = eager.arange(4.0, requires_grad=True)
            >>> (x * x).backward(eager.ones(4))
            >>> x.grad
            tensor([0., 2., 4., 6.])
        """
        B.backward([self], [gradient], retain_graph, create_graph)

    def recorded_graph(self):
        """The dynamic graph that produced this tensor, as an `sg.Graph` (see `recorded_graph`)."""
        return recorded.recorded_graph(self)

    # ----- in-place updates (values replaced, versions bumped) -----------------------------
    def _update_(self, other, combine) -> "Tensor":
        other_grad = isinstance(other, Tensor) and other.requires_grad
        if is_grad_enabled() and (self._requires_grad or other_grad):
            raise FailedPreconditionError(
                "in-place update of a tensor that requires grad (or by one that does) would not "
                "be recorded; write `y = y + ...`, or update under `with eager.no_grad():` "
                f"(as an optimizer step does) at {user_source()}")
        result = combine(self, other)
        if result.shape != self.shape:
            raise InvalidArgumentError(f"in-place result of shape {result.shape} does not fit "
                                       f"the tensor's shape {self.shape} at {user_source()}")
        self._value = as_value(result._value, self.dtype)
        self._version += 1
        return self

    def zero_(self) -> "Tensor":
        """Set every element to 0 in place (e.g. `x.grad.zero_()` between backward passes)."""
        return self._update_(None, lambda t, _: Tensor.wrap(np.zeros_like(t._value), t._source))

    def __iadd__(self, other):
        return self._update_(other, lambda t, o: t + o)

    def __isub__(self, other):
        return self._update_(other, lambda t, o: t - o)

    def __imul__(self, other):
        return self._update_(other, lambda t, o: t * o)

    def __itruediv__(self, other):
        return self._update_(other, lambda t, o: t / o)


install_operators(Tensor)
