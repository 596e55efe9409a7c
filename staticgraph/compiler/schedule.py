"""schedule: the order nodes run in, chosen to free memory early and to recompute late.

A list scheduler over every edge (data, control and ref, so control dependencies and the
read-before-write order of variables hold). Among the nodes ready to run it takes one that frees
at least as many bytes as it allocates (a variable's update as soon as its gradient is ready, an
in-place elementwise op, a view) when there is one, the one freeing most first. Failing that, it
looks two steps ahead: a node that lets nodes run which give its bytes back (a weight's gradient,
then its scaling, then the update that frees both) goes before one that only holds memory (the
next layer's cotangent). Otherwise it takes the ready node added to the graph earliest, which
keeps the order the user built (forward, then each layer's backward as soon as it can start).

A variable's only update waits for every node that reads the variable's array (through views
too) and does not depend on the update, so that it may write that array in place (see
`plan_memory`), as long as nothing fetches that array.

Recomputed values (role "recompute", see `rematerialize`) run on demand: a copy is never
scheduled for its own sake, only right before the first node that reads it, so the values it
recomputes live as briefly as they can.
"""
from __future__ import annotations

import heapq

from staticgraph.compiler.remat import RECOMPUTE
from staticgraph.compiler.rewrite import (CONSTANT, UPDATES, VARIABLE, by_variable, feeds_of,
                                          fetches_of, ordered_nodes)
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op

UNKNOWN_DIM = 16  # what the scheduler assumes of a dim known only when fed (it only ranks choices)
LOOKAHEAD = 2     # how many follow-up steps may pay back a step's bytes
LOOKAHEAD_WIDTH = 64  # how many ready nodes, the earliest built, the look-ahead considers


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
    runs = [n for n in ordered_nodes(graph) if n not in fed and graph.nx.nodes[n]["op"] != CONSTANT]
    deps = _Dependencies(graph, runs)
    model = _MemoryModel(graph, runs)
    ready = _Ready(model, deps)
    ready.add(n for n in deps.waiting if deps.waiting[n] == 0)
    order: list[str] = []
    while ready:
        for step in deps.bundle(ready.pick()):
            order.append(step)
            ready.ran(step, model.ran(step), deps.ran(step))
    return order


def build_order(graph: Graph) -> list[str]:
    """The nodes that run in the order they were built (a topological order): what the
    scheduler starts from, and what its memory figures are compared against."""
    fed = set(feeds_of(graph))
    return [n for n in ordered_nodes(graph) if n not in fed and graph.nx.nodes[n]["op"] != CONSTANT]


class _Dependencies:
    """What each node waits for; recompute nodes are pulled in by the node that first needs them.

    A node other than a recompute node ("late") waits for its own inputs and for those of the
    late nodes it reads, directly or through other late nodes: once they have run, it can run
    right after its late ancestors.
    """

    def __init__(self, graph: Graph, runs: list[str]) -> None:
        self.graph, self.done = graph, {}  # node -> when it ran
        self.bundles: dict[str, list] = {}
        self.position = {name: i for i, name in enumerate(runs)}
        fetched = set(fetches_of(graph))
        self.late = {n for n in runs if graph.nx.nodes[n]["role"] == RECOMPUTE
                     and n not in fetched and graph.nx.out_degree(n) > 0}
        self.late_inputs: dict[str, list] = {}
        needs: dict[str, set] = {}
        readers_first = _readers_before_updates(graph, runs)
        for name in runs:  # topological: a late node's needs are known before its readers'
            preds = {p for p in graph.nx.predecessors(name) if p in self.position}
            preds |= readers_first.get(name, set())
            self.late_inputs[name] = sorted(preds & self.late, key=self.position.__getitem__)
            needs[name] = (preds - self.late).union(*(needs[p] for p in preds & self.late))
        self.late_missing = {n: len(late) for n, late in self.late_inputs.items()}
        self.late_readers: dict[str, list] = {n: [] for n in self.late}
        for name, late in self.late_inputs.items():
            for p in late:
                self.late_readers[p].append(name)
        self.needs = {n: needs[n] for n in runs if n not in self.late}
        self.waiting = {n: len(ns) for n, ns in self.needs.items()}
        self.unblocks: dict[str, list] = {}
        for name, ns in self.needs.items():
            for need in ns:
                self.unblocks.setdefault(need, []).append(name)

    def bundle(self, name: str) -> list[str]:
        """The late ancestors of `name` not yet run, in a valid order, then `name` itself."""
        if not self.late_inputs[name]:
            return [name]
        if name not in self.bundles:
            steps, seen = [], set()
            stack = [(name, iter(self.late_inputs[name]))]  # depth first, inputs before readers
            while stack:
                node, inputs = stack[-1]
                p = next((p for p in inputs if p not in self.done and p not in seen), None)
                if p is None:
                    stack.pop()
                    steps.append(node)
                else:
                    seen.add(p)
                    stack.append((p, iter(self.late_inputs[p])))
            self.bundles[name] = steps
        return self.bundles[name]

    def pulls(self, name: str) -> bool:
        """True when `name` reads recompute nodes that have not run yet."""
        return self.late_missing[name] > 0

    def newest_input(self, name: str) -> int:
        """When the most recently run input of `name` ran (-1: none has)."""
        return max((self.done[p] for p in self.graph.nx.predecessors(name) if p in self.done),
                   default=-1)

    def ran(self, name: str) -> list[str]:
        """Record that `name` ran; return the nodes that became ready."""
        self.done[name] = len(self.done)
        if name in self.late:
            self.bundles.clear()  # bundles cached before hold a node that has now run
            for reader in self.late_readers[name]:
                self.late_missing[reader] -= 1
        ready = []
        for succ in self.unblocks.get(name, ()):
            self.waiting[succ] -= 1
            if self.waiting[succ] == 0:
                ready.append(succ)
        return ready

    def unblocked_by(self, name: str, before: set) -> list[str]:
        """The nodes that running `name` would make ready, were `before` run first."""
        return [s for s in self.unblocks.get(name, ())
                if self.waiting[s] - len(self.needs[s] & before) == 1]


