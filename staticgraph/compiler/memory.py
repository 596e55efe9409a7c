"""plan_memory: the liveness of every value in a schedule, and the buffers the values are given.

Every value a step produces is one of:
  buffer    written by its kernel (trait "out") into a preallocated buffer the plan assigns;
  fresh     allocated by its kernel (no `out=`, a fetched value, or a size known only at run time);
  view      may be a view of its inputs (trait "view"): no storage of its own;
  external  owned by the variable store (trait "stateful");
  none      no value (trait "no_output").
A kernel called without `out=` may hand back one of its inputs, so fresh and external values are
taken to share storage with their inputs too. A value's storage lives until the last use of any
value that may share it. In "plan" mode, buffers whose lifetimes do not overlap share storage
(best fit by size), and an elementwise op (traits "elementwise", "inplace_ok") writes into an
input of its own shape and dtype that dies at it; so does a fused node whose one output is its
last member, of such an op. Fed values, constants, variables and fetched
values never get a buffer, so nothing ever overwrites them. In "naive" mode every value keeps
its own storage for the whole run. "remat" plans like "plan"; the graph it is given holds
recompute nodes (see `rematerialize`), and the plan records what was chosen (`RematSummary`).

Outside "naive" mode, a variable update (assign, assign_add, assign_sub, assign_add_matmul)
may also write into the variable's own array instead of a new one, as TensorFlow and PyTorch
optimisers do, when nothing can tell: it is the only update of that variable, every value that
may share the variable's storage is dead before it (none is fetched), and no step after it can
fail, so a failed run still changes no variable. A step cannot fail when it reads a variable
(the run checks first that every variable it touches is set), or when its op is "total" or
updates a variable and its shape and its inputs' shapes are trusted: known, and computed by
shape rules from trusted shapes alone, back to the fed values, constants and variables (a fed
value's shape is checked against the graph's feed before a run; a graph specialised to the fed
shapes has every shape known). A shape derived through an unknown dim is not trusted, even
where a rule claims it, so a wrong claim cannot let a step that fails follow an update in place.
The runtime still falls back to a new array when someone else holds the old one or when numpy's
floating-point errors may raise (see `RunState.update_in_place`).
"""
from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

import networkx as nx

from staticgraph.compiler.remat import RECOMPUTE, backward_nodes
from staticgraph.compiler.rewrite import UPDATES, VARIABLE, by_variable, fetches_of
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph
from staticgraph.ops.registry import Spec, get_op
from staticgraph.ops.shapes import known, num_elements
from staticgraph.text import counted

PLAN, NAIVE, REMAT = "plan", "naive", "remat"
MODES = (PLAN, NAIVE, REMAT)
BUFFER, FRESH, VIEW, EXTERNAL, NONE = "buffer", "fresh", "view", "external", "none"
_INPLACE = frozenset({"elementwise", "inplace_ok", "out"})


@dataclass(frozen=True)
class RematSummary:
    """What memory="remat" chose, and the peak it started from.

    checkpoints: the stored values kept for the backward (the segment boundaries).
    nested: (value, level) of the nested checkpoints (see `nested_checkpoints`), computed
        again in the level-th recomputation and held for the backward; () with one level.
    recomputed: the recompute nodes (`recompute/<original>`), in run order: each computes a
        value again (or, when only the backward read it, for the first time), just before the
        backward reads it.
    plain_peak_bytes: the peak of the same graph planned with every stored value kept.
    budget_bytes: the budget the choice was made for (None: sqrt(n) segments).
    choices: how many checkpoint choices were planned to make this one.
    """
    checkpoints: tuple
    recomputed: tuple
    plain_peak_bytes: int
    budget_bytes: int | None
    choices: int
    nested: tuple = ()


