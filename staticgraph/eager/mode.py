"""Grad mode for the eager tape: whether ops are recorded, and the role recorded nodes play.

Like PyTorch, recording is on by default; `no_grad()` turns it off inside a block (or a decorated
function), `enable_grad()` turns it back on. The state is per thread.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Callable, Iterator

_STATE = threading.local()


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are recorded for `backward`."""
    return getattr(_STATE, "enabled", True)


def recording_role() -> str:
    """The role nodes recorded now get: "forward", or "gradient" inside a create_graph backward."""
    return getattr(_STATE, "role", "forward")


@contextlib.contextmanager
def recording(enabled: bool, role: str = "forward") -> Iterator[None]:
    """Set grad mode and the role of recorded nodes inside the block (used by `backward`)."""
    saved = is_grad_enabled(), recording_role()
    _STATE.enabled, _STATE.role = enabled, role
    try:
        yield
    finally:
        _STATE.enabled, _STATE.role = saved


class set_grad_enabled:
    """Turn recording on or off inside a `with` block, or for every call of a decorated function.

    Example:
        >>> from staticgraph import eager
        >>> x = eager.tensor([1.0, 2.0], requires_grad=True)
        >>> with eager.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(is_grad_enabled())
        _STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _STATE.enabled = self._saved.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(self.mode):
                return fn(*args, **kwargs)
        return wrapper


def no_grad() -> set_grad_enabled:
    """A context manager (or decorator) inside which nothing is recorded, as `torch.no_grad()`."""
    return set_grad_enabled(False)


def enable_grad() -> set_grad_enabled:
    """A context manager (or decorator) that turns recording back on inside a `no_grad` block."""
    return set_grad_enabled(True)
