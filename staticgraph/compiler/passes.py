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
        """The optimised graph and one record per pass applied."""
        records: list[PassRecord] = []
        for _ in range(self.max_rounds):
            start = _fingerprint(graph)
            for apply in self.passes:
                before, start_time = len(graph), time.perf_counter()
                graph = apply(graph)
                seconds = time.perf_counter() - start_time
                if self.check:
                    verify(graph)
                records.append(PassRecord(apply.__name__, before, len(graph), graph, seconds))
            if _fingerprint(graph) == start:
                break
        return graph, records


def _fingerprint(graph: Graph) -> tuple:
    """Changes whenever a rewrite removed, replaced or rewired a node (cheap to compare)."""
    return len(graph), graph.nx.number_of_edges(), sorted(Counter(
        op for _, op in graph.nx.nodes(data="op")).items())