@dataclass(frozen=True)
class MemoryPlan:
    """Where every value of a schedule lives, and the memory figures that follow.

    peak_bytes: what the plan takes: its buffers plus the most fresh values live at once.
    naive_bytes: every value's storage kept to the end of the run.
    lower_bound_bytes: the most bytes of values live at once in this schedule (in place counted).
    buffers: node name -> buffer id (views of a buffer are labelled with its id).
    timeline: bytes held by values after each step of the schedule: those still to be read
        (in "naive" mode, every value so far: none is ever released).
    forward_steps: the steps up to the last one of the forward pass (the boundary): those
        after it are the backward's, or depend on it.
    recompute_steps: the steps (indices into the schedule) that recompute a value.
    activation_bytes: the most bytes of forward values (recomputed ones included) live at
        once: what reverse mode keeps for the backward pass.
    build_order_peak_bytes: the peak of the build order, before scheduling (None: not planned).
    remat: what memory="remat" chose (None in the other modes).
    updates_in_place: update node -> the values that may share its variable's storage (all
        dead by then, to be released before it writes the variable's array in place).
    """
    mode: str
    schedule: tuple
    specs: dict
    kinds: dict
    buffers: dict
    buffer_bytes: tuple
    inplace: dict
    released: tuple
    dies: tuple
    holds_storage: frozenset
    peak_bytes: int
    naive_bytes: int
    lower_bound_bytes: int
    timeline: tuple
    unknown: tuple
    forward_steps: int = 0
    recompute_steps: tuple = ()
    activation_bytes: int = 0
    build_order_peak_bytes: int | None = None
    remat: RematSummary | None = None
    updates_in_place: dict = field(default_factory=dict)

    def report(self) -> str:
        """A printable summary of the figures."""
        lines = [f"memory ({self.mode}): {counted(len(self.schedule), 'step')} "
                 f"({self.forward_steps} of the forward pass), "
                 f"{counted(len(self.buffer_bytes), 'buffer')}, {len(self.inplace)} in place, "
                 f"{counted(len(self.updates_in_place), 'variable update')} in place",
                 f"  peak        {format_bytes(self.peak_bytes)} (planned)",
                 f"  naive       {format_bytes(self.naive_bytes)} (every value kept)",
                 f"  lower bound {format_bytes(self.lower_bound_bytes)} (most live at once)",
                 f"  activations {format_bytes(self.activation_bytes)} (most forward values "
                 "live at once)"]
        if self.build_order_peak_bytes is not None:
            lines.append(f"  schedule    peak {format_bytes(self.build_order_peak_bytes)} in build "
                         f"order -> {format_bytes(self.peak_bytes)} memory-aware")
        if self.remat is not None:
            lines += self.remat_lines()
        if self.unknown:
            lines.append(f"  sized at run time (not counted): {', '.join(self.unknown)}")
        return "\n".join(lines)


    def remat_lines(self) -> list[str]:
        r = self.remat
        shown = ", ".join(r.checkpoints[:6]) + (", ..." if len(r.checkpoints) > 6 else "")
        budget = "none (sqrt(n) segments)" if r.budget_bytes is None else \
            f"{format_bytes(r.budget_bytes)} ({r.choices} choices planned)"
        levels = 1 + max((level for _, level in r.nested), default=0)
        nested = f"; {len(r.nested)} nested checkpoints, {levels} levels" if r.nested else ""
        return [f"  remat       {len(r.recomputed)} values recomputed, {len(r.checkpoints)} "
                f"checkpoints kept{': ' + shown if shown else ''}{nested}",
                f"              peak {format_bytes(self.peak_bytes)} vs "
                f"{format_bytes(r.plain_peak_bytes)} keeping every value; budget {budget}"]


