"""The default session, per thread as in TensorFlow 1: what `Tensor.eval()` and `op.run()` use.

`with sess.as_default():`, `with sg.Session() as sess:` and `sg.InteractiveSession()` install a
session; `get_default_session()` returns the innermost one of the calling thread, or None.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from staticgraph import graph as G
from staticgraph.errors import InvalidArgumentError

_LOCAL = threading.local()


def session_stack() -> list:
    """The calling thread's stack of default sessions (innermost last)."""
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def get_default_session():
    """The default session of the calling thread, or None when none is installed.

    Example:
        >>> import staticgraph as sg
        >>> sg.get_default_session() is None
        True
        >>> with sg.Session() as sess:
        ...     sg.get_default_session() is sess
        True
    """
    stack = session_stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def default_session(session) -> Iterator:
    """Make `session` the calling thread's default session inside the `with` block."""
    stack = session_stack()
    stack.append(session)
    try:
        yield session
    finally:
        remove_last(stack, session)


def remove_last(stack: list, item) -> None:
    """Remove the innermost occurrence of `item` (it may not be on top: an InteractiveSession
    closed inside another session's block leaves that one in place, as in TF1)."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is item:
            del stack[i]
            return


_WORDS = {  # what each method does, and to what, in TF1's messages
    "eval": ("evaluate", "tensor", "eval()", "evaluate tensor"),
    "run": ("execute", "operation", "run()", "execute operation"),
}


def run_with_default_session(tensor, feed_dict, session, method: str):
    """`tensor.eval()` / `op.run()`: run `tensor` in `session`, else the default session."""
    verb, noun, call, task = _WORDS[method]
    if session is None:
        session = get_default_session()
        if session is None:
            raise InvalidArgumentError(
                f"Cannot {verb} {noun} using `{call}`: No default session is registered. Use "
                f"`with sess.as_default()` or pass an explicit session to "
                f"`{method}(session=sess)` (the {noun} is {tensor.name!r})")
        if session.graph is not tensor.graph:
            raise InvalidArgumentError(
                f"Cannot use the default session to {task}: the {noun}'s graph is different "
                f"from the session's graph. Pass an explicit session to "
                f"`{method}(session=sess)` (the {noun} is {tensor.name!r})")
    elif session.graph is not tensor.graph:
        raise InvalidArgumentError(
            f"Cannot use the given session to {task}: the {noun}'s graph is different from the "
            f"session's graph (the {noun} is {tensor.name!r})")
    return session.run(tensor, feed_dict)


G.set_session_runner(run_with_default_session)
