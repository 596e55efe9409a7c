"""Reverse mode on the tape: `backward` (into the leaves' `.grad`) and `grad` (returned).

Both walk the recorded nodes in reverse topological order and call each op's own `vjp` with the
recorded eager tensors, exactly as the static gradient pass calls it with graph tensors. Without
`create_graph` the vjps run under no_grad; with it they are recorded too (role "gradient"), so the
gradients have a history and can be differentiated again.
"""
from __future__ import annotations

from typing import Sequence

from staticgraph.eager.mode import recording
from staticgraph.eager.tape import Node, history
from staticgraph.errors import FailedPreconditionError, GraphError, InvalidArgumentError
from staticgraph.ops import create
from staticgraph.sourceinfo import user_source


def backward(tensors: Sequence, grad_tensors: Sequence, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into the leaves' `.grad`.

    Leaves (and non-leaves marked with `retain_grad()`) that require grad and are reached get
    `.grad` set, or added to: gradients accumulate across calls, as in PyTorch.
    """
    roots = list(tensors)
    seeds = [_seed(t, g, i) for i, (t, g) in enumerate(zip(roots, grad_tensors))]
    totals = _propagate(roots, seeds, create_graph, keep=set(),
                        retain=create_graph if retain_graph is None else retain_graph)
    assigned: set[int] = set()
    for t, ct in totals.values():
        if t.is_leaf or t.retains_grad:
            _accumulate(t, ct, create_graph, assigned)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, returned; no `.grad` is touched.

    Args:
        outputs: a tensor or a sequence of tensors (their weighted sum is differentiated).
        inputs: a tensor or a sequence of tensors that require grad (leaves or not).
        grad_outputs: cotangents for `outputs`; may be omitted for one-element outputs.
        retain_graph: keep the recorded graph for another pass (defaults to `create_graph`).
        create_graph: record the gradient computation, for higher-order gradients.
        allow_unused: give None for an input the outputs do not depend on, instead of raising.
    Returns:
        A tuple with one tensor (or None) per input.
    Example:
        >>> from staticgraph import eager
        >>> x = eager.tensor(3.0, requires_grad=True)
        >>> (dx,) = eager.grad(x ** 3, x, create_graph=True)
        >>> (d2x,) = eager.grad(dx, x)
        >>> float(dx), float(d2x)
        (27.0, 18.0)
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise InvalidArgumentError(f"grad: {len(grad_outputs)} grad_outputs for "
                                   f"{len(outputs)} outputs")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise FailedPreconditionError(f"grad: input {i} does not require grad at "
                                          f"{user_source()}")
    seeds = [_seed(t, g, i) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    totals = _propagate(outputs, seeds, create_graph, keep={id(x) for x in inputs},
                        retain=create_graph if retain_graph is None else retain_graph)
    results = []
    for i, x in enumerate(inputs):
        found = totals.get(id(x))
        if found is None and not allow_unused:
            raise FailedPreconditionError(
                f"grad: input {i} was not used to compute the outputs (through differentiable "
                f"ops); pass allow_unused=True to get None for it, at {user_source()}")
        results.append(None if found is None else found[1] if create_graph else found[1].detach())
    return tuple(results)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _seed(t, gradient, index: int):
    """The starting cotangent of root `t`: `gradient` as a tensor of t's dtype, or 1."""
    if getattr(type(t), "style", None) != "eager":
        raise InvalidArgumentError(f"backward: expected an eager tensor, got {type(t).__name__}")
    if not t.requires_grad:
        raise FailedPreconditionError(
            f"element {index} of tensors does not require grad and does not have a grad_fn: "
            f"nothing recorded it (no input required grad, or it was computed under no_grad)")
    if gradient is None:
        if t._value.size != 1:
            raise FailedPreconditionError(
                f"grad can be implicitly created only for scalar outputs; this output has shape "
                f"{t.shape}: pass gradient= (e.g. ones of its shape, for the gradient of its sum) "
                f"or call .sum().backward() at {user_source()}")
        with recording(False):
            return create.ones_like(t)
    if getattr(type(gradient), "style", None) != "eager":
        gradient = type(t)(gradient, dtype=t.dtype)
    if gradient.shape != t.shape or gradient.dtype != t.dtype:
        raise InvalidArgumentError(
            f"Mismatch in shape or dtype: gradient is {gradient.shape} {gradient.dtype.name} but "
            f"output {index} is {t.shape} {t.dtype.name} at {user_source()}")
    return gradient


def _propagate(roots: list, seeds: list, create_graph: bool, keep: set[int], retain: bool) -> dict:
    """Run the vjps back from `roots`; return id -> (tensor, total cotangent) for every leaf
    reached, every retain_grad tensor and every tensor whose id is in `keep`."""
    nodes = history(roots)
    for node in nodes:
        _check_usable(node)
    pending: dict[int, tuple] = {}
    found: dict[int, tuple] = {}
    with recording(create_graph, "gradient"):
        for t, seed in zip(roots, seeds):
            _add(pending, t, seed)
        for node in reversed(nodes):
            entry = pending.pop(id(node.output), None)
            if entry is None:
                continue
            if node.output.retains_grad or id(node.output) in keep:
                found[id(node.output)] = entry
            cts = node.op.vjp(entry[1], *node.inputs, out=node.output, **node.attrs)
            for t, ct in zip(node.inputs, cts):
                if ct is not None and t.requires_grad:
                    _add(pending, t, _checked(node, t, ct))
    if not retain:
        for node in nodes:
            node.freed = True
    found.update(pending)  # what is left are the leaves
    return found


def _add(pending: dict, t, ct) -> None:
    """Sum the cotangents reaching `t` from its several consumers."""
    previous = pending.get(id(t))
    pending[id(t)] = (t, ct if previous is None else previous[1] + ct)


def _check_usable(node: Node) -> None:
    if node.freed:
        raise FailedPreconditionError(
            f"trying to backward through the graph a second time: the {node.op.name} recorded at "
            f"{node.source} was already used by a backward pass that freed the graph. Pass "
            f"retain_graph=True to the first backward() if you need to backward twice")
    now = tuple(t._version for t in node.inputs) + (node.output._version,)
    if now != node.versions:
        raise FailedPreconditionError(
            f"a value needed for the gradient of {node.op.name} (recorded at {node.source}) was "
            f"modified by an in-place operation after it was recorded")


def _checked(node: Node, t, ct):
    if ct.shape != t.shape or ct.dtype != t.dtype:
        raise GraphError(f"the vjp of {node.op.name} gave a cotangent of shape {ct.shape} "
                         f"{ct.dtype.name} for an input of shape {t.shape} {t.dtype.name}")
    return ct


def _accumulate(t, ct, create_graph: bool, assigned: set[int]) -> None:
    """Add `ct` to `t.grad`: in place normally, out of place (keeping history) with create_graph."""
    if create_graph:
        # The same cotangent tensor may reach several leaves; each .grad must be its own object.
        with recording(True, "gradient"):
            ct = create.identity(ct) if id(ct) in assigned else ct
            t.grad = ct if t.grad is None else t.grad + ct
        assigned.add(id(t.grad))
    elif t.grad is None:
        t.grad = ct.detach()
    elif t.grad.requires_grad:  # a .grad with history (from create_graph) is not changed in place
        with recording(False):
            t.grad = t.grad + ct
    else:
        with recording(False):
            t.grad._update_(ct, lambda a, b: a + b)