def _readers_before_updates(graph: Graph, runs: list[str]) -> dict[str, set]:
    """update -> the nodes to run before it: those reading its variable's array, directly or
    through views, that come before it in `runs` (a topological order, which these edges keep,
    so none can depend on the update), for variables updated once, their array fetched by
    nothing."""
    nodes, fetched = graph.nx.nodes, set(fetches_of(graph))
    position = {name: i for i, name in enumerate(runs)}
    aliases: dict[str, set] = {}  # variable -> the values that may be its array
    viewed: dict[str, set] = {}   # value -> the variables whose array it may be
    for name in runs:
        op = nodes[name]["op"]
        if op == VARIABLE:
            viewed[name] = {nodes[name]["attrs"]["var"]}
        elif "view" in get_op(op).traits:
            viewed[name] = set().union(*(viewed.get(i, ()) for i, _ in graph.nx.in_edges(name)))
        for var in viewed.get(name, ()):
            aliases.setdefault(var, set()).add(name)
    before: dict[str, set] = {}
    for var, (update, *others) in by_variable(graph, runs, UPDATES).items():
        values = aliases.get(var, set())
        if not others and not values & fetched:
            before[update] = {c for v in values for c in graph.consumers(v)
                              if c in position and position[c] < position[update]}
    return before


