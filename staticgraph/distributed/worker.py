"""What a Dask worker runs: a graph received as graph-file JSON, on one shard of the feeds.

Nothing here is pickled code: the task is this importable function, and its arguments are a
JSON string (read by the checked loader `staticgraph.io.graph_json.loads_graph`), names and
numpy arrays. A worker keeps the graphs it has loaded and their compiled programs, keyed by
the digest of their JSON, so a graph is parsed and compiled once per worker, not per step.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from staticgraph.distributed.split import rescale
from staticgraph.io.graph_json import loads_graph
from staticgraph.runtime.executor import compile
from staticgraph.runtime.state import VariableStore

KEPT_GRAPHS = 8  # graphs one worker process keeps loaded (least recently used dropped)
_loaded: OrderedDict = OrderedDict()  # digest -> (graph, {(fetches, feeds): Executable})
_lock = threading.Lock()


def hold(value):
    """`value` (a graph's JSON, a dict of variable values), kept on the cluster as a task's
    result: Dask makes it again from the task if the worker holding it is lost."""
    return value


def run_shard(graph_json: str, digest: str, fetches: tuple, feeds: tuple, options: dict,
              variables: list, values: list) -> list:
    """The values of `fetches` (node names) of the graph in `graph_json`, with `feeds` (names)
    fed `values` and the variables read from `variables`: (names, dict name -> array) pairs,
    each dict current for those names.

    The graph may hold no op that changes a variable (the session applies updates itself), so
    a shard that fails or runs twice changes nothing.
    """
    exe = _executable(graph_json, digest, tuple(fetches), tuple(feeds), options)
    store = VariableStore()  # this call's own: other tasks may run beside it with other values
    for names, bundle in variables:
        store.values.update((name, bundle[name]) for name in names)
    checked = exe.check_feeds(dict(zip(feeds, values)))
    return [np.asarray(v) for v in exe.run_checked(checked, store)]


def pick(values: list, index: int, factor: float) -> np.ndarray:
    """`values[index]` times `factor` (a shard's rescaling; see `split.combine`)."""
    return values[index] if factor == 1 else rescale(values[index], factor)


def _executable(graph_json: str, digest: str, fetches: tuple, feeds: tuple, options: dict):
    with _lock:
        entry = _loaded.pop(digest, None)
        if entry is None:
            entry = (loads_graph(graph_json, where="the graph sent to this worker"), {})
        _loaded[digest] = entry
        while len(_loaded) > KEPT_GRAPHS:
            _loaded.popitem(last=False)
        graph, programs = entry
        key = (fetches, feeds, tuple(sorted(options.items())))
        exe = programs.get(key)
        if exe is None:
            exe = programs[key] = compile(list(fetches), feeds=list(feeds), graph=graph,
                                          store=VariableStore(), **options)
    return exe
