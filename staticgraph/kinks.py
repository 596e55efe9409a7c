"""Kink conventions: which derivative relu, abs, max, maximum and minimum take where they have none.

At a kink (relu and |x| at 0, a tie of max/maximum/minimum) a function has no derivative, only a
set of subgradients (the notes: |x|'(0) may be anything in [-1, 1], relu'(0) anything in [0, 1]).
The vjp and jvp rules of those ops pick one member of that set, as a convention:

| name   | relu'(0) | abs'(0) | a tie of max / maximum / minimum                                |
|--------|----------|---------|-----------------------------------------------------------------|
| "zero" | 0        | 0       | shared equally: each of k tied elements gets 1/k (DESIGN §4)    |
| "half" | 1/2      | 0       | shared equally (the midpoint of every subdifferential)          |
| "left" | 0        | -1      | all to the first: the first input of maximum/minimum, the first |
|        |          |         | maximal element of max in row-major order (the one argmax picks) |

"zero" is the default. "half" takes the centre of each subdifferential. "left" takes the one-sided
derivative from the left, f'(0-), for relu and abs; a tie has no one-sided version, so "left"
breaks it towards the leftmost element. Every choice is a valid subgradient, and each jvp rule
is the transpose of its vjp rule under every convention.

The convention is read when the rules BUILD gradient nodes: `sg.gradients` and `sg.jvp` bake
its constants into the graph, so a graph keeps the convention it was differentiated under
(the cotangent nodes of these ops carry it as the node attribute `kink_convention`). In the eager
style the rules run during `backward()`, so the convention active then is the one used.

The convention is per thread, like PyTorch's grad mode: `set_kink_convention(name)` and
`with kink_convention(name):` change it for the calling thread only, so graphs built at the same
time by other threads keep theirs. A thread that never set one follows the process-wide default
("zero"), which `set_kink_convention(name, process_default=True)` changes.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from staticgraph.errors import InvalidArgumentError


@dataclass(frozen=True)
class KinkConvention:
    """The derivative values one convention takes at the kinks.

    Attributes:
        name: "zero", "half" or "left".
        relu_at_zero: relu'(0).
        abs_at_zero: |x|'(0).
        tie_to_first: True: a tie sends the whole cotangent to the first input (maximum,
            minimum) or the first maximal element (max); False: the tied elements share it.
        summary: the convention in one line.
    """
    name: str
    relu_at_zero: float
    abs_at_zero: float
    tie_to_first: bool
    summary: str

    @property
    def first_share(self) -> float:
        """The share of a tie's cotangent that goes to the first input of maximum/minimum."""
        return 1.0 if self.tie_to_first else 0.5


CONVENTIONS = {
    "zero": KinkConvention("zero", 0.0, 0.0, False,
                           "relu'(0) = 0, |x|'(0) = 0, ties share equally"),
    "half": KinkConvention("half", 0.5, 0.0, False,
                           "relu'(0) = 1/2, |x|'(0) = 0, ties share equally"),
    "left": KinkConvention("left", 0.0, -1.0, True,
                           "relu'(0) = 0, |x|'(0) = -1, a tie goes to the first input / "
                           "the first maximal element"),
}
DEFAULT = "zero"
_PROCESS_DEFAULT = [DEFAULT]  # what threads that never set a convention use
_THREAD = threading.local()  # .name: the calling thread's own convention, if it set one


def _checked(name: str) -> str:
    if not isinstance(name, str) or name not in CONVENTIONS:
        raise InvalidArgumentError(f"unknown kink convention {name!r}; choose one of "
                                   f"{', '.join(map(repr, CONVENTIONS))}")
    return name


