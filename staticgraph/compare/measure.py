"""Run a workload in both styles and measure: values, times, nodes per step, memory, graph size.

Static: the graph build is timed on its own; the first `Session.run` includes compiling (or
planning) the fetches; later runs are the steady state; the graph's node count before and after
the steady steps shows that running adds no nodes. Eager: there is no build, every step runs and
records anew, so the nodes per step are the tape nodes the step recorded. Peak memory is measured
with tracemalloc around one steady step in both styles, and for static also as the compiled
plan's peak buffer bytes when `sg.compile` exists. Every step's values and gradients must agree
between the styles.
"""
from __future__ import annotations

import gc
import time
import tracemalloc
from statistics import median
from typing import Callable, NamedTuple

import numpy as np

import staticgraph as sg
from staticgraph.compare.workload import EagerProgram, StaticProgram, Workload, as_numpy
from staticgraph.eager.recorded import recorded_graph
from staticgraph.eager.tape import history
from staticgraph.errors import StaticGraphError
from staticgraph.graph import Graph

RTOL, ATOL = 1e-7, 1e-10  # float64 results of the same kernels in a different order


class StylesDisagree(StaticGraphError, AssertionError):
    """The two styles computed different values for the same workload."""


class StyleRun(NamedTuple):
    """One style's measurements of one workload.

    Attributes:
        build_s: seconds to build the graph (None for eager: it has no build phase).
        step_s: seconds of each step, the first call first.
        values: each step's values, name -> array.
        final: the values read after the last step (e.g. trained weights).
        nodes_per_step: graph nodes added (static) or tape nodes recorded (eager), per steady step.
        graph_nodes: the static graph's size, or the size of the graph one eager step recorded.
        graphs: the graphs to draw (the static graph; the recorded graph of each eager root).
        traced_bytes: the peak bytes Python allocated during one steady step (tracemalloc).
        planned_bytes: static only, with `sg.compile`: the memory plan's peak buffer bytes.
    """
    build_s: float | None
    step_s: list
    values: list
    final: dict
    nodes_per_step: float
    graph_nodes: int
    graphs: list
    traced_bytes: int
    planned_bytes: int | None = None

    @property
    def first_s(self) -> float:
        return self.step_s[0]

    @property
    def steady_s(self) -> float:
        """The median time of the steps after the first."""
        return median(self.step_s[1:])


class Comparison(NamedTuple):
    """A workload run in both styles, with the largest differences between their results."""
    workload: Workload
    static: StyleRun
    eager: StyleRun
    value_diff: float
    gradient_diff: float
    agrees: bool


def break_even(static: StyleRun, eager: StyleRun) -> int | None:
    """The step count from which on the static style's total time (build included) stays at or
    below the eager style's; None when it is still behind after the last step."""
    behind = np.cumsum(static.step_s) + (static.build_s or 0.0) > np.cumsum(eager.step_s)
    if behind[-1]:
        return None
    return int(np.flatnonzero(behind)[-1]) + 2 if behind.any() else 1


def run_static(program_fn: Callable[[], StaticProgram], steps: int) -> StyleRun:
    """Build the explicit-style program (timed), then run `steps` steps in one Session."""
    gc.collect()  # start both styles from the same clean heap
    start = time.perf_counter()
    program = program_fn()
    build_s = time.perf_counter() - start
    graph = program.graph
    with sg.Session(graph) as sess:
        if program.init is not None:
            sess.run(program.init)
        values, times, before = [], [], len(graph)
        for i in range(steps):
            if i == 1:
                before = len(graph)
            start = time.perf_counter()
            out = sess.run(program.fetches, program.feeds(i))
            times.append(time.perf_counter() - start)
            values.append(as_numpy({k: v for k, v in out.items() if v is not None}))
        added = (len(graph) - before) / max(steps - 1, 1)
        final = as_numpy(sess.run(program.final)) if program.final else {}
        feed = program.feeds(steps)
        traced = _traced_peak(lambda: sess.run(program.fetches, feed))
    return StyleRun(build_s, times, values, final, added, len(graph), [graph], traced,
                    planned_peak(program))


