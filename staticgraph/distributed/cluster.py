"""The session's side of a run on a Dask cluster: shards out, results in, updates applied once.

A run with `split=` cuts each split feed into one shard per worker, has every worker compute
the plan's cut (`staticgraph.distributed.plan`) on its shard, puts the shards' values together
(`split.combine`) and then runs the rest of the step in the session itself, with those values
fed: the variable updates are applied there, once, and only after every shard has succeeded.
Variables live in the session; each reaches the cluster when its value has changed since it
was last sent, which a digest of its bytes tells. Runs with split feeds take turns (each step
computes its gradients from the variables the previous one left); runs with neither `split`
nor dask.array feeds run in the session's own process.
"""
from __future__ import annotations

import hashlib
import operator
import threading
import time

import numpy as np

from staticgraph.distributed.plan import Plan
from staticgraph.distributed.split import combine
from staticgraph.distributed.worker import hold, run_shard
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError, StaticGraphError
from staticgraph.nest import flatten
from staticgraph.runtime.feeds import check_feed, feed_items, node_name

INSTALL = 'pip install "staticgraph[dist]"'
RECOUNT_SECONDS = 5.0


def import_distributed():
    """The `distributed` module, or a clear error saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise FailedPreconditionError(
            f"Session(target=...) runs on a Dask cluster, which needs dask.distributed: "
            f"{INSTALL}") from None
    return distributed


def connect(target):
    """(client, owned): the Client `target` is, or a new one connected to the scheduler
    address `target` names (owned: the session closes it)."""
    distributed = import_distributed()
    if isinstance(target, distributed.Client):
        return target, False
    if isinstance(target, str):
        try:
            return distributed.Client(target, set_as_default=False), True
        except (OSError, TimeoutError) as exc:
            raise FailedPreconditionError(f"Session: cannot reach the Dask scheduler at "
                                          f"{target!r}: {exc}") from None
    raise InvalidArgumentError(f"Session: target must be '' (this process), a "
                               f"dask.distributed.Client or a scheduler address such as "
                               f"'tcp://host:8786', got {type(target).__name__}: {target!r}")


class Cluster:
    """A session's link to a Dask cluster (see the module docstring)."""

    def __init__(self, session, target) -> None:
        self.session = session
        self.client, self._owned = connect(target)
        self._plans: dict[tuple, Plan] = {}
        self._graphs: dict[str, object] = {}  # digest -> future of the graph JSON on all workers
        self._sent: dict[str, tuple] = {}  # variable -> (digest of its value, future)
        self._counted = (-np.inf, 1)  # (when, how many workers)
        self._closed = False
        self._lock = threading.Lock()

    def run(self, fetches, feed_dict, split):
        """`Session.run` on the cluster: with `split` or dask.array feeds, else in the session."""
        from staticgraph.distributed.chunked import is_dask_array, run_chunked
        if self._closed:
            raise FailedPreconditionError("this session is closed; create a new sg.Session")
        graph = self.session.graph
        items = feed_items(feed_dict)
        feeds = {node_name(graph, k, "feed key"): v for k, v in items}
        if any(is_dask_array(v) for v in feeds.values()):
            return run_chunked(self, fetches, feeds, split_axes(graph, split, feeds, chunked=True))
        if not split:
            return _run_here(self.session, fetches, feed_dict)
        with self._lock:  # one step at a time: each computes its gradients from the last's
            return self._run_split(fetches, feeds, split_axes(graph, split, feeds))

    def _run_split(self, fetches, feeds: dict, axes: dict):
        graph = self.session.graph
        feeds = {name: check_feed(graph, name, value) for name, value in feeds.items()}
        sizes = _shard_sizes(feeds, axes, self.workers())
        plan = self.plan(fetches, tuple(feeds), axes)
        if not plan.cut:
            return _run_here(self.session, fetches, feeds)
        bounds = np.cumsum([0] + sizes)
        shards = self.compute(plan, [[_take(feeds[n], axes[n], lo, hi) if n in axes else feeds[n]
                                      for n in plan.worker_feeds]
                                     for lo, hi in zip(bounds[:-1], bounds[1:])])
        total = int(bounds[-1])
        for i, name in enumerate(plan.cut):
            feeds[name] = combine(plan.parts[name], [s[i] for s in shards], sizes, total)
        return _run_here(self.session, fetches, feeds)

    def workers(self) -> int:
        """How many workers the cluster has (asked again every few seconds: workers come
        and go)."""
        now = time.monotonic()
        if now - self._counted[0] > RECOUNT_SECONDS:
            self._counted = (now, max(1, len(self.client.scheduler_info()["workers"])))
        return self._counted[1]

    def plan(self, fetches, feed_names: tuple, axes: dict) -> Plan:
        graph = self.session.graph
        fetch_names = tuple(node_name(graph, f, "fetch") for f in flatten(fetches))
        if not fetch_names:
            raise InvalidArgumentError("nothing to fetch: fetches is empty")
        key = (fetch_names, frozenset(feed_names), tuple(sorted(axes.items())))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = Plan(graph, fetch_names, feed_names, axes)
        return plan

    def graph_on_workers(self, plan: Plan):
        """A future of the plan's graph JSON on the cluster (sent once per plan)."""
        future = self._graphs.get(plan.digest)
        if future is None:
            future = self._graphs[plan.digest] = self.client.submit(hold, plan.graph_json,
                                                                     pure=False)
        return future

    def variables_on_workers(self, names: tuple) -> list:
        """[(names, future of a dict name -> value)] holding the current values of the
        variables `names` on the cluster. The values that changed since they were last sent
        go as one new dict (a task's result, so the session does not wait for it); the others
        stay in the dicts that brought them."""
        values = self.session.variable_values()
        changed = {}
        for name in names:
            value = values.get(name)
            if value is None:
                raise FailedPreconditionError(
                    f"variable {name!r} is read before it is initialised: run "
                    "sg.global_variables_initializer() (or its initializer) first")
            digest = _digest(value)
            if self._sent.get(name, (None,))[0] != digest:
                changed[name] = (digest, np.array(value, copy=True))
        if changed:
            bundle = self.client.submit(hold, {n: v for n, (_, v) in changed.items()},
                                        pure=False)
            for name, (digest, _) in changed.items():
                self._sent[name] = (digest, bundle)
        bundles: dict[int, tuple] = {}
        for name in names:
            future = self._sent[name][1]
            bundles.setdefault(id(future), ([], future))[0].append(name)
        return [(tuple(held), future) for held, future in bundles.values()]

    def compute(self, plan: Plan, shard_values: list) -> list:
        """Each shard's values of the plan's cut. A staticgraph error a shard raises comes as
        it is; any other failure (a worker lost, a connection closed) is tried once more with
        the graph and variables sent afresh, then raised as a clear error. Either way no
        variable has changed."""
        for attempt in (1, 2):
            futures = []
            try:
                graph, variables = self.graph_on_workers(plan), \
                    self.variables_on_workers(plan.variables)
                futures = [self.client.submit(run_shard, graph, plan.digest, plan.cut,
                                              plan.worker_feeds, dict(self.session._options),
                                              variables, values, pure=False)
                           for values in shard_values]
                return self.client.gather(futures)
            except StaticGraphError:
                raise
            except Exception as exc:  # KilledWorker, CommClosedError, CancelledError, ...
                self._graphs.clear()
                self._sent.clear()
                self._counted = (-np.inf, 1)
                if attempt == 2:
                    raise FailedPreconditionError(
                        f"a shard of this run failed twice on the Dask cluster "
                        f"({type(exc).__name__}: {exc}); no variable was changed") from exc
            finally:
                for future in futures:
                    future.release()

    def close(self) -> None:
        self._closed = True
        self._graphs.clear()
        self._sent.clear()
        if self._owned:
            self.client.close()


