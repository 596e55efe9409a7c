"""How an op runs on eager tensors: convert, check the shape rule, run the kernel, record a node.

The registry calls `apply_eager` whenever an op's inputs are eager tensors; it is the eager twin of
`registry.apply_static`, with the same conversions and the same build-time errors.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.eager.mode import is_grad_enabled, recording_role
from staticgraph.eager.tape import Node
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import GraphError, InvalidArgumentError, StaticGraphError
from staticgraph.ops.registry import (OpDef, Spec, as_array, converted_dtype, dtype_hint,
                                      infer_spec)
from staticgraph.sourceinfo import user_source


def apply_eager(op: OpDef, inputs: list, attrs: dict) -> Tensor:
    """Run `op` on `inputs` now; record it on the tape when some input requires grad.

    Raises:
        ShapeError / InvalidArgumentError: as the static style would when building the node,
            naming the op, the shapes and the user's source line.
        GraphError: a stateful op (Variable, assign): those belong to static graphs.
    """
    source = user_source()
    if "stateful" in op.traits:
        raise GraphError(f"{op.name}: variables and assign ops exist only in static graphs; in "
                         f"the eager style update tensors under `with eager.no_grad():` "
                         f"(e.g. `w -= lr * w.grad`) at {source}")
    tensors = _as_tensors(op, inputs, source)
    spec = infer_spec(op, [Spec(t.shape, t.dtype) for t in tensors], attrs, source)
    value = _run_kernel(op, tensors, attrs, source)
    if value.shape != spec.shape or value.dtype != spec.dtype:
        raise GraphError(f"{op.name}: the kernel gave {value.shape} {value.dtype.name} where the "
                         f"shape rule says {spec.shape} {spec.dtype.name} (a bug in the op) "
                         f"at {source}")
    out = Tensor.wrap(value, source)
    if _records(op, tensors, spec):
        out._node = Node(op, tensors, attrs, out, source, recording_role())
        out._requires_grad = True
    return out


def _as_tensors(op: OpDef, inputs: list, source: str) -> list[Tensor]:
    """Python numbers and arrays become constant tensors of the tensor operands' dtype."""
    hint = dtype_hint(inputs)
    try:
        return [x if isinstance(x, Tensor) else _constant(x, hint, source) for x in inputs]
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{op.name}: {exc} at {source}") from None


def _constant(value, hint, source: str) -> Tensor:
    arr = np.array(as_array(value, converted_dtype(value, hint)), copy=True)
    arr.flags.writeable = False
    return Tensor.wrap(arr, source)


def _run_kernel(op: OpDef, tensors: list[Tensor], attrs: dict, source: str) -> np.ndarray:
    """The kernel's result as a read-only array; failures name the op, shapes and source line."""
    args = [t._value for t in tensors]
    try:
        result = op.kernel(*args, **attrs)
    except StaticGraphError as exc:
        raise type(exc)(f"{exc} at {source}") from None
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        shapes = ", ".join(str(a.shape) for a in args)
        raise InvalidArgumentError(f"{op.name} failed on inputs of shapes {shapes}: {exc} "
                                   f"at {source}") from None
    value = np.asarray(result)  # numpy returns scalars, not 0-d arrays, for 0-d inputs
    value.flags.writeable = False
    return value


def _records(op: OpDef, tensors: list[Tensor], spec: Spec) -> bool:
    """Record when grad mode is on, the op passes gradients, its output is float, and some
    input requires grad; otherwise the output is a leaf, as PyTorch's comparison results are."""
    return (is_grad_enabled() and op.differentiable and "stops_gradient" not in op.traits
            and dtypes.is_floating(spec.dtype) and any(t.requires_grad for t in tensors))
