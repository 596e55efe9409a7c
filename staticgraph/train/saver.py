"""Saver: variable checkpoints as `.npz` files (see `staticgraph.io.checkpoint`), restored all-or-nothing."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from staticgraph.errors import InvalidArgumentError, NotFoundError
from staticgraph.io.checkpoint import read_npz, write_npz
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
        """Write every variable's current value to `path` (.npz, no pickle); return the path."""
        path = str(path)
        values = {}
        for var in self._variables(session):
            value = session.variable_values().get(var.name)
            if value is None:
                raise InvalidArgumentError(f"Saver.save: variable {var.name!r} is not initialised")
            values[var.name] = np.asarray(value)
        write_npz(path, values)
        return path

    def restore(self, session, path) -> None:
        """Load every variable from `path`; names, shapes and dtypes must match, else nothing changes.

        Only the variables' entries are read, each checked (declared size, header, dtype, shape)
        before it is inflated; an entry in the other byte order is converted.

        Raises:
            NotFoundError for a variable the checkpoint lacks; InvalidArgumentError for a file
            that is not a checkpoint of these variables.
        """
        try:
            values = read_npz(str(path), {var.name: (var.shape, var.dtype)
                                          for var in self._variables(session)})
        except (InvalidArgumentError, NotFoundError) as exc:
            raise type(exc)(f"Saver.restore: {exc}") from None
        for value in values.values():
            value.flags.writeable = False
        session.load_variable_values(values)
