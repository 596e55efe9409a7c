"""Variable storage of a session, and the staged view one run reads and writes through."""
from __future__ import annotations

import sys
import threading

import numpy as np

from staticgraph.errors import FailedPreconditionError

# References to an array that only the caller of `sys.getrefcount` holds: its local name and
# the call's argument.
_SOLE_HOLDER = 2


class VariableStore:
    """Variable values by node name; replaced whole, never changed in place (nothing outside
    the runtime gets them but as copies or read-only views).

    Writes are double-buffered: the value a commit replaces becomes the variable's spare, and
    the variable's next write fills the spare instead of allocating, once nothing else (a run
    still reading it, a caller's reference, a view) holds it.
    """

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.spares: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def commit(self, writes: dict[str, np.ndarray]) -> None:
        with self.lock:
            for var, new in writes.items():
                old = self.values.get(var)
                self.values[var] = new
                if old is not None:
                    self.spares[var] = old

    def spare(self, var: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """A writeable array of `shape` and `dtype` for the next value of `var`: its spare when
        that fits and nothing else holds it, else a new one."""
        spare = self.spares.pop(var, None)  # one atomic dict operation: no lock needed
        # Never written into: a spare held elsewhere, one of another spec, or one that is a
        # view or read-only (an array a caller loaded, say).
        if spare is None or sys.getrefcount(spare) > _SOLE_HOLDER or spare.shape != shape \
                or spare.dtype != dtype or not spare.flags.owndata or not spare.flags.writeable:
            return np.empty(shape, dtype)
        return spare

    def read_only(self) -> dict[str, np.ndarray]:
        """The values by name, as read-only views."""
        views = {var: value.view() for var, value in list(self.values.items())}
        for view in views.values():
            view.flags.writeable = False
        return views

    def clear(self) -> None:
        """Forget every value."""
        with self.lock:
            self.values.clear()
            self.spares.clear()


class RunState:
    """What one run sees: the store plus its own staged writes, applied only by `commit`."""

    __slots__ = ("store", "dtypes", "writes")

    def __init__(self, store: VariableStore, dtypes: dict) -> None:
        self.store = store
        self.dtypes = dtypes
        self.writes: dict[str, np.ndarray] = {}

    def read(self, var: str) -> np.ndarray:
        value = self.writes.get(var)
        if value is None:
            value = self.store.values.get(var)
        if value is None:
            raise FailedPreconditionError(
                f"variable {var!r} is read before it is initialised: run "
                "sg.global_variables_initializer() (or its initializer) first")
        return value

    def write(self, var: str, value: np.ndarray) -> None:
        self.writes[var] = value

    def spare(self, var: str, shape: tuple) -> np.ndarray:
        """A writeable array for the next value of `var` (see `VariableStore.spare`)."""
        return self.store.spare(var, shape, self.dtypes[var])

    def commit(self) -> None:
        self.store.commit(self.writes)
