"""Session: runs fetches of a static graph on a feed_dict, holding the variables between runs."""
from __future__ import annotations

import threading

import numpy as np

from staticgraph.errors import FailedPreconditionError, InvalidArgumentError
from staticgraph.graph import Graph, get_default_graph
from staticgraph.ops.registry import get_op
from staticgraph.runtime import fetches as F
from staticgraph.runtime.feeds import check_feed, node_name
from staticgraph.runtime.reference import build_steps, run_steps
from staticgraph.runtime.state import RunState, VariableStore


class Session:
    """Runs a graph: `sess.run(fetches, feed_dict)` returns numpy values in the fetches' structure.

    Variables live in the session. A run that fails changes no variable.

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, shape=(None,), name="x")
        ...     y = 2 * sg.dot(x, x)
        >>> with sg.Session(g) as sess:
        ...     float(sess.run(y, feed_dict={x: np.arange(4.0)}))
        28.0
    """

    def __init__(self, graph: Graph | None = None, config: dict | None = None) -> None:
        self.graph = graph or get_default_graph()
        self.config = dict(config or {})
        self._store = VariableStore()
        self._plans: dict = {}
        self._lock = threading.Lock()
        self._closed = False

    def run(self, fetches, feed_dict: dict | None = None):
        """Compute `fetches` (a Tensor, op, node name, or nested list/tuple/dict of them).

        Ops that produce no value (group, no_op) give None. Raises InvalidArgumentError for a
        missing, misshapen or mistyped feed, NotFoundError for an unknown name, GraphError for a
        tensor of another graph, FailedPreconditionError for an uninitialised variable.
        """
        if self._closed:
            raise FailedPreconditionError("this session is closed; create a new sg.Session")
        leaves = F.flatten(fetches)
        if not leaves:
            raise InvalidArgumentError("nothing to fetch: fetches is empty")
        fetch_names = tuple(node_name(self.graph, f, "fetch") for f in leaves)
        feeds = self._feeds(feed_dict or {})
        steps = self._plan(fetch_names, frozenset(feeds))
        state = RunState(self._store, self._variable_dtypes())
        values = run_steps(steps, dict(feeds), state)
        state.commit()
        return F.unflatten(fetches, [self._output(n, values[n]) for n in fetch_names])

    def _feeds(self, feed_dict: dict) -> dict:
        feeds = {}
        for key, value in feed_dict.items():
            name = node_name(self.graph, key, "feed key")
            feeds[name] = check_feed(self.graph, name, value)
        return feeds

    def _plan(self, fetch_names: tuple, fed: frozenset):
        key = (fetch_names, fed)
        steps = self._plans.get(key)
        if steps is None:
            steps = build_steps(self.graph, fetch_names, fed)
            with self._lock:
                self._plans[key] = steps
        return steps

    def _variable_dtypes(self) -> dict:
        return {v.name: v.dtype for v in self.graph.get_collection("variables")}

    def _output(self, name: str, value):
        if value is None or "no_output" in self._traits(name):
            return None
        if isinstance(value, np.ndarray):
            if not value.flags.writeable:
                value = value.copy()
            return value[()] if value.ndim == 0 else value
        return value

    def _traits(self, name: str) -> frozenset:
        return get_op(self.graph.node(name)["op"]).traits

    def variable_values(self) -> dict:
        """The variables' current values by name (read-only arrays; uninitialised ones absent)."""
        return dict(self._store.values)

    def load_variable_values(self, values: dict) -> None:
        """Set several variables at once (used by `sg.train.Saver.restore`)."""
        self._store.commit(dict(values))

    def close(self) -> None:
        """Release the variables; later runs fail."""
        self._closed = True
        self._store.values.clear()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sg.Session on {self.graph!r}{' (closed)' if self._closed else ''}>"