def set_kink_convention(name: str, process_default: bool = False) -> str:
    """Make `name` the convention gradient rules use from now on, in the calling thread.

    Args:
        name: "zero" (the default), "half" or "left" (see `staticgraph.kinks`).
        process_default: instead, make `name` the process-wide default, which every thread
            that has not set a convention of its own uses (threads started later included).
    Returns:
        The name of the convention that was in effect before (for `process_default`, the
        previous default).
    Raises:
        InvalidArgumentError: an unknown name.
    Example:
        >>> import staticgraph as sg
        >>> sg.set_kink_convention("half")
        'zero'
        >>> sg.set_kink_convention("zero")
        'half'
    """
    _checked(name)
    if process_default:
        previous, _PROCESS_DEFAULT[0] = _PROCESS_DEFAULT[0], name
        return previous
    previous = get_kink_convention()
    _THREAD.name = name
    return previous


def get_kink_convention() -> str:
    """The name of the convention gradient rules use now in the calling thread: its own if it
    set one, else the process-wide default ("zero" unless changed)."""
    return getattr(_THREAD, "name", None) or _PROCESS_DEFAULT[0]


def active_convention() -> KinkConvention:
    """The `KinkConvention` gradient rules use now; the vjp/jvp rules of the kink ops read it."""
    return CONVENTIONS[get_kink_convention()]


@contextlib.contextmanager
def kink_convention(name: str) -> Iterator[KinkConvention]:
    """Use convention `name` inside the `with` block, in the calling thread only; after the
    block the thread uses what it used before (its own, or again the process-wide default).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> with sg.kink_convention("half"):
        ...     (dx,) = sg.gradients(sg.sum(sg.relu(x)), [x])
        >>> sg.Session().run(dx, {x: np.array([0.0, 3.0])}).tolist()
        [0.5, 1.0]
    """
    own = getattr(_THREAD, "name", None)
    _THREAD.name = _checked(name)
    try:
        yield CONVENTIONS[name]
    finally:
        _THREAD.name = own


# ----- finding inputs that sit on a kink ------------------------------------------------------
class KinkWarning(UserWarning):
    """An input of relu/abs/max/maximum/minimum is exactly on a kink, where finite differences
    and the symbolic (convention-chosen) derivative need not agree."""


def _on_zero(x, **_) -> int:
    return int(np.count_nonzero(np.asarray(x) == 0))


def _tied_pair(x, y, **_) -> int:
    return int(np.count_nonzero(np.equal(x, y)))


def _tied_maxima(x, *, axis, keepdims) -> int:
    x = np.asarray(x)
    if x.size == 0:
        return 0
    hits = np.sum(x == np.max(x, axis=axis, keepdims=True), axis=axis)
    return int(np.count_nonzero(hits > 1))


# op name -> (how many of its elements sit on a kink, given its input arrays and attrs; the kink)
KINK_TESTS: dict[str, tuple[Callable[..., int], str]] = {
    "relu": (_on_zero, "x == 0"),
    "abs": (_on_zero, "x == 0"),
    "maximum": (_tied_pair, "x == y"),
    "minimum": (_tied_pair, "x == y"),
    "max": (_tied_maxima, "tied maxima"),
}


def count_kinks(op: str, arrays: list, attrs: dict) -> int:
    """How many elements (or reductions, for max) of one application of `op` sit on a kink.

    Example:
        >>> import numpy as np
        >>> count_kinks("relu", [np.array([0.0, 1.0, 0.0])], {})
        2
    """
    test = KINK_TESTS.get(op)
    return 0 if test is None else test[0](*arrays, **attrs)


def warn_kink(node: str, op: str, source: str, hits: int, stacklevel: int = 2) -> None:
    """Warn (KinkWarning) that node `node` has `hits` inputs on a kink, naming the convention;
    `stacklevel` as for `warnings.warn` (2: the line calling this function)."""
    convention = active_convention()
    warnings.warn(
        f"node {node!r} ({op}, created at {source}) has {hits} input element(s) exactly on a kink "
        f"({KINK_TESTS[op][1]}): there {op} has no derivative; the symbolic gradient takes the "
        f"{convention.name!r} kink convention ({convention.summary}) while finite differences "
        f"average both sides, so they may disagree. Move the point off the kink, or see "
        f"sg.set_kink_convention", KinkWarning, stacklevel=stacklevel)