def planned_peak(program: StaticProgram) -> int | None:
    """The peak bytes of the compiled plan of one step, or None without `sg.compile`."""
    if not hasattr(sg, "compile"):
        return None
    feed = program.feeds(0)
    plan = sg.compile(list(program.fetches.values()), feeds=list(feed)).memory
    return None if plan is None else int(plan.peak_bytes)


def run_eager(program_fn: Callable[[], EagerProgram], steps: int) -> StyleRun:
    """Run `steps` eager steps; count what each records; keep the first step's graphs."""
    gc.collect()
    program = program_fn()
    values, times, recorded, graphs = [], [], [], []
    for i in range(steps):
        start = time.perf_counter()
        step = program.step(i)
        times.append(time.perf_counter() - start)
        values.append(step.values)
        recorded.append(len(history(step.roots)))
        if i == 0:
            graphs = [recorded_graph(root) for root in step.roots]
    final = program.final()
    traced = _traced_peak(lambda: program.step(steps))
    return StyleRun(None, times, values, final, float(np.mean(recorded[1:] or recorded)),
                    sum(len(g) for g in graphs), graphs, traced)


def _traced_peak(run: Callable[[], object]) -> int:
    """The peak bytes Python allocated while `run` ran, above what was allocated before."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def compare(workload: Workload, quick: bool = False) -> Comparison:
    """Run `workload` in both styles and compare every step's values.

    Args:
        workload: the workload to run.
        quick: run its `quick_steps` instead of its `steps`.
    Returns:
        A Comparison; `.agrees` is False when some value differs beyond RTOL / ATOL (call
        `check_agreement` to turn that into an error).
    Raises:
        StylesDisagree: the styles gave different value names or shapes.
    Example:
        >>> from staticgraph.compare import WORKLOADS, compare
        >>> result = compare(WORKLOADS[0], quick=True)
        >>> result.agrees, result.static.nodes_per_step
        (True, 0.0)
    """
    steps = workload.step_count(quick)
    static, eager = run_static(workload.static, steps), run_eager(workload.eager, steps)
    value_diffs, gradient_diffs, agrees = [0.0], [0.0], True
    for s, e in list(zip(static.values, eager.values)) + [(static.final, eager.final)]:
        if s.keys() != e.keys():
            raise StylesDisagree(f"{workload.key}: the static style gave {sorted(s)}, the eager "
                                 f"style {sorted(e)}")
        for key in s:
            diff, close = _difference(workload.key, key, s[key], e[key])
            (gradient_diffs if key in workload.gradients else value_diffs).append(diff)
            agrees = agrees and close
    return Comparison(workload, static, eager, max(value_diffs), max(gradient_diffs), agrees)


def _difference(workload: str, key: str, a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
    if a.shape != b.shape:
        raise StylesDisagree(f"{workload}: {key} has shape {a.shape} in the static style and "
                             f"{b.shape} in the eager style")
    if a.size == 0:
        return 0.0, True
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return float(np.max(diff)), bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def check_agreement(comparisons: list[Comparison]) -> None:
    """Raise StylesDisagree naming every workload whose styles disagree."""
    bad = [f"{c.workload.key} (values {c.value_diff:.3g}, gradients {c.gradient_diff:.3g})"
           for c in comparisons if not c.agrees]
    if bad:
        raise StylesDisagree(f"the styles disagree beyond rtol={RTOL:g}, atol={ATOL:g} on: "
                             + ", ".join(bad))


def role_counts(graph: Graph) -> dict[str, int]:
    """How many nodes of each role a graph has."""
    counts: dict[str, int] = {}
    for _, role in graph.nx.nodes(data="role"):
        counts[role] = counts.get(role, 0) + 1
    return counts
