"""What a comparison workload is: one computation written in both styles, driven step by step.

The explicit style gives a `StaticProgram`: a graph built once, the fetches one `Session.run`
computes per step and the feed of each step. The implicit style gives an `EagerProgram`: a
function that runs one step on eager tensors, recording as it goes, and returns the same values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from staticgraph.graph import Graph, Tensor


class StaticProgram(NamedTuple):
    """A workload built in the explicit style.

    Attributes:
        graph: the graph, built once (forward, gradient and update nodes).
        fetches: name -> tensor or op, run at every step (ops give None and are not compared).
        feeds: step index -> the feed_dict of that step.
        init: an op run once before the first step (the variables' initializer), or None.
        final: name -> tensor fetched once after the last step (e.g. trained weights).
    """
    graph: Graph
    fetches: dict
    feeds: Callable[[int], dict]
    init: Tensor | None = None
    final: dict | None = None


class EagerStep(NamedTuple):
    """What one eager step returns: its values (as numpy) and the tensors its tape recorded.

    `roots` are the tensors `backward` was called on: their histories are the dynamic graph the
    step recorded (counted and drawn by the comparison).
    """
    values: dict
    roots: list


class EagerProgram(NamedTuple):
    """A workload in the implicit style: `step(i)` runs step i; `final()` reads the end state."""
    step: Callable[[int], EagerStep]
    final: Callable[[], dict] = dict


@dataclass(frozen=True)
class Workload:
    """One computation of the comparison, in both styles.

    Attributes:
        key: a short identifier (used on the command line and in file names).
        title: what the report calls it, e.g. "§3.1 y = 2xᵀx".
        about: one sentence on what the workload shows.
        static: builds the explicit-style program (timed as the graph build).
        eager: makes the implicit-style program (its leaves and, for training, its optimizer).
        gradients: the value names that are gradients (the rest are values).
        steps: how many steps a full run takes; quick_steps: in quick mode (at least 3).
    """
    key: str
    title: str
    about: str
    static: Callable[[], StaticProgram]
    eager: Callable[[], EagerProgram]
    gradients: frozenset
    steps: int = 200
    quick_steps: int = 5

    def step_count(self, quick: bool) -> int:
        return self.quick_steps if quick else self.steps


def as_numpy(values: dict) -> dict:
    """`values` as numpy arrays (eager tensors read, numpy scalars kept as 0-d arrays)."""
    return {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v) for k, v in values.items()}
