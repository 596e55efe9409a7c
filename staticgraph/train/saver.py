"""Saver: variable checkpoints as `.npz` files (no pickle), written atomically, restored all-or-nothing."""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from staticgraph.errors import InvalidArgumentError, NotFoundError
from staticgraph.ops.shapes import fmt
from staticgraph.ops.state import Variable, global_variables


class Saver:
    """Saves and restores the values a session holds for some variables.

    Example:
        >>> import tempfile, os, staticgraph as sg
        >>> w = sg.Variable([1.0, 2.0], name="w")
        >>> saver = sg.train.Saver()
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> with sg.Session() as sess:
        ...     _ = sess.run(sg.global_variables_initializer())
        ...     _ = sess.run(w.assign([5.0, 6.0]))
        ...     _ = saver.save(sess, path)
        >>> with sg.Session() as sess:
        ...     saver.restore(sess, path)
        ...     sess.run(w).tolist()
        [5.0, 6.0]
    """

    def __init__(self, var_list: Sequence[Variable] | None = None) -> None:
        self._var_list = list(var_list) if var_list is not None else None

    def _variables(self, session) -> list[Variable]:
        return self._var_list if self._var_list is not None else global_variables(session.graph)

    def save(self, session, path) -> str:
        """Write every variable's current value to `path` (.npz); return the path."""
        path = str(path)
        values = {}
        for var in self._variables(session):
            value = session.variable_values().get(var.name)
            if value is None:
                raise InvalidArgumentError(f"Saver.save: variable {var.name!r} is not initialised")
            values[var.name] = np.asarray(value)
        directory = os.path.dirname(os.path.abspath(path))
        # Write beside the target, then rename over it, so a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **values)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def restore(self, session, path) -> None:
        """Load every variable from `path`; names, shapes and dtypes must match, else nothing changes."""
        try:
            with np.load(str(path), allow_pickle=False) as archive:
                stored = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise InvalidArgumentError(f"Saver.restore: cannot read checkpoint {path}: {exc}") from None
        values = {}
        for var in self._variables(session):
            if var.name not in stored:
                raise NotFoundError(f"Saver.restore: checkpoint {path} has no value for variable "
                                    f"{var.name!r} (it has {sorted(stored)})")
            value = stored[var.name]
            if value.dtype != var.dtype or len(value.shape) != len(var.shape) or any(
                    d is not None and d != s for d, s in zip(var.shape, value.shape)):
                raise InvalidArgumentError(
                    f"Saver.restore: variable {var.name!r} is {var.dtype.name}{fmt(var.shape)} but the "
                    f"checkpoint holds {value.dtype.name}{fmt(value.shape)}")
            value.flags.writeable = False
            values[var.name] = value
        session.load_variable_values(values)
