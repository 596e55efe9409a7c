"""`eager.autograd.Function`: PyTorch's custom autograd functions, and `gradcheck`.

A subclass defines `forward(ctx, *args)` and `backward(ctx, *grad_outputs)` as staticmethods
and is called as `MyFn.apply(*args)`. The forward runs without recording; its output gets one
node, named `MyFnBackward` as in PyTorch, whose vjp is the user's `backward` (recorded too under
`create_graph=True`, so it can be differentiated again).

    >>> from staticgraph import eager
    >>> class Cube(eager.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_output * 3 * x ** 2
    >>> x = eager.tensor(2.0, requires_grad=True)
    >>> y = Cube.apply(x)
    >>> y.grad_fn.name()
    'CubeBackward'
    >>> y.backward()
    >>> x.grad
    tensor(12.)
"""
from __future__ import annotations

import weakref

import numpy as np

from staticgraph.eager import names, saved
from staticgraph.eager.mode import is_grad_enabled, no_grad, recording_role
from staticgraph.eager.tape import Node, edge_of
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError, UnimplementedError
from staticgraph.ops import array as A
from staticgraph.sourceinfo import user_source


class FunctionCtx:
    """What `forward` leaves for `backward`: saved tensors, which inputs need a gradient.

    Attributes:
        needs_input_grad: one bool per argument of `forward`: does it require grad.
    """

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._versions: tuple = ()
        self._non_differentiable: list = []
        self._node = None

    def save_for_backward(self, *tensors) -> None:
        """Keep `tensors` for `backward` (checked there: not modified in place, not freed)."""
        self._saved = tensors
        self._versions = tuple(None if t is None else t._version for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to `save_for_backward`.

        Raises:
            FailedPreconditionError (RuntimeError): the graph was freed by an earlier backward,
                or a saved tensor was modified in place since, as in PyTorch.
        """
        node = None if self._node is None else self._node()
        if node is not None and node.freed and self._saved:
            raise FailedPreconditionError(saved.FREED)
        for t, version in zip(self._saved, self._versions):
            if t is not None and t._version != version:
                raise FailedPreconditionError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{names.type_name(t.dtype)} {list(t.shape)}] is at "
                    f"version {t._version}; expected version {version} instead.")
        return self._saved

    def mark_non_differentiable(self, *outputs) -> None:
        """These outputs get no gradient (they do not require grad, as integer results)."""
        self._non_differentiable.extend(outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch's API: gradients reaching `backward` are always tensors here."""


class Function:
    """Base class of custom autograd functions (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args):
        """Run `forward` on `args`; record one node whose vjp is `backward`."""
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            out = cls.forward(ctx, *args)
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return out
        outputs = out if isinstance(out, tuple) else (out,)
        marked = {id(t) for t in ctx._non_differentiable}
        fresh = tuple(_own(o, args) if isinstance(o, Tensor) else o for o in outputs)
        wanted = [o for o, orig in zip(fresh, outputs)
                  if isinstance(o, Tensor) and id(orig) not in marked and o.dtype.kind == "f"]
        if len(wanted) > 1:
            raise UnimplementedError(f"{cls.__name__}.apply: a custom Function with several "
                                     f"differentiable outputs is not supported; return one (mark "
                                     f"the others with ctx.mark_non_differentiable)")
        if wanted:
            node = FunctionNode(cls, ctx, args, wanted[0])
            ctx._node = weakref.ref(node)
            wanted[0]._node, wanted[0]._requires_grad = node, True
        return fresh if isinstance(out, tuple) else fresh[0]


def _own(t: Tensor, args: tuple) -> Tensor:
    """The output as a tensor of its own (an input returned as it is becomes a new tensor
    sharing its storage, so giving it a grad_fn does not change the input)."""
    if any(t is a for a in args):
        alias = Tensor.wrap(t._value, t._source)
        alias._counter = t._counter
        return alias
    return t


class FunctionNode(Node):
    """The grad_fn of a custom Function's output: its vjp calls the Function's `backward`."""

    __slots__ = ("function", "ctx", "arg_count", "positions")

    def __init__(self, function, ctx: FunctionCtx, args: tuple, output: Tensor) -> None:
        self.function, self.ctx, self.arg_count = function, ctx, len(args)
        self.positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.op, self.attrs = None, {}
        self.inputs = [args[i] for i in self.positions]
        self._output = weakref.ref(output)
        self.source, self.role = user_source(), recording_role()
        self.versions, self.freed = (), False
        self.edges = tuple(edge_of(t) for t in self.inputs)
        self.torch_name = f"{function.__name__}Backward"
        self.pre_hooks: list = []
        self.retained = self.shown = None

    def saved(self) -> list:
        return []  # ctx.saved_tensors checks what backward reads

    def vjp(self, ct, retain_graph: bool) -> list:
        grads = self.function.backward(self.ctx, ct)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) < self.arg_count or any(g is not None for g in grads[self.arg_count:]):
            raise FailedPreconditionError(
                f"function {self.torch_name} returned an incorrect number of gradients "
                f"(expected {self.arg_count}, got {len(grads)})")
        out = []
        for i, x in zip(self.positions, self.inputs):
            g = grads[i]
            if g is not None and not isinstance(g, Tensor):
                g = Tensor(g, dtype=x.dtype)
            if g is not None and g.shape != x.shape and _expands(x.shape, g.shape):
                g = A.reduce_to(g, x)  # PyTorch sums a broadcast gradient back to the input
            if g is not None and g.shape != x.shape:
                raise FailedPreconditionError(
                    f"Function {self.torch_name} returned an invalid gradient at index {i} - got "
                    f"{list(g.shape)} but expected shape compatible with {list(x.shape)}")
            out.append(g)
        return out


def _expands(shape: tuple, to: tuple) -> bool:
    """Can `shape` broadcast to `to`."""
    try:
        return np.broadcast_shapes(shape, to) == tuple(to)
    except ValueError:
        return False


class GradcheckError(RuntimeError):
    """A gradient check failed (PyTorch's `torch.autograd.gradcheck.GradcheckError`)."""


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check the gradients of `func` at `inputs` against central finite differences.

    Every output's Jacobian with respect to every input that requires grad, computed by
    backward one output element at a time, must be close (`atol + rtol * |numerical|`) to the
    one from differences of step `eps` (use float64 inputs, as PyTorch advises).

    Returns:
        True when they agree (False on a mismatch when `raise_exception` is False).
    Raises:
        GradcheckError (a RuntimeError): a mismatch, with both Jacobians, as in PyTorch.
    """
    inputs = inputs if isinstance(inputs, tuple) else tuple(inputs) if isinstance(
        inputs, list) else (inputs,)
    outputs = _as_tuple(func(*inputs))
    from staticgraph.eager.autograd import grad
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        numerical = _numerical(func, inputs, i, eps)
        for o, out in enumerate(outputs):
            if not (isinstance(out, Tensor) and out.requires_grad):
                continue
            analytical = np.zeros((x._value.size, out._value.size))
            for j in range(out._value.size):
                seed = np.zeros(out.shape, out.dtype)
                seed.flat[j] = 1
                (g,) = grad(out, x, Tensor(seed), retain_graph=True, allow_unused=True)
                if g is not None:
                    analytical[:, j] = g._value.ravel()
            if not np.allclose(analytical, numerical[o], rtol, atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {o} with respect to input "
                                     f"{i},\nnumerical:{numerical[o]}\nanalytical:{analytical}\n")
    return True


def _as_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else tuple(out) if isinstance(out, list) else (out,)


def _numerical(func, inputs: tuple, index: int, eps: float) -> list:
    """d(outputs)/d(inputs[index]) by central differences: one (in elements, out elements)
    matrix per output."""
    x = inputs[index]
    columns = []
    for k in range(x._value.size):
        values = []
        for step in (eps, -eps):
            moved = x._value.copy()
            moved.flat[k] += step
            args = list(inputs)
            args[index] = Tensor(moved, requires_grad=True)  # func may differentiate itself
            values.append([np.asarray(o._value, np.float64).ravel() if isinstance(o, Tensor)
                               else None for o in _as_tuple(func(*args))])
        columns.append([None if hi is None else (hi - lo) / (2 * eps)
                        for hi, lo in zip(*values)])
    return [None if columns[0][o] is None else np.stack([c[o] for c in columns])
            for o in range(len(columns[0]))] if columns else []
