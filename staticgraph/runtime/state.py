"""Variable storage of a session, and the staged view one run reads and writes through."""
from __future__ import annotations

import threading

import numpy as np

from staticgraph.errors import FailedPreconditionError


class VariableStore:
    """Variable values by node name; replaced whole, never changed in place (nothing outside
    the runtime gets them but as copies or read-only views)."""

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def commit(self, writes: dict[str, np.ndarray]) -> None:
        with self.lock:
            self.values.update(writes)

    def read_only(self) -> dict[str, np.ndarray]:
        """The values by name, as read-only views."""
        views = {var: np.asarray(value).view() for var, value in list(self.values.items())}
        for view in views.values():
            view.flags.writeable = False
        return views

    def clear(self) -> None:
        """Forget every value."""
        with self.lock:
            self.values.clear()


class RunState:
    """What one run sees: the store plus its own staged writes, applied only by `commit`."""

    __slots__ = ("store", "writes")

    def __init__(self, store: VariableStore) -> None:
        self.store = store
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

    def commit(self) -> None:
        self.store.commit(self.writes)
