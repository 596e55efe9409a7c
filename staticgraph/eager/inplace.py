"""In-place updates of eager tensors, as PyTorch has them: `add_`, `mul_`, `zero_`, `x[i] = v` ...

An update writes into the tensor's storage (so views of it see the change) and bumps the version
counter it shares with its views. When grad mode is on and the tensor (or the value written)
requires grad, the update is also recorded: the op runs on a copy of the old value (which its vjp
may read), and its node becomes the tensor's new grad_fn. Earlier nodes keep their edges, and a
backward that needs a value overwritten since raises PyTorch's error. Updating a leaf that
requires grad outside `no_grad` is refused, as in PyTorch.

An update of a view (`c[1:] *= 2`, `c[0].add_(w)`) rewrites its base's history as PyTorch does:
the base's grad_fn becomes CopySlices (the update applied to the view's elements of the base's
old value; its next_functions are the base's old grad_fn and the update's other inputs), and every
view of an updated base gets a grad_fn reading its elements from the base (AsStridedBackward0),
so gradients through views used later reach the base's new history.
"""
from __future__ import annotations

import weakref

import numpy as np

from staticgraph.eager.composite import composite
from staticgraph.eager.mode import enable_grad, is_grad_enabled, no_grad
from staticgraph.eager.promotion import constant
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import FailedPreconditionError
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
        _update_view(t, compute, args)
        return t
    old = _snapshot(t)
    result = compute(old, *args)
    _write(t, result)
    node = result._node
    if node is not None:
        if name is not None:
            node.torch_name = name
        _rebase(t, node)
    return t


def _update_view(view: Tensor, compute, args: tuple) -> None:
    """An in-place update of a view, recorded as PyTorch records it: the base's history is
    rewritten (its new grad_fn, CopySlices, applies the update to the view's elements of the
    base's old value), and every view of the base is re-derived from the base's new history."""
    base = view._base
    if base._node is None and base._requires_grad:
        raise FailedPreconditionError("a view of a leaf Variable that requires grad is being used "
                                      f"in an in-place operation. (at {user_source()})")
    if not view._view_grad:
        raise FailedPreconditionError(
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You "
            "can clarify your code by moving both the view and the inplace either both inside the "
            "no_grad block (if you don't want the inplace to be tracked) or both outside (if you "
            f"want the inplace to be tracked). (at {user_source()})")
    key = positions(view)
    parts = []

    def rewrite(old_base, *a):
        part = compute(A.getitem(old_base, key), *a)
        _check(view, part._value)
        parts.append(part)
        return _copy_slices(old_base, key, view.shape, part)

    result = composite("CopySlices", rewrite, _snapshot(base), *args)
    part = parts[0]
    _write(view, part)
    if part._node is not None:
        # The update's result now lives in the view's storage, as in PyTorch: a later in-place
        # update of the view changes what the update's vjp saved, and the vjp refuses to read it.
        part._value, part._counter = view._value, view._counter
        part._node.rebind(part)
    if result._node is not None:
        _rebase(base, result._node)


def _snapshot(t: Tensor) -> Tensor:
    """A copy of t's value with t's history: what an in-place update of t reads."""
    old = Tensor.wrap(t._value.copy(), t._source)
    old._node, old._requires_grad = t._node, t._requires_grad
    return old


def _rebase(t: Tensor, node) -> None:
    """Make `node` the grad_fn of `t` (just updated in place) and re-derive t's views from it."""
    retained = t.retains_grad
    node.rebind(t)
    t._node, t._requires_grad = node, True
    if retained:
        node.retained = weakref.ref(t)
    for view in t._live_views():
        if view._view_grad:
            _rederive(view)


def _rederive(view: Tensor) -> None:
    """Give `view` a grad_fn reading its elements from its base's current history
    (AsStridedBackward0, as PyTorch names it), so gradients through it reach the base's."""
    retained = view.retains_grad
    with enable_grad():
        fresh = A.getitem(view._base, positions(view))
    node = fresh._node
    node.torch_name = "AsStridedBackward0"
    node.rebind(view)
    view._node, view._requires_grad = node, True
    if retained:  # retain_grad() carries over to the new grad_fn, as in PyTorch
        node.retained = weakref.ref(view)


def positions(view: Tensor) -> tuple:
    """Where the view's elements lie in its base: one integer index array per base dim, each of
    the view's shape (found from the two arrays' memory addresses and strides)."""
    base = view._base._value
    if base.ndim == 0:
        return (Ellipsis,)
    value = view._value
    start = value.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    base_at = _addresses(base, 0).ravel()
    view_at = _addresses(value, start)
    order = np.argsort(base_at, kind="stable")
    flat = order[np.searchsorted(base_at[order], view_at)]
    return np.unravel_index(flat, base.shape)


def _addresses(a: np.ndarray, start: int) -> np.ndarray:
    """The byte offset of each element of `a` from `start`."""
    at = np.full(a.shape, start, np.int64)
    for dim, stride in enumerate(a.strides):
        shape = [1] * a.ndim
        shape[dim] = a.shape[dim]
        at = at + np.arange(a.shape[dim], dtype=np.int64).reshape(shape) * stride
    return at


def _write(t: Tensor, result: Tensor) -> None:
    """Copy `result` into t's storage, as PyTorch's in-place ops do, and bump the version."""
    value = result._value if isinstance(result, Tensor) else np.asarray(result)
    _check(t, value)
    np.copyto(t._value, value, casting="unsafe")
    t._counter[0] += 1


def _check(t: Tensor, value: np.ndarray) -> None:
    """Refuse writing `value` into t as PyTorch does: another shape, float into integers, or a
    tensor whose elements share memory."""
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
    shape = np.shape(part)
    update(t, lambda old, v: composite(
        "CopySlices", lambda o, w: _copy_slices(o, key, shape, w), old, v), value)


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
