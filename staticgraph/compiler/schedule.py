"""schedule: the order nodes run in, chosen to free memory early.

A list scheduler over every edge (data, control and ref, so control dependencies and the
read-before-write order of variables hold). Among the nodes ready to run it takes one that frees
at least as many bytes as it allocates (a variable's update as soon as its gradient is ready, an
in-place elementwise op, a view) when there is one, the one freeing most first; otherwise the
ready node added to the graph earliest, which keeps the order the user built (forward, then each
layer's backward as soon as it can start).
"""
from __future__ import annotations

from staticgraph.compiler.rewrite import CONSTANT, feeds_of, fetches_of
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op

UNKNOWN_DIM = 16  # what the scheduler assumes of a dim known only when fed (it only ranks choices)


def schedule(graph: Graph) -> list[str]:
    """The names of the nodes of a compiled graph that run, in a valid, memory-frugal order.

    Fed nodes and constants do not run, so they are not listed.

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import prune, schedule
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.sin(sg.cos(x, name="c"), name="y")
        >>> schedule(prune(g, ["y"], ["x"]))
        ['c', 'y']
    """
    fed = set(feeds_of(graph))
    runs = [n for n, op in graph.nx.nodes(data="op") if n not in fed and op != CONSTANT]
    model = _MemoryModel(graph, runs)
    position = {name: i for i, name in enumerate(runs)}
    waiting = {n: len({p for p in graph.nx.predecessors(n) if p in position}) for n in runs}
    ready = [n for n in runs if waiting[n] == 0]
    order = []
    while ready:
        node = _pick(ready, model, position)
        ready.remove(node)
        order.append(node)
        model.ran(node)
        for succ in set(graph.nx.successors(node)):
            if succ in waiting:
                waiting[succ] -= 1
                if waiting[succ] == 0:
                    ready.append(succ)
    return order


def _pick(ready: list[str], model: "_MemoryModel", position: dict) -> str:
    scored = [(model.freed_by(n), -position[n], n) for n in ready]
    best = max(scored)
    if best[0] >= 0:
        return best[2]
    return min(ready, key=position.__getitem__)


class _MemoryModel:
    """Which values each node reads (through views) and what running it frees and allocates."""

    def __init__(self, graph: Graph, runs: list[str]) -> None:
        self.size: dict[str, int] = {}
        roots: dict[str, frozenset] = {}
        self.reads: dict[str, frozenset] = {}
        self.uses: dict[str, int] = {}
        for name in runs:
            node = graph.nx.nodes[name]
            traits = get_op(node["op"]).traits
            self.reads[name] = frozenset().union(*(roots.get(i, ()) for i in graph.inputs(name)))
            if "view" in traits:
                roots[name] = self.reads[name]
            elif not traits & {"stateful", "no_output"}:
                roots[name] = frozenset([name])
                self.size[name] = _bytes(node)
            for r in self.reads[name]:
                self.uses[r] = self.uses.get(r, 0) + 1
        for name in fetches_of(graph):  # a fetched value, and what it views, is never freed
            for r in roots.get(name, ()):
                self.uses[r] = self.uses.get(r, 0) + 1

    def freed_by(self, name: str) -> int:
        """Bytes freed by running `name` minus the bytes its value takes."""
        freed = sum(self.size[r] for r in self.reads[name] if self.uses.get(r) == 1)
        return freed - self.size.get(name, 0)

    def ran(self, name: str) -> None:
        for r in self.reads[name]:
            self.uses[r] -= 1


def _bytes(node: dict) -> int:
    count = 1
    for d in node["shape"]:
        count *= UNKNOWN_DIM if d is None else d
    return count * node["dtype"].itemsize
