"""Grad mode for the eager tape: whether ops are recorded, and the role recorded nodes play.

As in PyTorch, recording is on by default and the state is per thread (a new thread starts with
it on). `no_grad` and `enable_grad` work as context managers and as decorators, with or without
parentheses; `set_grad_enabled(flag)` sets the mode at once when called, and restores the
previous mode at the end of a `with` block it opens.
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


def _set(enabled: bool) -> None:
    _STATE.enabled = bool(enabled)


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


class _GradMode:
    """A context manager and decorator that sets grad mode to `MODE` inside it."""

    MODE = True

    def __new__(cls, func: Callable | None = None):
        self = super().__new__(cls)
        self._saved = []
        return self if func is None else self(func)  # `@no_grad` without parentheses

    def __enter__(self) -> None:
        self._saved.append(is_grad_enabled())
        _set(self.MODE)

    def __exit__(self, *exc) -> None:
        _set(self._saved.pop())

    def __call__(self, func: Callable) -> Callable:
        mode = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradMode):
    """Nothing is recorded inside: results do not require grad (PyTorch's `torch.no_grad`).

    Example:
        >>> from staticgraph import eager
        >>> x = eager.tensor([1.0, 2.0], requires_grad=True)
        >>> with eager.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
        >>> @eager.no_grad
        ... def double(t):
        ...     return t * 2
        >>> double(x).requires_grad
        False
    """

    MODE = False


class enable_grad(_GradMode):
    """Recording is on inside, also within a `no_grad` block (PyTorch's `torch.enable_grad`)."""

    MODE = True


class inference_mode(no_grad):
    """PyTorch's `torch.inference_mode(mode=True)`: here the same as `no_grad` when mode is on."""

    def __new__(cls, mode=True):
        if callable(mode):
            return no_grad(mode)
        return super().__new__(cls) if mode else enable_grad()


class set_grad_enabled:
    """Set grad mode to `mode` now; as a `with` block or a decorator, only inside it.

    Example:
        >>> from staticgraph import eager
        >>> _ = eager.set_grad_enabled(False)
        >>> eager.is_grad_enabled()
        False
        >>> _ = eager.set_grad_enabled(True)
        >>> with eager.set_grad_enabled(False):
        ...     eager.is_grad_enabled()
        False
        >>> eager.is_grad_enabled()
        True
    """

    def __init__(self, mode: bool) -> None:
        self.previous = is_grad_enabled()
        self.mode = bool(mode)
        _set(self.mode)

    def __enter__(self) -> None:
        _set(self.mode)

    def __exit__(self, *exc) -> None:
        _set(self.previous)

    def __call__(self, func: Callable) -> Callable:
        _set(self.previous)  # decorating does not change the mode outside the function
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return set_grad_enabled(self.mode)
