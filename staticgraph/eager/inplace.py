"""In-place updates of eager tensors, as PyTorch has them: `add_`, `mul_`, `zero_`, `x[i] = v` ...

An update writes into the tensor's storage (so views of it see the change) and bumps the version
counter it shares with its views. When grad mode is on and the tensor (or the value written)
requires grad, the update is also recorded: the op runs on a copy of the old value (which its vjp
may read), and its node becomes the tensor's new grad_fn. Earlier nodes keep their edges, and a
backward that needs a value overwritten since raises PyTorch's error. Updating a leaf that
requires grad outside `no_grad` is refused, as in PyTorch.
"""
from __future__ import annotations

import weakref

import numpy as np

from staticgraph.eager.mode import is_grad_enabled, no_grad
from staticgraph.eager.promotion import constant
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError, UnimplementedError
from staticgraph.ops import array as A
from staticgraph.ops import math as M
from staticgraph.sourceinfo import user_source


def update(t: Tensor, compute, *args, name: str | None = None) -> Tensor:
    """Replace t's value by `compute(t, *args)` in place (recorded when gradients flow)."""
    grad_mode = is_grad_enabled()
    if grad_mode and t._node is None and t._requires_grad:
        raise FailedPreconditionError("a leaf Variable that requires grad is being used in an "
                                      f"in-place operation. (at {user_source()})")
    records = grad_mode and (t._requires_grad or any(
        isinstance(a, Tensor) and a._requires_grad for a in args))
    if not records:
        with no_grad():
            result = compute(t, *args)
        _write(t, result)
        return t
    if t._base is not None:
        raise UnimplementedError(
            "an in-place update that autograd must record, of a view of another tensor, is not "
            "supported: PyTorch would rewrite the base's history. Update the base itself (e.g. "
            f"`base[index] = value`) or clone() the view first (at {user_source()})")
    old = Tensor.wrap(t._value.copy(), t._source)
    old._node, old._requires_grad = t._node, t._requires_grad
    result = compute(old, *args)
    _write(t, result)
    node = result._node
    if node is not None:
        if name is not None:
            node.torch_name = name
        retained = t.retains_grad
        node.rebind(t)
        t._node, t._requires_grad = node, True
        if retained:
            node.retained = weakref.ref(t)
    return t


def _write(t: Tensor, result: Tensor) -> None:
    """Copy `result` into t's storage, as PyTorch's in-place ops do, and bump the version."""
    value = result._value if isinstance(result, Tensor) else np.asarray(result)
    if value.shape != t.shape:
        raise FailedPreconditionError(
            f"output with shape {list(t.shape)} doesn't match the broadcast shape "
            f"{list(value.shape)}")
    if value.dtype.kind == "f" and t.dtype.kind != "f":
        raise FailedPreconditionError(f"result type Float can't be cast to the desired output "
                                      f"type {t.dtype.name}")
    if not t._value.flags.writeable:
        raise FailedPreconditionError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location, or it is read-only. Please clone() the tensor before "
            "performing the operation.")
    np.copyto(t._value, value, casting="unsafe")
    t._counter[0] += 1


def index_key(key):
    """A PyTorch index as a numpy one: tensors in it become integer or boolean arrays."""
    if isinstance(key, tuple):
        return tuple(index_key(k) for k in key)
    if isinstance(key, Tensor):
        if key.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return key._value.item() if key.ndim == 0 and key.dtype.kind != "b" else key._value
    if isinstance(key, list) and any(isinstance(k, Tensor) for k in key):
        return np.array([index_key(k) for k in key])
    return key


def setitem(t: Tensor, key, value) -> None:
    """`t[key] = value`: differentiable in t's other elements and in `value` (CopySlices)."""
    key = index_key(key)
    try:
        part = t._value[key]
    except IndexError as exc:
        raise IndexError(f"{exc} (at {user_source()})") from None
    update(t, _copy_slices, key, np.shape(part), value, name="CopySlices")


def _copy_slices(t: Tensor, key, part_shape: tuple, value) -> Tensor:
    """t with `value` (broadcast to t[key]'s shape) in place of t[key], written with ops."""
    if not isinstance(value, Tensor):
        value = constant(value, t.dtype)
    elif value.dtype != t.dtype:
        value = M.cast(value, t.dtype)
    if not t._requires_grad and not value._requires_grad:
        out = t._value.copy()
        out[key] = value._value
        return constant(out)
    mask = np.zeros(t.shape, bool)
    mask[key] = True
    placed = A.getitem_grad(A.broadcast_to(value, part_shape), t, key=A.canonical_key(key))
    return M.where(constant(mask), placed, t)