def format_bytes(n: int) -> str:
    """`n` bytes as people read them: 512 B, 3.0 KiB, 1.5 MiB."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def plan_memory(graph: Graph, schedule: list[str], mode: str = PLAN) -> MemoryPlan:
    """Plan the storage of every value `schedule` computes, sized by the graph's shapes.

    Args:
        graph: the compiled graph (its FETCHES collection names the fetched values); values
            whose shapes still hold None dims are sized at run time (see `specialize`).
        schedule: the nodes that run, in order (see `schedule`).
        mode: "plan" (share and reuse buffers), "naive" (one buffer per value, all kept) or
            "remat" (as "plan", for a graph holding recompute nodes).
    Raises:
        InvalidArgumentError for an unknown mode.
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import plan_memory, prune, schedule
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (1000,), name="x")
        ...     y = sg.sum(sg.exp(sg.sin(x)), name="y")
        >>> c = prune(g, ["y"], ["x"])
        >>> plan = plan_memory(c, schedule(c))
        >>> plan.naive_bytes, plan.peak_bytes, plan.inplace
        (16008, 8008, {'exp': 'sin'})
    """
    if mode not in MODES:
        raise InvalidArgumentError(f"plan_memory: mode must be one of {MODES}, got {mode!r}")
    specs = {name: Spec(node["shape"], node["dtype"]) for name, node in graph.nx.nodes(data=True)}
    live = _Liveness(graph, schedule, specs)
    shares = mode != NAIVE
    buffers, sizes = _assign_buffers(live, shares)
    fresh = max(live.during(FRESH), default=0) if shares else \
        sum(live.size(v) for v in schedule if live.kinds[v] == FRESH)
    forward_steps, recompute_steps, activation_bytes = _phases(graph, live, shares)
    return MemoryPlan(
        mode=mode, schedule=tuple(schedule), specs=specs, kinds=live.kinds,
        buffers=_label_views(live, buffers), buffer_bytes=tuple(sizes),
        inplace=dict(live.donors) if shares else {},
        released=tuple(tuple(r for r in rs if live.kinds[r] == BUFFER and r not in live.donated)
                       for rs in live.dying) if shares else ((),) * len(schedule),
        dies=live.dies, holds_storage=live.holds_storage(),
        peak_bytes=sum(sizes) + fresh,
        naive_bytes=sum(live.size(v) for v in schedule),
        lower_bound_bytes=max(live.lower_bound(), default=0),
        timeline=tuple(live.timeline() if shares else live.cumulative()),
        unknown=tuple(v for v in schedule if live.kinds[v] in (BUFFER, FRESH)
                      and not known(specs[v].shape)),
        forward_steps=forward_steps, recompute_steps=recompute_steps,
        activation_bytes=activation_bytes,
        updates_in_place=_updates_in_place(graph, live) if shares else {})


def _updates_in_place(graph: Graph, live: "_Liveness") -> dict:
    """update -> the values that may share its variable's storage, for each update that may
    write in place (see the module doc)."""
    updates = by_variable(graph, live.schedule, UPDATES)
    if not updates:
        return {}
    trusted = _trusted_shapes(graph, live.specs)
    after = 1 + max((t for t, name in enumerate(live.schedule)
                     if not _cannot_fail(graph, name, trusted)), default=-1)
    reads = by_variable(graph, live.schedule, (VARIABLE,))
    chosen = {}
    for var, (update, *others) in updates.items():
        t = live.step[update]
        var_reads = reads.get(var, [])
        if others or t < after or any(live.last[r] >= t for r in var_reads):
            continue
        chosen[update] = tuple(m for m, rs in live.roots.items()
                               if live.step[m] < t and any(r in rs for r in var_reads))
    return chosen


def _trusted_shapes(graph: Graph, specs: dict) -> set:
    """The nodes whose static shape every run agrees with: known, and with every input's
    shape trusted too (see the module doc)."""
    trusted: set = set()
    for name in nx.topological_sort(graph.nx):
        if known(specs[name].shape) and all(i in trusted for i, _ in graph.nx.in_edges(name)):
            trusted.add(name)
    return trusted


def _cannot_fail(graph: Graph, name: str, trusted: set) -> bool:
    """True when step `name` cannot raise (see the module doc)."""
    op = graph.nx.nodes[name]["op"]
    if op == VARIABLE:
        return True
    return (op in UPDATES or "total" in get_op(op).traits) and name in trusted


def _phases(graph: Graph, live: "_Liveness", shares: bool) -> tuple[int, tuple, int]:
    """Where the forward pass ends, which steps recompute, and the activation bytes (without
    sharing, every forward value's: none is released)."""
    backward = backward_nodes(graph)
    roles = {n: graph.nx.nodes[n]["role"] for n in live.schedule}
    forward_steps = 1 + max((t for t, n in enumerate(live.schedule)
                             if n not in backward and roles[n] != RECOMPUTE), default=-1)
    recompute_steps = tuple(t for t, n in enumerate(live.schedule) if roles[n] == RECOMPUTE)
    forward = {n for n in live.schedule if n not in backward}
    if not shares:
        return forward_steps, recompute_steps, sum(live.size(n) for n in forward)
    return forward_steps, recompute_steps, max(live.timeline(names=forward), default=0)


class _Liveness:
    """Kinds, shared storage (roots), last uses and in-place chances of a schedule's values."""

    def __init__(self, graph: Graph, schedule: list[str], specs: dict) -> None:
        self.graph, self.schedule, self.specs = graph, schedule, specs
        self.sizes: dict[str, int] = {}
        self.step = {name: t for t, name in enumerate(schedule)}
        fetched = set(fetches_of(graph))
        self.kinds = {n: _kind(graph.nx.nodes[n]["op"], specs[n]) for n in schedule}
        self.roots = self._roots()
        # Fetched storage escapes to the caller, so it is never reused; a fetched view is
        # returned as a copy (see the executor's _fixes), so the storage it views need not be.
        for f in fetched & set(self.roots):
            for r in () if self.kinds[f] == VIEW else self.roots[f]:
                if self.kinds[r] == BUFFER:
                    self.kinds[r] = FRESH
        self.end = self._ends(fetched)
        self.last = dict(self.end)
        for m, rs in self.roots.items():
            for r in rs:
                self.last[r] = max(self.last[r], self.end[m])
        self.dying = self._group(self.last, roots_only=True)
        self.dies = tuple(tuple(m for m in ms if m not in fetched) for ms in self._group(self.end))
        self.donors = self._donors()
        self.donated = set(self.donors.values())

    def _roots(self) -> dict[str, frozenset]:
        roots: dict[str, frozenset] = {}
        for name in self.schedule:
            op = get_op(self.graph.nx.nodes[name]["op"])
            kind = self.kinds[name]
            inputs = frozenset().union(*(roots.get(i, ()) for i in self.graph.inputs(name)))
            if kind == VIEW:
                roots[name] = inputs
            elif kind == BUFFER or (kind == FRESH and "out" in op.traits):
                roots[name] = frozenset([name])
            elif kind != NONE:
                roots[name] = inputs | {name}
        return roots

    def _ends(self, fetched: set) -> dict[str, int]:
        end = {n: t for t, n in enumerate(self.schedule)}
        for t, name in enumerate(self.schedule):
            for i in self.graph.inputs(name):
                if i in end:
                    end[i] = max(end[i], t)
        for f in fetched & set(end):
            end[f] = len(self.schedule)
        return end

    def _group(self, when: dict, roots_only: bool = False) -> tuple:
        groups = [[] for _ in self.schedule]
        for name, t in when.items():
            if t < len(groups) and (not roots_only or name in self.roots.get(name, ())):
                groups[t].append(name)
        return tuple(tuple(g) for g in groups)

    def _donors(self) -> dict[str, str]:
        """node -> the input whose buffer it may overwrite (same spec, dying at that node)."""
        donors = {}
        for t, name in enumerate(self.schedule):
            node = self.graph.nx.nodes[name]
            if self.kinds[name] != BUFFER or not _overwrites_input(node):
                continue
            inputs = self.graph.inputs(name)
            fused = node["op"] == "fused"
            one_pass = len(inputs) <= 2 and not fused
            for k, i in enumerate(inputs if fused or one_pass else inputs[:1]):
                if self.kinds.get(i) == BUFFER and self.last[i] == t \
                        and self.specs[i] == self.specs[name] \
                        and (one_pass or self._alone(k, inputs)):
                    donors[name] = i
                    break
        return donors

    def _alone(self, k: int, inputs: list) -> bool:
        """True when no other input shares the storage of input `k`.

        A kernel of one or two inputs is one elementwise pass, which numpy makes safe whatever
        the overlap; a kernel of more inputs (add_n) accumulates into `out` input by input, so it
        may only overwrite its first input, and only if it reads that storage nowhere else; a
        fused node (see `_overwrites_input`) may overwrite any input read nowhere else.
        """
        return all(inputs[k] not in self.roots.get(j, ())
                   for j in inputs[:k] + inputs[k + 1:])

    def size(self, name: str) -> int:
        if name not in self.sizes:
            count = num_elements(self.specs[name].shape)
            self.sizes[name] = 0 if count is None or self.kinds[name] not in (BUFFER, FRESH) \
                else count * self.specs[name].dtype.itemsize
        return self.sizes[name]

    def during(self, *kinds: str) -> list[int]:
        """Bytes of values of `kinds` whose storage is live during each step."""
        return self._sweep(kinds or (BUFFER, FRESH), inclusive=True)

    def timeline(self, names: set | None = None) -> list[int]:
        """Bytes of values (of `names`, if given) live after each step."""
        return self._sweep((BUFFER, FRESH), inclusive=False, names=names)

    def cumulative(self) -> list[int]:
        """Bytes of every value computed so far, after each step (nothing released)."""
        totals, running = [], 0
        for v in self.schedule:
            running += self.size(v)
            totals.append(running)
        return totals

    def lower_bound(self) -> list[int]:
        during = self.during()
        return [b - (self.size(n) if n in self.donors else 0)
                for b, n in zip(during, self.schedule)]

    def _sweep(self, kinds: tuple, inclusive: bool, names: set | None = None) -> list[int]:
        delta = [0] * (len(self.schedule) + 2)
        for v in self.schedule:
            if self.kinds[v] in kinds and (names is None or v in names):
                stop = self.last[v] + (1 if inclusive else 0)
                if stop > self.step[v]:
                    delta[self.step[v]] += self.size(v)
                    delta[stop] -= self.size(v)
        totals, running = [], 0
        for t in range(len(self.schedule)):
            running += delta[t]
            totals.append(running)
        return totals

    def holds_storage(self) -> frozenset:
        """Values whose slot may keep alive storage that is not a planned buffer."""
        return frozenset(m for m, rs in self.roots.items()
                         if any(self.kinds[r] in (FRESH, EXTERNAL) for r in rs))


def _overwrites_input(node: dict) -> bool:
    """Whether node's kernel may write into an input's storage: an elementwise op ("elementwise",
    "inplace_ok", "out"), or a fused node whose one output is its last member, of such an op
    (its kernels read every element of the inputs before writing that element: numpy, in the
    last member's one pass; numba, block by block)."""
    if node["op"] != "fused":
        return _INPLACE <= get_op(node["op"]).traits
    region = node["attrs"]["region"]
    last = region.members[-1]
    return region.outputs == (last,) and _INPLACE <= get_op(
        region.graph.nx.nodes[last]["op"]).traits


def _kind(op_name: str, spec: Spec) -> str:
    traits = get_op(op_name).traits
    if "no_output" in traits:
        return NONE
    if "stateful" in traits:
        return EXTERNAL
    if "view" in traits:
        return VIEW
    return BUFFER if "out" in traits and known(spec.shape) else FRESH


def _assign_buffers(live: _Liveness, shares: bool) -> tuple[dict, list]:
    """Buffer ids of the planned values, and each buffer's size.

    Sharing, each in-place chain (a value and those overwriting it) is one lifetime; lifetimes
    are placed largest first, each in the smallest buffer whose lifetimes it does not overlap,
    else in a new one, so a buffer is as large as its first value ("greedy by size": placing
    the large values first keeps small ones from splitting the space they need).
    """
    planned = [n for n in live.schedule if live.kinds[n] == BUFFER]
    if not shares:
        return {n: i for i, n in enumerate(planned)}, [live.size(n) for n in planned]
    chains: dict[str, list] = {}
    head_of: dict[str, str] = {}
    for name in planned:
        head_of[name] = head_of[live.donors[name]] if name in live.donors else name
        chains.setdefault(head_of[name], []).append(name)
    buffers, sizes, spans = {}, [], []
    by_size: dict[int, list] = {}  # size -> its buffers' ids, in creation order
    own: _OwnClass | None = None
    for head in sorted(chains, key=lambda h: (-live.size(h), live.step[h])):
        span = (live.step[head], max(live.last[m] for m in chains[head]))
        size = live.size(head)
        if own is None or own.size != size:
            own = _OwnClass(size)
        chosen = own.free_at(span[0])
        if chosen is None:
            chosen = next((b for s in sorted(by_size) if s > size for b in by_size[s]
                           if _fits(spans[b], span)), None)
        if chosen is None:
            chosen = len(sizes)
            sizes.append(size)
            spans.append([])
            by_size.setdefault(size, []).append(chosen)
        if sizes[chosen] == size:
            own.take(chosen, span[1])
        bisect.insort(spans[chosen], span)
        for name in chains[head]:
            buffers[name] = chosen
    return buffers, sizes


class _OwnClass:
    """The buffers of one size while the lifetimes of that size are placed, in order of start.

    Until then such a buffer holds only lifetimes placed before (of this size, starting no
    later), so it is free over a span that starts at `s` exactly when its last lifetime ended
    before `s`: a heap of (end, buffer) finds the free ones, and a heap of ids the first of them.
    That keeps `_assign_buffers` n log n where the same-size values live at once are many.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy: list = []  # (end of the last lifetime, buffer id)
        self.free: list = []  # ids of buffers whose lifetimes have all ended

    def free_at(self, start: int) -> int | None:
        """The lowest-numbered buffer of this size free from `start` on, or None."""
        while self.busy and self.busy[0][0] < start:
            heapq.heappush(self.free, heapq.heappop(self.busy)[1])
        return heapq.heappop(self.free) if self.free else None

    def take(self, buffer: int, end: int) -> None:
        heapq.heappush(self.busy, (end, buffer))


def _fits(taken: list, span: tuple) -> bool:
    """True when `span` overlaps none of the sorted, disjoint spans `taken` (ends included)."""
    i = bisect.bisect_left(taken, span)
    return (i == 0 or taken[i - 1][1] < span[0]) and (i == len(taken) or span[1] < taken[i][0])


def _label_views(live: _Liveness, buffers: dict) -> dict:
    """Buffer ids of planned values, and of views whose storage is exactly one planned buffer."""
    labels = dict(buffers)
    for name, rs in live.roots.items():
        if live.kinds[name] == VIEW and len(rs) == 1:
            (root,) = rs
            if root in buffers:
                labels[name] = buffers[root]
    return labels

