"""The eager Tensor: a numpy array (its storage) plus the recorded op that made it (grad_fn).

Every operator and op function applies the same `OpDef`s as the static style; the registry hands
eager inputs to `staticgraph.eager.apply`, which runs the kernel at once and records a tape node.
PyTorch's method surface is added by `staticgraph.eager.methods`, in-place updates by
`staticgraph.eager.inplace`.

Dtypes follow PyTorch: Python floats become float32, Python ints int64, and numpy arrays keep their
dtype (so `tensor(np.arange(4.0))` is float64, `arange(4.0)` is float32). Views (basic slicing,
`view`, `reshape` of a contiguous tensor, `t()`, `detach()`, `.data`) share storage with their
base, so an in-place update through one is seen by the other; a view and its base share one
version counter, which every in-place update bumps and backward checks.
"""
from __future__ import annotations

import weakref

import numpy as np

from staticgraph import dtypes
from staticgraph.eager import names
from staticgraph.eager.mode import is_grad_enabled
from staticgraph.eager.printing import format_tensor
from staticgraph.errors import FailedPreconditionError
from staticgraph.ops.overloads import install_operators
from staticgraph.ops.registry import as_array
from staticgraph.sourceinfo import user_source


def as_value(data, dtype=None) -> np.ndarray:
    """`data` as a fresh array of a supported dtype, with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        data = data._value
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [as_value(v) for v in data]
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        if np.asarray(data).dtype == np.float64:
            dtype = dtypes.float32  # Python floats: PyTorch's default float dtype
    arr = np.asarray(data)
    if dtype is not None and arr.dtype.kind in "biuf" and np.dtype(dtype).kind in "biuf":
        arr = arr.astype(dtypes.as_dtype(dtype))  # PyTorch converts between kinds when asked
    return np.array(as_array(arr, dtype), copy=True)


def _live(refs: list | None) -> list:
    """The weak references in `refs` whose tensor is alive."""
    return [] if refs is None else [r for r in refs if r() is not None]


class Tensor:
    """An eager tensor: holds a value now, and its history when it requires grad.

    Create one with `eager.tensor(data, requires_grad=False, dtype=None)` or a factory (`arange`,
    `ones`, `zeros`, `randn` ...). Operators (`+ - * / ** @`, comparisons, `[]`), PyTorch's
    methods and every `staticgraph` op function work on it and run at once. When some input
    requires grad (and grad mode is on), the op is recorded, and `backward()` runs the recorded
    ops' vjps in reverse. Python `if`/`while` work on one-element tensors.

    Example:
        >>> from staticgraph import eager
        >>> x = eager.arange(4.0, requires_grad=True)
        >>> y = 2 * eager.dot(x, x)
        >>> y
        tensor(28., grad_fn=<MulBackward0>)
        >>> y.backward()
        >>> x.grad
        tensor([ 0.,  4.,  8., 12.])
    """

    __slots__ = ("_value", "_base", "_counter", "_requires_grad", "_node", "_source", "_grad",
                 "_accumulator", "_stale", "name", "_views", "_view_grad", "__weakref__")
    style = "eager"
    # numpy defers `array * tensor` to Tensor.__rmul__ (so it is recorded) instead of converting.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data=(), dtype=None, requires_grad: bool = False,
                 name: str | None = None) -> None:
        self._init(as_value(data, dtype), user_source(), None)
        self.name = name
        self.requires_grad_(requires_grad)

    def _init(self, value: np.ndarray, source: str, view_of) -> None:
        self._value, self._source = value, source
        self._base = None if view_of is None else (
            view_of if view_of._base is None else view_of._base)
        self._counter = [0] if view_of is None else view_of._counter
        self._node = self._grad = self._accumulator = self._stale = self._views = None
        self._requires_grad = False
        self.name = None
        # A view made while grad mode was on follows its base's history (see eager.inplace).
        self._view_grad = view_of is not None and is_grad_enabled()
        if view_of is not None:
            self._base._views = _live(self._base._views) + [weakref.ref(self)]

    @classmethod
    def wrap(cls, value: np.ndarray, source: str, view_of: "Tensor | None" = None) -> "Tensor":
        """A tensor holding `value` as it is (sharing storage and version counter with
        `view_of` when given); internal to eager."""
        t = cls.__new__(cls)
        t._init(value, source, view_of)
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
    def _version(self) -> int:
        return self._counter[0]

    @property
    def version(self) -> int:
        """How many in-place updates this tensor's storage has had (PyTorch's `_version`)."""
        return self._counter[0]

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
        """The tape node that produced this tensor (PyTorch's grad_fn: `.name()`,
        `.next_functions`), or None for a leaf."""
        return self._node

    @property
    def retains_grad(self) -> bool:
        return self._node is not None and self._node.retained is not None and \
            self._node.retained() is self

    @property
    def grad(self):
        """The gradient accumulated by backward (None before the first); settable to None or a
        tensor of this tensor's shape and dtype."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value.shape != self.shape:
                raise FailedPreconditionError("assigned grad has data of a different size")
            if value.dtype != self.dtype:
                raise FailedPreconditionError("assigned grad has data of a different type")
        self._grad = value

    @property
    def data(self) -> "Tensor":
        """The same storage as a tensor without history and with a version counter of its own:
        updates through it (`w.data -= lr * w.grad`) change this tensor and are not tracked."""
        return Tensor.wrap(self._value, self._source)

    @data.setter
    def data(self, other: "Tensor") -> None:
        self._value = other._value if isinstance(other, Tensor) else as_value(other, self.dtype)

    @property
    def _is_view(self) -> bool:
        return self._base is not None

    def _live_views(self) -> list:
        """The views of this tensor (one with storage of its own) that are still alive."""
        return [v for v in (r() for r in _live(self._views)) if v._base is self]

    # ----- values -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The value as a numpy array sharing this tensor's storage.

        Raises:
            FailedPreconditionError (a RuntimeError): the tensor requires grad, as in PyTorch.
        """
        if self._requires_grad:
            raise FailedPreconditionError("Can't call numpy() on Tensor that requires grad. Use "
                                          "tensor.detach().numpy() instead.")
        return self._value

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._value.size != 1:
            raise FailedPreconditionError(f"a Tensor with {self._value.size} elements cannot be "
                                          f"converted to Scalar")
        return self._value.item()

    def tolist(self):
        """The value as (nested) Python lists of numbers."""
        return self._value.tolist()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """`np.asarray(t)`: refused for a tensor that requires grad, as PyTorch's `numpy()`."""
        value = self.numpy()
        value = value if dtype is None else self._value.astype(dtype)
        return value.copy() if copy else value

    def __bool__(self) -> bool:
        if self._value.size != 1:
            raise FailedPreconditionError(
                f"Boolean value of Tensor with more than one value is ambiguous (this one has "
                f"{self._value.size}); reduce it first, e.g. `if t.sum() > 0:` or `.any()`")
        return bool(self._value.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self._value.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """The sub-tensors along dim 0 (each a recorded index, so gradients flow)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if self.ndim == 0 and spec else repr(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Jupyter shows the graph this tensor recorded, drawn (see staticgraph.io.dot.Drawing)."""
        from staticgraph.io.dot import inline  # io sits above eager; loaded only to display
        return inline(self, include, exclude)

    def __repr__(self) -> str:
        extras = []
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.torch_name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return format_tensor(self._value, extras)

    def type(self, dtype=None):
        """PyTorch's type name ("torch.FloatTensor"), or a copy converted to `dtype`."""
        return names.type_name(self.dtype) if dtype is None else self.to(dtype)

    # ----- autograd -----------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Ask for (or stop asking for) this leaf's gradient; returns self.

        Raises:
            FailedPreconditionError (RuntimeError): the dtype is not float, or turning it off on
                a tensor that is not a leaf.
        """
        requires_grad = bool(requires_grad)
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise FailedPreconditionError(
                f"only Tensors of floating point and complex dtype can require gradients (this "
                f"one is {self.dtype.name}; convert it with .float())")
        if self._node is not None and not requires_grad:
            raise FailedPreconditionError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        self._requires_grad = requires_grad
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's storage (and version counter), with no history:
        gradients do not flow back through it."""
        from staticgraph.eager import recorded
        t = Tensor.wrap(self._value, user_source())
        t._counter = self._counter
        return recorded.remember_cut(t, self)

    def detach_(self) -> "Tensor":
        """Make this tensor a leaf that does not require grad, in place; returns self."""
        if self._is_view and self._requires_grad:
            raise FailedPreconditionError("Can't detach views in-place. Use detach() instead.")
        self._node, self._requires_grad = None, False
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor too when `backward` passes through it."""
        if not self._requires_grad:
            raise FailedPreconditionError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is not None:
            self._node.retained = weakref.ref(self)

    def register_hook(self, hook):
        """Call `hook(grad)` with this tensor's gradient during backward; a tensor it returns
        replaces the gradient. Returns a handle whose `.remove()` takes the hook off.

        Example:
            >>> from staticgraph import eager
            >>> x = eager.tensor([1.0, 2.0], requires_grad=True)
            >>> _ = x.register_hook(lambda g: g * 10)
            >>> (x * x).sum().backward()
            >>> x.grad
            tensor([20., 40.])
        """
        if not self._requires_grad:
            raise FailedPreconditionError("cannot register a hook on a tensor that doesn't "
                                          "require gradient")
        from staticgraph.eager.tape import accumulator
        if self._node is not None:
            return self._node.register_hook(hook)
        node = accumulator(self)
        self._accumulator = lambda: node  # held strongly while a hook is on it
        return node.register_hook(hook)

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the `.grad` of every leaf that requires grad.

        Args:
            gradient: the cotangent of self (its shape; cast to its dtype); may be omitted only
                for a one-element tensor (it is then 1), as in PyTorch.
            retain_graph: keep the recorded graph's saved values for another backward pass
                (defaults to `create_graph`).
            create_graph: record the backward computation too, for higher-order gradients.
            inputs: accumulate only into these tensors' `.grad`.
        Raises:
            FailedPreconditionError (RuntimeError): self does not require grad; a non-scalar
                without `gradient`; a gradient of another shape; saved values freed or
                modified in place.
        Example:
            >>> from staticgraph import eager
            >>> x = eager.arange(4.0, requires_grad=True)
            >>> (x * x).backward(eager.ones(4))
            >>> x.grad
            tensor([0., 2., 4., 6.])
        """
        from staticgraph.eager import autograd
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def recorded_graph(self):
        """The dynamic graph that produced this tensor, as an `sg.Graph` (see `recorded_graph`)."""
        from staticgraph.eager import recorded
        return recorded.recorded_graph(self)


install_operators(Tensor)