class _Ready:
    """The nodes ready to run, and the choice among them (see the module doc).

    The choice is kept cheap however many nodes are ready: a node's bytes freed minus allocated
    change only when one of the values it reads reaches its last use, so they are updated
    then, in a heap; the two-step look-ahead is tried on the `LOOKAHEAD_WIDTH` earliest-built
    candidates only (all of them while there are no more).
    """

    def __init__(self, model: "_MemoryModel", deps: _Dependencies) -> None:
        self.model, self.deps, self.position = model, deps, deps.position
        self.ready: set = set()
        self.plain: set = set()  # ready, and pulling in no recompute node
        self.net: dict[str, int] = {}
        self.newest: dict[str, int] = {}
        self.by_position: list = []        # (position, name) of ready nodes
        self.plain_by_position: list = []  # (position, name) of plain ones
        self.by_net: list = []             # (-net, -newest input, position, name) of plain ones

    def __bool__(self) -> bool:
        return bool(self.ready)

    def add(self, names) -> None:
        for name in names:
            self.ready.add(name)
            heapq.heappush(self.by_position, (self.position[name], name))
            if not self.deps.pulls(name):
                self._plain(name)

    def _plain(self, name: str) -> None:
        self.plain.add(name)
        self.newest[name] = self.deps.newest_input(name)
        heapq.heappush(self.plain_by_position, (self.position[name], name))
        self._rank(name)

    def _rank(self, name: str) -> None:
        self.net[name] = net = self.model.net([name])[0]
        heapq.heappush(self.by_net, (-net, -self.newest[name], self.position[name], name))

    def ran(self, step: str, last_uses: list, unblocked: list) -> None:
        """Update after `step` ran: values now read by one node only, nodes now ready."""
        for root in last_uses:
            for reader in self.model.readers.get(root, ()):
                if reader in self.plain:
                    self._rank(reader)
        if step in self.deps.late:
            for reader in self.deps.late_readers[step]:
                if reader in self.ready and reader not in self.plain \
                        and not self.deps.pulls(reader):
                    self._plain(reader)
        self.add(unblocked)

    def pick(self) -> str:
        """The next node to run (taken out of the ready ones). One that would pull recompute
        nodes in is only ever taken in build order: recomputing is never worth doing early
        for the bytes it frees."""
        choice = self._choose()
        self.ready.discard(choice)
        self.plain.discard(choice)
        return choice

    def _choose(self) -> str:
        earliest = _first(self.by_position, self.ready)
        if not self.plain:
            return earliest
        # Ties go to the node reading the newest value: finishing what was just started ends
        # lifetimes soonest (a weight's gradient goes on to its update before the next layer).
        heap = self.by_net
        while heap[0][3] not in self.plain or self.net[heap[0][3]] != -heap[0][0]:
            heapq.heappop(heap)  # stale: taken, or ranked again since
        if heap[0][0] <= 0:
            return heap[0][3]
        candidates = _firsts(self.plain_by_position, self.plain, LOOKAHEAD_WIDTH)
        gains = {n: _gain(n, self.model, self.deps, {}, set(), LOOKAHEAD) for n in candidates}
        best = max(candidates, key=lambda n: (gains[n], -self.position[n]))
        return best if gains[best] >= 0 else earliest


def _first(heap: list, members: set) -> str:
    """The first name of a (key, name) heap that is still in `members` (stale ones dropped)."""
    while heap[0][1] not in members:
        heapq.heappop(heap)
    return heap[0][1]


def _firsts(heap: list, members: set, count: int) -> list[str]:
    """The first `count` names of a (key, name) heap that are still in `members`."""
    taken = []
    while heap and len(taken) < count:
        entry = heapq.heappop(heap)
        if entry[1] in members:
            taken.append(entry)
    for entry in taken:
        heapq.heappush(heap, entry)
    return [name for _, name in taken]


def _gain(node: str, model: "_MemoryModel", deps: _Dependencies, spent: dict, ran: set,
          depth: int) -> int:
    """Bytes freed minus allocated by running `node`, then the best of what it unblocks."""
    net, spent = model.net([node], spent)
    if depth == 0:
        return net
    follow = [_gain(s, model, deps, spent, ran | {node}, depth - 1)
              for s in deps.unblocked_by(node, ran) if not deps.pulls(s)]
    return net + max([0, *follow])


class _MemoryModel:
    """Which values each node reads (through views) and what running it frees and allocates."""

    def __init__(self, graph: Graph, runs: list[str]) -> None:
        self.size: dict[str, int] = {}
        roots: dict[str, frozenset] = {}
        self.reads: dict[str, frozenset] = {}
        self.uses: dict[str, int] = {}
        self.readers: dict[str, list] = {}  # value -> the nodes reading it
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
                self.readers.setdefault(r, []).append(name)
        for name in fetches_of(graph):  # a fetched value, and what it views, is never freed
            for r in roots.get(name, ()):
                self.uses[r] = self.uses.get(r, 0) + 1

    def net(self, steps: list[str], spent: dict | None = None) -> tuple[int, dict]:
        """Bytes freed minus bytes allocated by running `steps` in order, and the uses they
        spend (`spent`: uses already spent by steps imagined before them)."""
        spent = dict(spent or {})
        net = 0
        for name in steps:
            net -= self.size.get(name, 0)
            for r in self.reads[name]:
                spent[r] = spent.get(r, 0) + 1
                if self.uses.get(r) == spent[r]:
                    net += self.size[r]
        return net, spent

    def ran(self, name: str) -> list[str]:
        """Spend the uses of what `name` read; return the values now left with one use."""
        last = []
        for r in self.reads[name]:
            self.uses[r] -= 1
            if self.uses[r] == 1:
                last.append(r)
        return last


def _bytes(node: dict) -> int:
    count = 1
    for d in (None,) if node["shape"] is None else node["shape"]:  # unknown rank: as one unknown dim
        count *= UNKNOWN_DIM if d is None else d
    return count * node["dtype"].itemsize
