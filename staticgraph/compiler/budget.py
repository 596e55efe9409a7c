"""plan_within_budget: schedule and plan a compiled graph in one memory mode, within a budget.

"plan" and "naive" schedule the graph (see `schedule`) and plan its memory (see `plan_memory`);
a plan needing more bytes than the budget is refused. "remat" also chooses the values to
recompute (see `rematerialize`). Without a budget it keeps a checkpoint every ~sqrt(n) stored
values (even or shrinking segments, whichever plans the lower peak), unless that does not lower
the peak. With one it plans a range of choices (segments of
growing size, even or shrinking along the forward pass, and keeping everything) and takes the
one computing the fewest bytes more whose planned peak fits; when none fits, the error gives the
smallest peak it reached. The chosen plan also records the peak of the build order, so that a
report shows what scheduling saved.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from staticgraph.compiler.memory import (MODES, REMAT, MemoryPlan, RematSummary,
                                         format_bytes, plan_memory)
from staticgraph.compiler.passes import PassRecord
from staticgraph.compiler.remat import (nested_checkpoints, rematerialize, segment_checkpoints,
                                        sqrt_checkpoints, stash)
from staticgraph.compiler.schedule import build_order, schedule
from staticgraph.compiler.verify import verify
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph

SEGMENT_GROWTH = 1.25  # each segment size tried is this much larger than the one before


class Planned(NamedTuple):
    """A graph ready to lower: the graph (with recompute nodes in "remat"), its schedule, its
    memory plan, and a record of the rematerialisation pass when one ran."""
    graph: Graph
    schedule: list
    plan: MemoryPlan
    passes: list


class _Choice(NamedTuple):
    keep: frozenset | dict  # checkpoints, or checkpoint levels (see nested_checkpoints)
    graph: Graph
    schedule: list
    plan: MemoryPlan


def plan_within_budget(graph: Graph, mode: str = "plan", budget_bytes: int | None = None,
                       check: bool = False) -> Planned:
    """Schedule and plan `graph` in `mode`, keeping the planned peak within `budget_bytes`.

    Args:
        graph: a compiled (pruned, optimised, ideally specialised) graph.
        mode: "plan", "naive" or "remat" (recompute values rather than keep them).
        budget_bytes: the most bytes the plan may need (None: no limit).
        check: `verify` the rematerialised graph.
    Returns:
        A `Planned` (graph, schedule, plan, passes).
    Raises:
        InvalidArgumentError for an unknown mode, a budget that is not an int >= 0, or a
        budget the plan cannot meet (in "remat",
        naming the smallest peak reached).
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import PassManager, prune
        >>> from staticgraph.compiler.budget import plan_within_budget
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     h = x = sg.placeholder(sg.float64, (1000,), name="x")
        ...     for i in range(16):
        ...         h = sg.sin(h, name=f"h{i}")
        ...     (dx,) = sg.gradients(sg.sum(h), [x])
        >>> compiled, _ = PassManager().run(prune(g, [dx.name], ["x"]))
        >>> plain = plan_within_budget(compiled).plan
        >>> remat = plan_within_budget(compiled, "remat", budget_bytes=60_000).plan
        >>> plain.peak_bytes, remat.peak_bytes, len(remat.remat.recomputed)
        (128000, 56000, 12)
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise InvalidArgumentError(f"memory must be one of {', '.join(map(repr, MODES))}, "
                                   f"got {mode!r}")
    check_budget(budget_bytes)
    if mode != REMAT:
        choice = _plan(graph, frozenset(), mode)
        if budget_bytes is not None and choice.plan.peak_bytes > budget_bytes:
            raise InvalidArgumentError(
                f"the memory plan needs {format_bytes(choice.plan.peak_bytes)} "
                f"({choice.plan.peak_bytes} bytes), more than budget_bytes={budget_bytes}; "
                "memory='remat' recomputes values to need less")
        return _planned(choice, mode, ())
    return _rematerialized(graph, budget_bytes, check)


def check_budget(budget_bytes) -> None:
    """Refuse a budget that is not None or a whole number of bytes >= 0 (naming it)."""
    if budget_bytes is None:
        return
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, (int, np.integer)) \
            or budget_bytes < 0:
        raise InvalidArgumentError(f"budget_bytes must be None or an int >= 0 (bytes), got "
                                   f"{budget_bytes!r}")


