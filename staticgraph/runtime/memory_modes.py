"""compare_memory_modes: the same fetches compiled naive, planned and rematerialised, measured.

For each mode it reports the planned peak, the bytes the schedule computes (every value written,
recomputed ones again), the extra steps recomputation adds and the measured time per run, and
keeps each plan, whose `timeline` (live bytes after each step) `tools/memory_plot.py` draws.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from staticgraph.compiler import MemoryPlan, format_bytes
from staticgraph.graph import Graph
from staticgraph.runtime.executor import compile, default_store
from staticgraph.nest import flatten
from staticgraph.runtime.state import VariableStore


@dataclass(frozen=True)
class ModeFigures:
    """One memory mode's figures for one set of fetches and fed shapes."""
    label: str
    mode: str
    budget_bytes: int | None
    plan: MemoryPlan
    seconds_per_run: float

    @property
    def peak_bytes(self) -> int:
        return self.plan.peak_bytes

    @property
    def computed_bytes(self) -> int:
        """Bytes of every value the schedule computes (a recomputed value counts twice)."""
        return self.plan.naive_bytes

    @property
    def extra_steps(self) -> int:
        """Steps that compute a value again (recompute nodes)."""
        return len(self.plan.recompute_steps)


def compare_memory_modes(fetches, feed_dict: dict, budgets: Sequence[int | None] = (None,),
                         repeats: int = 5, graph: Graph | None = None,
                         store: VariableStore | None = None) -> list[ModeFigures]:
    """Compile `fetches` naive, planned and rematerialised; measure each on `feed_dict`.

    Args:
        fetches: what `sg.compile` takes.
        feed_dict: the fed values (their shapes fix the plans).
        budgets: one "remat" row per budget (None: checkpoints every ~sqrt(n) values).
        repeats: runs timed per mode, the modes taking turns (the median is reported), after
            one warm-up run each.
        graph: the graph of name fetches (default: as `sg.compile` finds it).
        store: the variables to read (default: the graph's own store); every mode runs on a
            private copy, so training steps leave the caller's variables as they were.
    Returns:
        Figures for "naive", "plan", then "remat" at each budget, in that order.
    Raises:
        InvalidArgumentError when a budget cannot be met (naming the smallest peak).
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> from staticgraph.runtime.memory_modes import compare_memory_modes
        >>> h = x = sg.placeholder(sg.float64, (1000,), name="x")
        >>> for i in range(16):
        ...     h = sg.tanh(h)
        >>> (dx,) = sg.gradients(sg.sum(h), [x])
        >>> figures = compare_memory_modes(dx, {x: np.ones(1000)}, repeats=1)
        >>> [(f.label, f.peak_bytes, f.extra_steps) for f in figures]
        [('naive', 504000, 0), ('plan', 136000, 0), ('remat', 56000, 13)]
    """
    leaves = flatten(fetches)
    graph = graph or next((f.graph for f in leaves if hasattr(f, "graph")), None)
    source = store if store is not None else default_store(graph) if graph is not None else None
    modes = [("naive", None), ("plan", None)] + [("remat", budget) for budget in budgets]
    executables = []
    for mode, budget in modes:
        private = VariableStore()
        private.values = dict(source.values) if source is not None else {}
        executables.append(compile(fetches, feeds=list(feed_dict), memory=mode,
                                   budget_bytes=budget, graph=graph, store=private,
                                   fuse=False))  # modes compared alike: "remat" does not fuse
    times = _interleaved_times([lambda e=e: e.run(feed_dict) for e in executables], repeats)
    return [ModeFigures(mode if budget is None else f"remat @ {format_bytes(budget)}", mode,
                        budget, exe.memory, seconds)
            for (mode, budget), exe, seconds in zip(modes, executables, times)]


def _interleaved_times(runs: list, repeats: int) -> list[float]:
    """Median seconds of each function, timed in turns (so load on the machine hits all alike),
    after one warm-up call each."""
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, spent in zip(runs, times):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) if t else float("nan") for t in times]


def parse_bytes(text: str) -> int:
    """A byte count as people write it: 1000000, 1KB (1000), 512KiB (1024 x 512), 12MB, 12MiB,
    1.5GB, 1.5GiB, 300B (ValueError if not)."""
    units = {"gib": 1 << 30, "mib": 1 << 20, "kib": 1 << 10, "gb": 10 ** 9, "mb": 10 ** 6,
             "kb": 10 ** 3, "b": 1, "": 1}
    text = text.strip().lower()
    number = text.rstrip("bikmg")
    if text[len(number):] not in units:
        raise ValueError(f"expected a byte count such as 12MiB, got {text!r}")
    return int(float(number) * units[text[len(number):]])


def sample_feeds(graph: Graph, shapes: dict, seed: int = 0) -> dict:
    """Values for fed nodes (name -> full shape): floats standard normal, other dtypes zero."""
    rng = np.random.default_rng(seed)
    values = {}
    for name, shape in shapes.items():
        dtype = graph.node(name)["dtype"]
        values[name] = rng.standard_normal(shape).astype(dtype) if dtype.kind == "f" \
            else np.zeros(shape, dtype)
    return values


def initialised_store(graph: Graph) -> VariableStore:
    """A new variable store holding every variable of `graph` at its initial value."""
    store = VariableStore()
    initializers = [v.initializer for v in graph.get_collection("variables")]
    if initializers:
        compile(initializers, graph=graph, store=store).run()
    return store


def format_table(figures: list[ModeFigures]) -> str:
    """The figures as a table, with each mode's peak and time against the "plan" mode's."""
    base = next((f for f in figures if f.mode == "plan"), figures[0])
    lines = [f"{'mode':<18} {'peak':>10} {'x plan':>7} {'computed':>10} {'extra steps':>12} "
             f"{'ms/run':>9} {'x plan':>7}"]
    for f in figures:
        lines.append(f"{f.label:<18} {format_bytes(f.peak_bytes):>10} "
                     f"{f.peak_bytes / base.peak_bytes:>6.2f}x "
                     f"{format_bytes(f.computed_bytes):>10} "
                     f"{f.extra_steps:>12} {f.seconds_per_run * 1e3:>9.2f} "
                     f"{f.seconds_per_run / base.seconds_per_run:>6.2f}x")
    return "\n".join(lines)