def _run_here(session, fetches, feed_dict):
    """The session's own run (its variables, its process)."""
    return session._run_checked(fetches, feed_dict)


def split_axes(graph, split, feeds: dict, chunked: bool = False) -> dict:
    """node name -> axis for `split` ({feed key: axis}), checked: each key is fed, each axis an
    int within its rank along which the placeholder's size is unknown (None). dask.array feeds
    not named are split along axis 0."""
    if split is not None and not hasattr(split, "items"):
        raise InvalidArgumentError(f"split must be a dict {{feed: axis}}, got "
                                   f"{type(split).__name__}: {split!r}")
    axes = {}
    for key, axis in (split or {}).items():
        name = node_name(graph, key, "split key")
        if name not in feeds:
            raise InvalidArgumentError(f"split names {name!r}, which this run does not feed")
        axes[name] = axis
    if chunked:
        from staticgraph.distributed.chunked import is_dask_array
        for name, value in feeds.items():
            if is_dask_array(value):
                axes.setdefault(name, 0)
    for name, axis in axes.items():
        node = graph.node(name)
        shape = node["shape"]
        rank = len(shape) if shape is not None else np.ndim(feeds[name])
        try:
            axis = operator.index(axis)
        except TypeError:
            raise InvalidArgumentError(f"split: the axis of {name!r} must be an int, got "
                                       f"{axis!r}") from None
        if not -rank <= axis < rank:
            raise InvalidArgumentError(f"split: axis {axis} is out of range for {name!r} of "
                                       f"rank {rank}")
        axis %= rank
        if shape is not None and shape[axis] is not None:
            raise InvalidArgumentError(
                f"split: {node['op']} {name!r} (created at {node['source']}) has the fixed size "
                f"{shape[axis]} along axis {axis}, so a shard of it cannot be fed; declare that "
                f"dim None to split it")
        axes[name] = axis
    return axes


def _shard_sizes(feeds: dict, axes: dict, workers: int) -> list:
    """How many examples each shard gets: the split feeds' common size, shared out as evenly
    as possible among at most `workers` shards (none empty)."""
    sizes = {name: np.shape(feeds[name])[axis] for name, axis in axes.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidArgumentError(f"split: the split feeds differ in size along their split "
                                   f"axes: {sizes}")
    total = next(iter(sizes.values()))
    if total == 0:
        raise InvalidArgumentError(f"split: the split feeds hold no examples: {sizes}")
    shards = min(workers, total)
    return [total // shards + (i < total % shards) for i in range(shards)]


def _take(value: np.ndarray, axis: int, lo: int, hi: int) -> np.ndarray:
    index = [slice(None)] * value.ndim
    index[axis] = slice(int(lo), int(hi))
    return np.ascontiguousarray(value[tuple(index)])


def _digest(value: np.ndarray) -> tuple:
    data = np.ascontiguousarray(value)
    return (data.dtype.str, data.shape,
            hashlib.blake2b(data.reshape(-1).view(np.uint8), digest_size=16).digest())