def _plan(graph: Graph, keep: frozenset, mode: str) -> _Choice:
    order = schedule(graph)
    return _Choice(keep, graph, order, plan_memory(graph, order, mode))


def _planned(choice: _Choice, mode: str, passes: tuple, remat=None) -> Planned:
    """The choice made: its plan with the build order's peak (and the remat summary) added."""
    order = build_order(choice.graph)
    before = choice.plan.peak_bytes if order == choice.schedule \
        else plan_memory(choice.graph, order, mode).peak_bytes
    plan = dataclasses.replace(choice.plan, build_order_peak_bytes=before, remat=remat)
    return Planned(choice.graph, choice.schedule, plan, list(passes))


def _rematerialized(graph: Graph, budget: int | None, check: bool) -> Planned:
    plain = _plan(graph, frozenset(), REMAT)
    options = [sqrt_checkpoints(graph, shrink) for shrink in (False, True)] if budget is None \
        else checkpoint_choices(graph)
    tried = [plain]
    for keep in options:
        new = rematerialize(graph, keep)
        if check:
            verify(new)
        tried.append(_plan(new, keep, REMAT))
    def extra(choice: _Choice) -> int:  # bytes computed beyond the plain plan's
        return choice.plan.naive_bytes - plain.plan.naive_bytes
    if budget is None:
        chosen = min(tried, key=lambda c: (c.plan.peak_bytes, extra(c)))
    else:
        fitting = [c for c in tried if c.plan.peak_bytes <= budget]
        if not fitting:
            raise _over_budget(budget, min(tried, key=lambda c: c.plan.peak_bytes), plain)
        chosen = min(fitting, key=lambda c: (extra(c), c.plan.peak_bytes))
    stored = [name for name, _ in stash(graph)]
    levels = chosen.keep if isinstance(chosen.keep, dict) else dict.fromkeys(chosen.keep, 0)
    summary = RematSummary(
        checkpoints=tuple(n for n in stored if levels.get(n) == 0),
        recomputed=tuple(chosen.schedule[t] for t in chosen.plan.recompute_steps),
        plain_peak_bytes=plain.plan.peak_bytes, budget_bytes=budget, choices=len(tried),
        nested=tuple((n, levels[n]) for n in stored if levels.get(n, 0) > 0))
    record = PassRecord("rematerialize", len(graph), len(chosen.graph), chosen.graph)
    return _planned(chosen, REMAT, (record,), summary)


def checkpoint_choices(graph: Graph) -> list:
    """Distinct checkpoint choices: one level of segments, from the largest stored value up to
    all of them, each size SEGMENT_GROWTH times the last, even and shrinking along the forward
    pass; then nested checkpoints of 2 levels up to log2(n), each segment cut in two, or in
    n^(1/levels) (see `nested_checkpoints`)."""
    values = stash(graph)
    if not values:
        return []
    sizes = [size for _, size in values]
    total, segment = sum(sizes), max(sizes)
    choices: dict[frozenset, None] = {}
    while segment <= total * SEGMENT_GROWTH:
        for shrink in (False, True):
            choices.setdefault(segment_checkpoints(values, segment, shrink))
        segment *= SEGMENT_GROWTH
    nested: dict[frozenset, dict] = {}
    for depth in range(2, math.ceil(math.log2(len(values))) + 1):
        for branching in {2, math.ceil(len(values) ** (1 / depth))}:
            levels = nested_checkpoints(values, depth, max(branching, 2))
            nested.setdefault(frozenset(levels.items()), levels)
    return list(choices) + list(nested.values())


def _over_budget(budget: int, best: _Choice, plain: _Choice) -> InvalidArgumentError:
    count = len(best.plan.recompute_steps)
    how = f"recomputing {count} values" if count else "keeping every value"
    return InvalidArgumentError(
        f"memory='remat' cannot fit budget_bytes={budget} ({format_bytes(budget)}): the "
        f"smallest planned peak it reached is {format_bytes(best.plan.peak_bytes)} "
        f"({best.plan.peak_bytes} bytes), {how} (keeping every value needs "
        f"{format_bytes(plain.plan.peak_bytes)}); give budget_bytes >= {best.plan.peak_bytes}")
