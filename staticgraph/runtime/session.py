"""Session: runs fetches of a static graph on a feed_dict, holding the variables between runs.

The session does no optimising: for each (fetches, feeds) it asks the compiler once for an
Executable (which plans memory once per feed-shape signature) and runs it. A run whose fetches
and fed arrays look like an earlier successful run's takes a short path that skips re-checking.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping

import numpy as np

from staticgraph.errors import FailedPreconditionError, InvalidArgumentError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.nest import flatten, unflatten
from staticgraph.runtime.default_session import default_session
from staticgraph.runtime.executor import MAX_CACHED_VARIANTS, Executable, compile
from staticgraph.runtime.feeds import check_feed, feed_items, node_name
from staticgraph.runtime.state import VariableStore

DEBUG_MEMORY_ENV = "STATICGRAPH_DEBUG_MEMORY"
FAST_PATHS = 256  # short paths one session remembers
CONFIG_KEYS = ("optimize", "memory", "debug_memory", "check_numerics", "max_cached_variants")


class Session:
    """Runs a graph: `sess.run(fetches, feed_dict)` returns numpy values in the fetches' structure.

    Variables live in the session. A run that fails changes no variable. `config` may set the
    compile options "optimize" (default True), "memory" ("plan", "naive" or "remat"), "debug_memory"
    (default: on when the environment variable STATICGRAPH_DEBUG_MEMORY is 1),
    "check_numerics" (default False: when on, the first node to make a NaN or an Inf fails
    the run with a NumericsError naming it; see `sg.compile`) and "max_cached_variants"
    (default 32): for each set of fetches and feeds, the session keeps a memory plan, a
    program and its buffers per distinct tuple of fed shapes, at most this many; beyond it the
    least recently used is dropped, with its buffers (and made again if its shapes come back).
    Use is counted when a run checks its feeds; the short path that repeated runs with the same
    fetch and feed objects take does not count (it would cost every run).

    `target` "" runs in this process; a `dask.distributed.Client` or a scheduler address
    ("tcp://host:8786") makes runs with `split=` or dask.array feeds run on that Dask cluster
    (see `staticgraph.distributed`). TF1's argument order `Session(target, graph, config)` works.

    Threads may share a session and run at the same time. What each run is promised:
    - it reads every variable whole: as some run's commit (or in-place update) left it,
      never half-written;
    - runs that update the same variable take turns: such a run holds that variable's lock
      from before its first read to its commit, so read-modify-write updates (assign_add, an
      optimizer's step, `w.assign(w + 1)`) never lose another run's update: 8 threads each
      running `w.assign_add(1)` 50 times add exactly 400;
    - a run that fails changes no variable, whatever other threads do.
    Not promised: the order of concurrent runs, or one snapshot of several variables for a
    run that reads variables other runs are updating (it may see one updated and another not
    yet). Runs that only read take no lock.

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

    def __init__(self, graph: Graph | None = None, config: dict | None = None,
                 target="") -> None:
        if isinstance(graph, str) or type(graph).__name__ == "Client":
            graph, config, target = config, target or None, graph  # TF1's (target, graph, config)
        if graph is not None and not isinstance(graph, Graph):
            raise InvalidArgumentError(f"Session: graph must be an sg.Graph, got "
                                       f"{type(graph).__name__}")
        if config is not None and not isinstance(config, Mapping):
            raise InvalidArgumentError(f"Session: config must be a dict of options, got "
                                       f"{type(config).__name__}")
        self.graph = graph if graph is not None else get_default_graph()
        self.config = dict(config or {})
        unknown = sorted(set(self.config) - set(CONFIG_KEYS))
        if unknown:
            raise InvalidArgumentError(f"Session: unknown config option(s) {unknown}; the "
                                       f"options are {list(CONFIG_KEYS)}")
        self._options = {
            "optimize": bool(self.config.get("optimize", True)),
            "memory": self.config.get("memory", "plan"),
            "debug_memory": bool(self.config.get(
                "debug_memory", os.environ.get(DEBUG_MEMORY_ENV, "") not in ("", "0"))),
            "check_numerics": bool(self.config.get("check_numerics", False)),
            "max_cached_variants": self.config.get("max_cached_variants", MAX_CACHED_VARIANTS)}
        self._store = VariableStore()
        self._executables: dict[tuple, Executable] = {}
        self._fast: dict = {}  # short-path key -> the bound run of its variant
        self._kept: dict = {}  # short-path key -> the fetch leaves and feed keys whose ids it
        # holds, and its variant
        self._lock = threading.Lock()
        self._closed = False
        self._entered: list[contextlib.ExitStack] = []  # one per `with sess:` block open
        self._cluster = None
        if target:  # a Dask cluster: see staticgraph.distributed
            from staticgraph.distributed.cluster import Cluster
            self._cluster = Cluster(self, target)

    def run(self, fetches, feed_dict: dict | None = None, split: dict | None = None):
        """Compute `fetches` (a Tensor, op, node name, or nested list/tuple/dict of them).

        Ops that produce no value (group, no_op) give None. Raises InvalidArgumentError for a
        missing, misshapen or mistyped feed, NotFoundError for an unknown name, GraphError for a
        tensor of another graph, FailedPreconditionError for an uninitialised variable.
        `split` ({feed: axis}) shards those feeds across a cluster session's workers (see
        `staticgraph.distributed`); a session without a target runs the whole batch at once,
        which gives the same results.
        """
        if self._cluster is not None:
            return self._cluster.run(fetches, feed_dict, split)
        short = self._fast.get(_fast_key(fetches, feed_dict))
        if short is not None:
            return short(feed_dict.values() if feed_dict else ())
        return self._run_checked(fetches, feed_dict)

    def executable(self, fetches, feed_dict: dict | None = None) -> Executable:
        """The Executable this session runs for `fetches` with the keys of `feed_dict` fed."""
        fetch_names = tuple(node_name(self.graph, f, "fetch") for f in flatten(fetches))
        feed_names = tuple(node_name(self.graph, k, "feed key") for k, _ in feed_items(feed_dict))
        return self._executable(fetch_names, feed_names)

    def _run_checked(self, fetches, feed_dict):
        if self._closed:
            raise FailedPreconditionError("this session is closed; create a new sg.Session")
        items = feed_items(feed_dict)
        leaves = flatten(fetches)
        if not leaves:
            raise InvalidArgumentError("nothing to fetch: fetches is empty")
        fetch_names = tuple(node_name(self.graph, f, "fetch") for f in leaves)
        feeds, unchanged = {}, True
        for k, value in items:
            name = node_name(self.graph, k, "feed key")
            feeds[name] = check_feed(self.graph, name, value)
            unchanged = unchanged and feeds[name] is value
        exe = self._executable(fetch_names, tuple(feeds))
        values = [feeds[name] for name in exe.run_feeds]
        outputs = exe.run_noting_evictions(values, self._store, self._forget_evicted)
        if unchanged and len(feeds) == len(items):
            self._remember(fetches, feed_dict, exe, list(feeds), tuple(v.shape for v in values))
        return unflatten(fetches, outputs)

    def _forget_evicted(self) -> None:
        """Drop the short paths of variants their executable no longer keeps (which frees
        their programs and buffers)."""
        with self._lock:
            for key in [k for k, kept in self._kept.items() if kept[2].evicted]:
                self._fast.pop(key, None)
                self._kept.pop(key, None)

    def _remember(self, fetches, feed_dict: dict, exe: Executable, feed_names: list,
                  signature: tuple) -> None:
        """Keep a short path for runs like this one: same fetch and feed-key objects, and fed
        arrays of the same type, dtype and shape (which then pass the feed checks as they are)."""
        key = _fast_key(fetches, feed_dict)
        direct = fetches if type(fetches) in (list, tuple) else [fetches]
        if key is None or len(self._fast) >= FAST_PATHS \
                or not all(isinstance(f, (Tensor, str)) for f in direct):
            return
        variant = exe.variant(signature)
        run = variant.bind(_slots(exe, variant, feed_names), self._store, type(fetches))
        with self._lock:
            if not variant.evicted:
                self._kept[key] = (list(direct), list(feed_dict or ()), variant)
                self._fast[key] = run

    def _executable(self, fetch_names: tuple, feed_names: tuple) -> Executable:
        key = (fetch_names, frozenset(feed_names))
        exe = self._executables.get(key)
        if exe is None:
            with self._lock:
                exe = self._executables.get(key)
                if exe is None:
                    exe = compile(list(fetch_names), feeds=list(feed_names), graph=self.graph,
                                  store=self._store, **self._options)
                    self._executables[key] = exe
        return exe

    def variable_values(self) -> dict:
        """The variables' current values by name (read-only arrays; uninitialised ones absent)."""
        return self._store.read_only()

    def load_variable_values(self, values: dict) -> None:
        """Set several variables at once (used by `sg.train.Saver.restore`) to copies of
        `values`: the session's arrays are its own."""
        self._store.replace({name: np.array(value, copy=True) for name, value in values.items()})

    def close(self) -> None:
        """Release the variables; later runs fail."""
        if self._cluster is not None:
            self._cluster.close()
        self._closed = True
        self._fast.clear()
        self._kept.clear()
        self._store.clear()

    def as_default(self):
        """A context manager making this session the calling thread's default session (what
        `Tensor.eval()` and `op.run()` use); it does not close the session on exit.

        Example:
            >>> import staticgraph as sg
            >>> c = sg.constant(3.0) * 2.0
            >>> sess = sg.Session()
            >>> with sess.as_default():
            ...     float(c.eval())
            6.0
            >>> sess.close()
        """
        return default_session(self)

    def __enter__(self) -> "Session":
        scope = contextlib.ExitStack()
        scope.enter_context(self.graph.as_default())
        scope.enter_context(self.as_default())
        self._entered.append(scope)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._entered:
                self._entered.pop().close()
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"<sg.Session on {self.graph!r}{' (closed)' if self._closed else ''}>"


class InteractiveSession(Session):
    """A Session that makes itself the default session (and its graph the default graph) of
    the thread that creates it, until `close()`, as TF1's: for shells and notebooks, where
    `t.eval()` and `op.run()` then need no session.

    Example:
        >>> import staticgraph as sg
        >>> sess = sg.InteractiveSession()
        >>> a = sg.constant(5.0)
        >>> float((a * 6.0).eval())
        30.0
        >>> sess.close()
        >>> sg.get_default_session() is None
        True
    """

    def __init__(self, graph: Graph | None = None, config: dict | None = None) -> None:
        super().__init__(graph, config)
        self._installed = contextlib.ExitStack()
        self._installed.enter_context(self.graph.as_default())
        self._installed.enter_context(self.as_default())

    def close(self) -> None:
        """Release the variables and stop being the default session."""
        super().close()
        self._installed.close()


def _fast_key(fetches, feed_dict):
    """A key equal for runs with the same fetch and feed-key objects and fed arrays of the same
    type, dtype and shape. Objects count by id: a short path keeps them alive, so an id in its
    key cannot be reused by another object. None for feeds that are not arrays.
    """
    kind = type(fetches)
    if kind is list or kind is tuple:
        key = [kind]
        for fetch in fetches:
            key.append(id(fetch))
    else:
        key = [kind, id(fetches)]
    if feed_dict:
        try:
            for name, value in feed_dict.items():
                key += id(name), type(value), value.dtype, value.shape
        except AttributeError:
            return None
    return tuple(key)  # built as a list: appending costs less than growing a tuple


def _slots(exe: Executable, variant, feed_names: list) -> tuple:
    """The env slot of each fed value, in feed_dict order."""
    program = variant.program
    # Feeds the pruned graph does not use go to the spare slot, which no step reads.
    return tuple(program.feed_slots[exe.run_feeds.index(n)] if n in exe.run_feeds
                 else program.size for n in feed_names)
