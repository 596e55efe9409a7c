"""Variable storage of a session, and the view one run reads and writes it through."""
from __future__ import annotations

import sys
import threading
import warnings

import numpy as np

from staticgraph.errors import FailedPreconditionError

_QUIET_ERRORS = ("ignore", "warn", "print")


def _references(values: dict, name: str) -> int:
    """The references to `values[name]`, as `sys.getrefcount` counts them from here."""
    return sys.getrefcount(values.get(name))


# What `_references` gives for an array only its dict holds (interpreters count differently).
_HELD_BY_THE_DICT_ONLY = _references({"probe": np.empty(0)}, "probe")


class VariableStore:
    """Variable values by node name. An array is changed in place only by a run's update when
    no one else holds it (see `RunState.update_in_place`); otherwise values are replaced whole,
    so arrays handed out as read-only views never change. `lock` guards both, briefly.

    Each variable also has an update lock (`locks`): a run that may update a variable holds it
    from before its first read to its commit, so two runs' read-modify-write updates of one
    variable never interleave (see `staticgraph.runtime.executor`). Update locks are taken in
    name order and before `lock`, so no two runs wait on each other in a cycle.
    """

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()
        self._update_locks: dict[str, threading.Lock] = {}

    def locks(self, names) -> tuple:
        """The update locks of the variables `names`, in name order."""
        with self.lock:
            return tuple(self._update_locks.setdefault(name, threading.Lock())
                         for name in sorted(set(names)))

    def commit(self, writes: dict[str, np.ndarray]) -> None:
        with self.lock:
            self.values.update(writes)

    def replace(self, writes: dict[str, np.ndarray]) -> None:
        """Commit `writes` from outside a run (a restore), in turn with runs updating them."""
        locks = self.locks(writes)
        for lock in locks:
            lock.acquire()
        try:
            self.commit(writes)
        finally:
            for lock in locks:
                lock.release()

    def read_only(self) -> dict[str, np.ndarray]:
        """The values by name, as read-only views (a held view keeps its array from being
        updated in place)."""
        with self.lock:
            views = {var: np.asarray(value).view() for var, value in self.values.items()}
        for view in views.values():
            view.flags.writeable = False
        return views

    def all_set(self, names: tuple) -> bool:
        """True when every variable in `names` has a value."""
        values = self.values
        return all(name in values for name in names)

    def clear(self) -> None:
        """Forget every value."""
        with self.lock:
            self.values.clear()


def errors_only_warn() -> bool:
    """True when no numpy floating-point error can raise: `np.geterr()` holds no "raise", "call"
    or "log", and no warnings filter turns a RuntimeWarning into an error."""
    return all(mode in _QUIET_ERRORS for mode in np.geterr().values()) and not any(
        f[0] == "error" and issubclass(RuntimeWarning, f[2]) for f in warnings.filters)


class RunState:
    """What one run sees: the store plus its own staged writes, applied only by `commit`.

    Args:
        store: the variables.
        touched: the variables a run that may update in place reads or updates (None for a run
            that never does). It updates in place only when all of them are set and numpy's
            floating-point errors only warn, so the run cannot fail after its first such update.
    """

    __slots__ = ("store", "writes", "in_place")

    def __init__(self, store: VariableStore, touched: tuple | None = None) -> None:
        self.store = store
        self.writes: dict[str, np.ndarray] = {}
        self.in_place = touched is not None and store.all_set(touched) and errors_only_warn()

    def read(self, var: str) -> np.ndarray:
        value = self.writes.get(var)
        if value is None:
            with self.store.lock:  # never an array while an update writes it
                value = self.store.values.get(var)
        if value is None:
            raise FailedPreconditionError(
                f"variable {var!r} is read before it is initialised: run "
                "sg.global_variables_initializer() (or its initializer) first")
        return value

    def write(self, var: str, value: np.ndarray) -> None:
        self.writes[var] = value

    def update_in_place(self, var: str, update, value) -> np.ndarray | None:
        """`update(array, value)` applied to the variable's stored array itself, which is
        returned; None (stage a new array instead) when this run may not update in place, has
        staged a value for `var` already, or someone else holds the array (a view handed out,
        another run reading it)."""
        if not self.in_place or var in self.writes:
            return None
        values = self.store.values
        with self.store.lock:
            if var not in values or _references(values, var) > _HELD_BY_THE_DICT_ONLY:
                return None
            array = values[var]
            if not array.flags.writeable:
                return None
            update(array, value)
        return array

    def commit(self) -> None:
        self.store.commit(self.writes)
