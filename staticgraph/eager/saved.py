"""Checks on the values a backward pass reads: changed in place since recorded, or freed.

PyTorch raises only when a gradient really needs a value that is gone (saved tensors), so an
in-place update of a value no vjp reads is fine. Here a vjp is given every input and the output;
while it runs, each op it applies checks whether it reads one of them stale, and marks its result
stale if so (or if an input is). The engine raises only when a cotangent it needs is stale.
"""
from __future__ import annotations

import contextlib
import threading

from staticgraph.eager import names

_ACTIVE = threading.local()

# Inputs an op's kernel reads only for their shape (the `like` operand of the ops vjps use to
# undo broadcasting and reshaping): passing them is not a use of their value.
SHAPE_ONLY = {"reduce_to": (1,), "broadcast_like": (1,), "reshape_like": (1,),
              "getitem_grad": (1,), "gather_grad": (2,), "filled_like": (0,), "count": (0,),
              "concat_part": None}  # None: every input but the first

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")


@contextlib.contextmanager
def reading(node):
    """While `node`'s vjp runs, reads of its saved values are checked."""
    previous = getattr(_ACTIVE, "saved", None)
    _ACTIVE.saved = {id(t): (t, v, i) for i, (t, v) in enumerate(node.saved()) if t is not None}
    _ACTIVE.node = node
    try:
        yield
    finally:
        _ACTIVE.saved = previous


def stale_read(op_name: str, tensors: list) -> str | None:
    """Why the op about to run reads a value that is gone (None when it does not)."""
    saved = getattr(_ACTIVE, "saved", None)
    if saved is None:
        return None
    skip = SHAPE_ONLY.get(op_name, ())
    for i, t in enumerate(tensors):
        if t._stale is not None:
            return t._stale
        if (i > 0 if skip is None else i in skip) or id(t) not in saved:
            continue
        if _ACTIVE.node.freed:
            return FREED
        _, version, position = saved[id(t)]
        if t._version != version:
            return _modified(t, version, position)
    return None


def _modified(t, version: int, position: int) -> str:
    node = _ACTIVE.node
    which = f", which is output 0 of {node.torch_name}," if position == len(node.inputs) else (
        f", which is output 0 of {t._node.torch_name}," if t._node is not None else "")
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{names.type_name(t.dtype)} {list(t.shape)}]{which} is at "
            f"version {t._version}; expected version {version} instead. (The value was recorded "
            f"by {node.torch_name} at {node.source}.)")
