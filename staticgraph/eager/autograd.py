"""`eager.autograd`: PyTorch's `torch.autograd` functions, `backward` and `grad`, and grad modes.

    >>> from staticgraph import eager
    >>> x = eager.tensor(3.0, requires_grad=True)
    >>> (dx,) = eager.autograd.grad(x ** 3, x, create_graph=True)
    >>> (d2x,) = eager.autograd.grad(dx, x)
    >>> float(dx), float(d2x)
    (27.0, 18.0)
"""
from __future__ import annotations


from staticgraph.eager import names
from staticgraph.eager.backward import run_backward
from staticgraph.eager.function import Function, FunctionCtx, GradcheckError, gradcheck
from staticgraph.eager.mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                    recording, set_grad_enabled)
from staticgraph.eager.tape import AccumulateGrad, edge_of
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError
from staticgraph.ops import create
from staticgraph.ops import math as M

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "Function", "FunctionCtx", "gradcheck", "GradcheckError"]


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into leaves' `.grad`.

    Args:
        tensors: a tensor or a sequence of tensors to differentiate.
        grad_tensors: their cotangents (None for one-element tensors, where it is 1).
        retain_graph: keep saved values for another pass (defaults to `create_graph`).
        create_graph: record the backward computation, for higher-order gradients.
        inputs: accumulate only into these tensors' `.grad` (leaves or not).
    Raises:
        FailedPreconditionError (RuntimeError): as PyTorch: a tensor that does not require
            grad, a missing or mis-shaped gradient, freed or modified saved values.
    """
    if isinstance(tensors, Tensor):
        tensors, grad_tensors = [tensors], [grad_tensors]
    tensors = _as_list(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
    _check_count(grad_tensors, tensors, "grad_tensors")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = [_seed(t, g, i, create_graph) for i, (t, g) in enumerate(zip(tensors, grad_tensors))]
    roots = [edge_of(t) for t in tensors]
    targets = None
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise FailedPreconditionError("'inputs' argument to backward() cannot be empty.")
        targets = [_input_edge(t, i) for i, t in enumerate(inputs)]
    found = run_backward(roots, seeds, targets, create_graph, retain)
    for key, (node, ct) in found.items():
        t = node.variable if isinstance(node, AccumulateGrad) else node if isinstance(
            node, Tensor) else node.output
        if t is not None and (inputs is None or any(t is x for x in inputs)
                              or isinstance(key, tuple)):
            _accumulate(t, ct, create_graph, in_place=t.is_leaf)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, returned; no `.grad` is touched.

    Args:
        outputs: a tensor or a sequence of tensors (their weighted sum is differentiated).
        inputs: a tensor or a sequence of tensors that require grad (leaves or not).
        grad_outputs: cotangents for `outputs`; may be omitted for one-element outputs.
        retain_graph: keep saved values for another pass (defaults to `create_graph`).
        create_graph: record the gradient computation, for higher-order gradients.
        allow_unused: give None for an input the outputs do not depend on, instead of raising.
        materialize_grads: give zeros instead of None for unused inputs.
    Returns:
        A tuple with one tensor (or None) per input.
    Example:
        >>> from staticgraph import eager
        >>> x = eager.tensor([1.0, 2.0], requires_grad=True)
        >>> eager.autograd.grad((x * x).sum(), x)
        (tensor([2., 4.]),)
    """
    if is_grads_batched:
        raise InvalidArgumentError("grad: is_grads_batched is not supported; loop over the "
                                   "grad_outputs instead")
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    _check_count(grad_outputs, outputs, "grad_outputs")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    retain = create_graph if retain_graph is None else retain_graph
    targets = [_input_edge(x, i) for i, x in enumerate(inputs)]
    seeds = [_seed(t, g, i, create_graph) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    found = run_backward([edge_of(t) for t in outputs], seeds, targets, create_graph, retain)
    results = []
    for x, edge in zip(inputs, targets):
        entry = found.get(id(edge))
        if entry is None:
            if not allow_unused:
                raise FailedPreconditionError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
            results.append(create.zeros_like(x) if materialize_grads else None)
        else:
            results.append(entry[1] if create_graph else entry[1].detach())
    return tuple(results)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_count(grads: list, tensors: list, what: str) -> None:
    if len(grads) != len(tensors):
        raise FailedPreconditionError(f"{what} has {len(grads)} elements but there are "
                                      f"{len(tensors)} tensors to differentiate")


def _input_edge(x, index: int):
    if not isinstance(x, Tensor):
        raise TypeError(f"inputs must be eager tensors, got {type(x).__name__} at {index}")
    if not x.requires_grad:
        raise FailedPreconditionError("One of the differentiated Tensors does not require grad")
    return edge_of(x)


def _seed(t, gradient, index: int, create_graph: bool):
    """The starting cotangent of `t`: `gradient` cast to t's dtype, or 1 for one element."""
    if not isinstance(t, Tensor):
        raise TypeError(f"backward: expected an eager tensor, got {type(t).__name__}")
    if not t.requires_grad:
        raise FailedPreconditionError(f"element {index} of tensors does not require grad and "
                                      f"does not have a grad_fn")
    if gradient is None:
        if t._value.size != 1:
            raise FailedPreconditionError("grad can be implicitly created only for scalar outputs")
        with recording(False):
            return create.ones_like(t)
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=t.dtype)
    if gradient.shape != t.shape:
        raise FailedPreconditionError(
            f"Mismatch in shape: grad_output[{index}] has a shape of {names.size(gradient.shape)}"
            f" and output[{index}] has a shape of {names.size(t.shape)}.")
    if gradient.dtype != t.dtype:
        with recording(create_graph and gradient.requires_grad):
            gradient = M.cast(gradient, t.dtype)
    return gradient


def _accumulate(t: Tensor, ct: Tensor, create_graph: bool, in_place: bool = True) -> None:
    """Add `ct` to t.grad: a copy stored when None, else summed (in place for a leaf's grad
    without history; a retained non-leaf grad is replaced by the sum, as in PyTorch). A copy,
    since one cotangent may reach several tensors (`x + y`)."""
    if t.grad is None:
        with recording(create_graph):
            value = ct.clone()
        t.grad = value if create_graph else value.detach()
    elif create_graph or t.grad.requires_grad or not in_place:
        with recording(create_graph):
            t.grad = t.grad + ct
    else:
        t.grad._value += ct._value
        t.grad._counter[0] += 1
