"""How an op runs on eager tensors: promote dtypes, check the shape rule, run the kernel, record.

The registry calls `apply_eager` whenever an op's inputs are eager tensors; it is the eager twin of
`registry.apply_static`, with the same shape rules and errors. What PyTorch adds is done here:
dtypes are promoted as PyTorch promotes them, a view op's result shares its input's storage (and
version counter), and shape errors are also RuntimeErrors, as PyTorch's are.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager import names, saved
from staticgraph.eager.mode import is_grad_enabled, recording_role
from staticgraph.eager.promotion import promoted
from staticgraph.eager.tape import Node
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import GraphError, InvalidArgumentError, ShapeError, StaticGraphError
from staticgraph.ops.registry import OpDef, Spec, infer_spec
from staticgraph.sourceinfo import user_source


class EagerShapeError(ShapeError, RuntimeError):
    """A shape rule refused eager inputs: PyTorch raises these as RuntimeError."""


def apply_eager(op: OpDef, inputs: list, attrs: dict) -> Tensor:
    """Run `op` on `inputs` now; record it on the tape when some input requires grad.

    Raises:
        EagerShapeError / InvalidArgumentError: as the static style would when building the node,
            naming the op, the shapes and the user's source line.
        GraphError: a stateful op (Variable, assign): those belong to static graphs.
    """
    source = user_source()
    if "stateful" in op.traits:
        raise GraphError(f"{op.name}: variables and assign ops exist only in static graphs; in "
                         f"the eager style update tensors under `with eager.no_grad():` "
                         f"(e.g. `w -= lr * w.grad`) at {source}")
    try:
        tensors = promoted(op, inputs)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{op.name}: {exc} at {source}") from None
    try:
        spec = infer_spec(op, [Spec(t.shape, t.dtype) for t in tensors], attrs, source)
    except ShapeError as exc:
        raise EagerShapeError(str(exc)) from None
    stale = saved.stale_read(op.name, tensors)
    value = _run_kernel(op, tensors, attrs, source)
    if value.shape != spec.shape or value.dtype != spec.dtype:
        raise GraphError(f"{op.name}: the kernel gave {value.shape} {value.dtype.name} where the "
                         f"shape rule says {spec.shape} {spec.dtype.name} (a bug in the op) "
                         f"at {source}")
    out = _wrap(op, value, tensors, source)
    out._stale = stale
    if _records(op, tensors, spec):
        out._node = Node(op, tensors, attrs, out, source, recording_role())
        names.scalar_operands(out._node, [not isinstance(x, Tensor) for x in inputs])
        out._requires_grad = True
    return out


def _wrap(op: OpDef, value: np.ndarray, tensors: list[Tensor], source: str) -> Tensor:
    """The result as a tensor: a view of input 0 when a view op's kernel returned one (as
    PyTorch's view ops do), else a tensor with storage of its own."""
    if tensors and "view" in op.traits and np.may_share_memory(value, tensors[0]._value):
        return Tensor.wrap(value, source, view_of=tensors[0])
    if not value.flags.writeable or any(np.may_share_memory(value, t._value) for t in tensors):
        value = value.copy()
    return Tensor.wrap(value, source)


def _run_kernel(op: OpDef, tensors: list[Tensor], attrs: dict, source: str) -> np.ndarray:
    """The kernel's result as an array; failures name the op, shapes and source line."""
    args = [t._value for t in tensors]
    try:
        result = op.kernel(*args, **attrs)
    except StaticGraphError as exc:
        raise type(exc)(f"{exc} at {source}") from None
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        shapes = ", ".join(str(a.shape) for a in args)
        raise InvalidArgumentError(f"{op.name} failed on inputs of shapes {shapes}: {exc} "
                                   f"at {source}") from None
    return np.asarray(result)  # numpy returns scalars, not 0-d arrays, for 0-d inputs


def _records(op: OpDef, tensors: list[Tensor], spec: Spec) -> bool:
    """Record when grad mode is on, the op passes gradients, its output is float, and some
    input requires grad; otherwise the output is a leaf, as PyTorch's comparison results are."""
    return (is_grad_enabled() and op.differentiable and "stops_gradient" not in op.traits
            and dtypes.is_floating(spec.dtype) and any(t._requires_grad for t in tensors))
