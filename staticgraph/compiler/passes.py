"""The pass manager: runs graph -> graph passes in order, checks them, and records what each did."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from staticgraph.compiler.cse import eliminate_common_subexpressions
from staticgraph.compiler.dce import eliminate_dead_code
from staticgraph.compiler.fold import fold_constants
from staticgraph.compiler.fuse import fuse_updates
from staticgraph.compiler.fusion import fuse_elementwise
from staticgraph.compiler.simplify import simplify
from staticgraph.compiler.verify import verify
from staticgraph.graph import Graph

Pass = Callable[[Graph], Graph]
DEFAULT_PASSES: tuple[Pass, ...] = (fold_constants, simplify, eliminate_common_subexpressions,
                                    fuse_updates, eliminate_dead_code)
# run once on the specialised graph, after DEFAULT_PASSES and before planning (see fusion.py)
LATE_PASSES: tuple[Pass, ...] = (fuse_elementwise,)


@dataclass(frozen=True)
class PassRecord:
    """One pass applied: its name, the node counts before and after, its output graph, and
    the seconds it took."""
    name: str
    nodes_before: int
    nodes_after: int
    graph: Graph
    seconds: float = 0.0


class PassManager:
    """Runs `passes` in order, repeating the sequence while a round still changes the graph.

    Args:
        passes: pure functions graph -> graph.
        check: run `verify` on every pass's output (tests and debug mode do).
        max_rounds: at most this many rounds (a fold can enable a simplification, and so on).
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import PassManager, prune
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float32, (3,), name="x")
        ...     y = sg.identity(x * (sg.constant(2.0) - 1.0), name="y")
        >>> graph, records = PassManager(check=True).run(prune(g, ["y"], ["x"]))
        >>> sorted(graph.nx), [(r.name, r.nodes_before, r.nodes_after) for r in records][:2]
        (['x'], [('fold_constants', 6, 6), ('simplify', 6, 4)])
    """

    def __init__(self, passes: Sequence[Pass] = DEFAULT_PASSES, check: bool = False,
                 max_rounds: int = 3) -> None:
        self.passes = tuple(passes)
        self.check = check
        self.max_rounds = max_rounds

    def run(self, graph: Graph) -> tuple[Graph, list[PassRecord]]:
        """The optimised graph and one record per pass applied.

        A pass that returned its input unchanged has reached a fixed point there, so it is not
        applied to that same graph again (passes are pure and deterministic; its record shows
        the graph unchanged). A round in which every pass returned its input ends the rounds
        without comparing graphs.
        """
        records: list[PassRecord] = []
        fixed: dict[int, Graph] = {}  # pass index -> a graph it returned unchanged
        for _ in range(self.max_rounds):
            start = graph
            for index, apply in enumerate(self.passes):
                before, start_time = len(graph), time.perf_counter()
                result = graph if fixed.get(index) is graph else apply(graph)
                seconds = time.perf_counter() - start_time
                if self.check:
                    verify(result)
                if result is graph:
                    fixed[index] = graph
                records.append(PassRecord(apply.__name__, before, len(result), result, seconds))
                graph = result
            if graph is start or _same(graph, start):
                break
        return graph, records


def _same(graph: Graph, other: Graph) -> bool:
    """False whenever a rewrite removed, replaced or rewired a node of `other` (cheap to
    compare: the node counts first)."""
    return len(graph) == len(other) and _fingerprint(graph) == _fingerprint(other)


def _fingerprint(graph: Graph) -> tuple:
    """Changes whenever a rewrite removed, replaced or rewired a node."""
    return graph.nx.number_of_edges(), sorted(Counter(
        op for _, op in graph.nx.nodes(data="op")).items())
