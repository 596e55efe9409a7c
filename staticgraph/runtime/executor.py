"""compile and Executable: fetches turned into an optimised, scheduled, memory-planned program.

`compile` prunes the graph to what the fetches need, runs the optimisation passes and schedules
the result; per feed-shape signature the Executable then plans memory and lowers the plan to a
flat `Program` (see `staticgraph.compiler.lower`), whose steps over integer slots and planned
buffers run as straight-line Python (`staticgraph.runtime.codegen`); `execute` interprets the
same steps one at a time, for check_numerics.
"""
from __future__ import annotations

import functools
import gc
import operator
import threading
import time
import weakref
from typing import NamedTuple

import numpy as np

from staticgraph.compiler import (LATE_PASSES, PassManager, PassRecord, feeds_of, fetches_of, lower,
                                  needed_nodes, plan_within_budget, prune, schedule, specialize)
from staticgraph.compiler.budget import check_budget
from staticgraph.compiler.lower import (BOUND, CALL1, CALL2, CALLN, OUT1, OUT2, STATE, UFUNC1,
                                        UFUNC2, Program)
from staticgraph.compiler.memory import FRESH
from staticgraph.compiler.rewrite import UPDATES
from staticgraph.compiler.verify import compatible
from staticgraph.errors import InvalidArgumentError, StaticGraphError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import fmt, known
from staticgraph.nest import flatten, unflatten
from staticgraph.runtime.codegen import StraightLine
from staticgraph.runtime.feeds import check_feed, feed_items, node_name
from staticgraph.runtime import fused_kernels  # noqa: F401  (makes the fused op's kernels)
from staticgraph.runtime.numerics import check_value
from staticgraph.runtime.reference import KERNEL_ERRORS, check_fed, kernel_failure
from staticgraph.runtime.state import RunState, VariableStore
from staticgraph.text import counted

MEMORY_MODES = ("plan", "naive", "remat")
MAX_CACHED_VARIANTS = 32  # feed-shape variants (plan, program, buffers) one Executable keeps
FAST_PATHS = 64  # short paths (see `Executable.run`) one Executable remembers


class Options(NamedTuple):
    """How an Executable is built: optimisation on or off, memory mode, budget, debug checks."""
    optimize: bool = True
    memory: str = "plan"
    budget_bytes: int | None = None
    debug_memory: bool = False
    check_numerics: bool = False
    max_cached_variants: int = MAX_CACHED_VARIANTS
    fuse: bool = True

    @property
    def fuses(self) -> bool:
        """Whether LATE_PASSES (fusion) run: with optimisation, not under check_numerics
        (which names the node making a NaN) nor in "remat" (which recomputes single ops)."""
        return self.fuse and self.optimize and not self.check_numerics and self.memory != "remat"


def compile(fetches, feeds=None, optimize: bool = True, memory: str = "plan",
            budget_bytes: int | None = None, debug_memory: bool = False,
            check_numerics: bool = False, *, graph: Graph | None = None,
            store: VariableStore | None = None,
            max_cached_variants: int = MAX_CACHED_VARIANTS, fuse: bool = True) -> "Executable":
    """Compile `fetches` into an Executable: pruned, optimised, scheduled and memory-planned.

    Args:
        fetches: a Tensor, op or node name, or a nested list / tuple / dict of them.
        feeds: the tensors (or names) that will be fed; None: the placeholders the fetches need.
        optimize: run the optimisation passes (fold, simplify, CSE, DCE) after pruning.
        memory: "plan" (buffers shared and reused, in place where safe), "naive" (one buffer
            per value, all kept) or "remat" (as "plan", recomputing forward values for the
            backward pass instead of keeping them: see `staticgraph.compiler.remat`).
        budget_bytes: the most bytes the plan may need; "remat" recomputes what it must to fit
            (without a budget: checkpoints every ~sqrt(n) stored values); the other modes and
            an unreachable budget fail, giving the smallest peak reached.
        debug_memory: poison every released buffer (NaN) and check every result against its
            planned shape and dtype; verify every pass's output. Results must not change.
        check_numerics: check every float value a run computes; the first node that makes a
            NaN or an Inf fails the run with a NumericsError naming the node, its op, its
            source line and its inputs' ranges (see `staticgraph.runtime.numerics`).
        graph: the graph of name fetches (default: that of the tensors, else the default graph).
        store: where variables live (default: one store per graph, shared by its executables).
        max_cached_variants: how many feed-shape variants (each a memory plan, a program and
            its buffers) to keep; beyond it the least recently used is dropped, and made
            again if its shapes come back.
        fuse: fuse regions of elementwise ops into single generated kernels (numba-compiled
            when numba is installed; see `staticgraph.compiler.fusion` and
            `staticgraph.runtime.fused_kernels`), once the fed shapes are known. Off under
            check_numerics and memory="remat".
    Returns:
        An Executable; `.run(feed_dict)` returns values in the structure of `fetches`.
    Raises:
        InvalidArgumentError for an unfed placeholder a fetch needs, a bad option (naming it),
        or a budget the plan cannot meet (at compile time when every fed shape is known, else
        at a run).
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (4,), name="x")
        >>> y = 2 * sg.dot(x, x)
        >>> exe = sg.compile([y, sg.gradients(y, [x])[0]])
        >>> [v.tolist() for v in exe.run({x: np.arange(4.0)})]
        [28.0, [0.0, 4.0, 8.0, 12.0]]
    """
    if not isinstance(memory, str) or memory not in MEMORY_MODES:
        raise InvalidArgumentError(f"compile: memory must be 'plan', 'naive' or 'remat', got "
                                   f"{memory!r}")
    check_budget(budget_bytes)
    _check_count("max_cached_variants", max_cached_variants)
    if isinstance(feeds, (Tensor, str)):
        feeds = [feeds]
    leaves = flatten(fetches)
    if not leaves:
        raise InvalidArgumentError("nothing to fetch: fetches is empty")
    graph = graph or _graph_of(leaves + list(feeds or ()))
    fetch_names = [node_name(graph, f, "fetch") for f in leaves]
    if feeds is None:
        feed_names = [n for n in needed_nodes(graph, fetch_names, ())
                      if graph.node(n)["op"] == "placeholder"]
    else:
        feed_names = [node_name(graph, f, "feed key") for f in feeds]
    check_fed(graph, needed_nodes(graph, fetch_names, feed_names), set(feed_names), fetch_names)
    options = Options(bool(optimize), memory, budget_bytes, bool(debug_memory),
                      bool(check_numerics), max_cached_variants, bool(fuse))
    return Executable(graph, fetches, fetch_names, feed_names, options, store)


def _collector_paused(build):
    """`build` run with Python's cyclic garbage collector held off (then restored).

    Compiling allocates many containers while large graphs are alive (the source, and each
    pass's output, which the records keep); each of the collector's full passes walks every
    one of them, so on a 60,000-node graph the collector alone took about a third of the
    compile. The garbage a compile leaves (graphs it discarded) is collected afterwards, as
    usual.
    """
    @functools.wraps(build)
    def paused(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return paused


def _check_count(what: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"compile: {what} must be a positive int, got {value!r}")


def _graph_of(keys: list) -> Graph:
    return next((k.graph for k in keys if isinstance(k, Tensor)), None) or get_default_graph()


_STORES: "weakref.WeakKeyDictionary[Graph, VariableStore]" = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def default_store(graph: Graph) -> VariableStore:
    """The variable store shared by the executables compiled outside a Session for `graph`."""
    with _STORES_LOCK:
        return _STORES.setdefault(graph, VariableStore())


class Executable:
    """Fetches compiled for running: `.run(feed_dict)` gives values in the fetches' structure.

    Attributes:
        graph: the optimised sub-graph (a Graph; draw it with sg.to_dot), specialised to the
            latest fed shapes once they are known.
        schedule: the names of the nodes that run, in run order (for that graph).
        passes: one PassRecord per pass applied (prune first, then those run again once the fed
            shapes are known), each with its output graph.
        memory: the MemoryPlan of the fed shapes of the latest run, or of the latest plan made
            (at compile time when every fed shape is known, else at the first run; one plan is
            made per shape signature and kept).
        variants: the feed-shape signatures whose plan, program and buffers are kept, least
            recently used first: at most `max_cached_variants` (a compile option); a run of
            another signature drops the least recently used one (`evictions` counts them) and
            makes its own.
    """

    @_collector_paused
    def __init__(self, source: Graph, structure, fetch_names: list, feed_names: list,
                 options: Options, store: VariableStore | None = None) -> None:
        self.source, self.options = source, options
        self.store = store if store is not None else default_store(source)
        self._structure = structure
        self.fetch_names, self.feed_names = tuple(fetch_names), tuple(dict.fromkeys(feed_names))
        start = time.perf_counter()
        pruned = prune(source, fetch_names, self.feed_names)
        self.generic_passes = [PassRecord("prune", len(source), len(pruned), pruned,
                                          time.perf_counter() - start)]
        self.generic_graph = pruned
        if options.optimize:
            self.generic_graph, records = self.pass_manager().run(pruned)
            self.generic_passes += records
        self.run_feeds = tuple(feeds_of(self.generic_graph))
        self._variants: dict[tuple, _Variant] = {}  # in order of use, the latest last
        self._fast: dict = {}  # feed_key -> the bound run of its variant (see `run`)
        self._kept: dict = {}  # feed_key -> the feed keys whose ids it holds, and its variant
        self.evictions = 0
        self._lock = threading.Lock()
        self._latest: _Variant | None = None
        self.static_shapes = tuple(self.generic_graph.node(f)["shape"] for f in self.run_feeds)
        if all(known(s) for s in self.static_shapes):
            self.variant(self.static_shapes)

    def pass_manager(self) -> PassManager:
        return PassManager(check=self.options.debug_memory)

    @property
    def graph(self) -> Graph:
        return self.generic_graph if self._latest is None else self._latest.graph

    @property
    def schedule(self) -> list[str]:
        return schedule(self.generic_graph) if self._latest is None else list(self._latest.schedule)

    @property
    def passes(self) -> list[PassRecord]:
        return self.generic_passes + ([] if self._latest is None else self._latest.passes)

    @property
    def memory(self):
        """The MemoryPlan of the latest feed-shape signature (None before one is known)."""
        return None if self._latest is None else self._latest.plan

    @property
    def variants(self) -> list[tuple]:
        return list(self._variants)

    def run(self, feed_dict: dict | None = None):
        """Run with `feed_dict` (keys: tensors or names of this executable's feeds).

        A run whose feed keys are the same objects as an earlier successful run's, fed arrays
        of the same type, dtype and shape, takes a short path: those arrays passed the feed
        checks as they are, so nothing is checked again and the program bound then runs.

        Raises InvalidArgumentError for a missing, unknown, misshapen or mistyped feed and for a
        failing kernel (naming the node); FailedPreconditionError for an uninitialised variable.
        """
        short = self._fast.get(feed_key(feed_dict))
        if short is not None:
            variant, run = short
            if variant is not self._latest:  # a use of another variant: now the most recent
                self._touch(variant)
            return run(feed_dict.values() if feed_dict else ())
        values, as_is = self._checked_feeds(feed_dict)
        outputs = self.run_noting_evictions(values, self.store, self._forget_evicted)
        if as_is:
            self._remember(feed_dict, tuple(v.shape for v in values))
        return unflatten(self._structure, outputs)

    def _remember(self, feed_dict, signature: tuple) -> None:
        """Keep a short path for runs fed like this one (see `run`)."""
        key = feed_key(feed_dict)
        if key is None or len(self._fast) >= FAST_PATHS:
            return
        variant = self.variant(signature)
        program = variant.program
        # Feeds the pruned graph does not use go to the spare slot, which no step reads.
        slots = tuple(program.feed_slots[self.run_feeds.index(name)]
                      if name in self.run_feeds else program.size
                      for name in (node_name(self.source, k, "feed key") for k in feed_dict or ()))
        structure = self._structure
        kind = type(structure)
        if isinstance(structure, (Tensor, str)) or (kind in (list, tuple) and all(
                isinstance(leaf, (Tensor, str)) for leaf in structure)):
            run = variant.bind(slots, self.store, kind)
        else:
            bound = variant.bind(slots, self.store, list)

            def run(values):
                return unflatten(structure, bound(values))
        with self._lock:
            if not variant.evicted:
                self._kept[key] = (list(feed_dict or ()), variant)
                self._fast[key] = (variant, run)

    def _touch(self, variant: "_Variant") -> None:
        """Count a short path's run of `variant` as a use (see `max_cached_variants`)."""
        with self._lock:
            if self._variants.get(variant.signature) is variant:
                self._variants[variant.signature] = self._variants.pop(variant.signature)
                self._latest = variant

    def _forget_evicted(self) -> None:
        """Drop the short paths of variants no longer kept (which frees their buffers)."""
        with self._lock:
            for key in [k for k, kept in self._kept.items() if kept[1].evicted]:
                self._fast.pop(key, None)
                self._kept.pop(key, None)

    def check_feeds(self, feed_dict: dict) -> list:
        """The fed values as arrays of the right dtype, in `run_feeds` order."""
        return self._checked_feeds(feed_dict)[0]

    def _checked_feeds(self, feed_dict: dict) -> tuple[list, bool]:
        """`check_feeds`, and whether every key named its own feed and every value passed the
        checks as it is (so that a run fed alike may skip them: see `run`)."""
        by_name, as_is = {}, True
        items = feed_items(feed_dict)
        for key, value in items:
            name = node_name(self.source, key, "feed key")
            if name not in self.feed_names:
                raise InvalidArgumentError(
                    f"feed key {key!r} is not a feed of this executable; its feeds are "
                    f"{list(self.feed_names)} (compile with feeds=[...] to change them)")
            by_name[name] = check_feed(self.source, name, value)
            as_is = as_is and by_name[name] is value
        for name in self.run_feeds:
            if name not in by_name:
                node = self.source.node(name)
                raise InvalidArgumentError(
                    f"{node['op']} {name!r} (created at {node['source']}) must be fed: this "
                    f"executable was compiled with it as a feed. Pass feed_dict={{{name}: value}}")
        return [by_name[name] for name in self.run_feeds], as_is and len(by_name) == len(items)

    def run_noting_evictions(self, values: list, store, forget) -> list:
        """`run_checked`, then `forget()` when the run evicted a compiled variant, so that no
        short path keeps the evicted one (even when the run failed)."""
        evictions = self.evictions
        try:
            return self.run_checked(values, store)
        finally:
            if self.evictions != evictions:
                forget()

    def run_checked(self, values: list, store: VariableStore) -> list:
        """The fetched values (flat, in fetch order) for checked feed `values` and a store."""
        variant = self.variant(tuple(v.shape for v in values))
        return variant.bind(variant.program.feed_slots, store, list)(values)

    def plan_for(self, feed_shapes: dict):
        """The MemoryPlan a run with fed values of these shapes uses (made now if need be).

        Args:
            feed_shapes: feed (tensor or name) -> shape, for every feed of this executable.
        Raises:
            InvalidArgumentError for a missing feed or a shape its placeholder cannot take.
        Example:
            >>> import staticgraph as sg
            >>> x = sg.placeholder(sg.float32, (None, 8), name="x")
            >>> exe = sg.compile(sg.sum(sg.exp(x) * x))
            >>> exe.plan_for({"x": (4, 8)}).buffer_bytes
            (128,)
        """
        shapes = {node_name(self.source, k, "feed key"): tuple(v) for k, v in feed_shapes.items()}
        for name in self.run_feeds:
            static = self.generic_graph.node(name)["shape"]
            shape = shapes.get(name)
            if shape is None or not known(shape) or not compatible(shape, static):
                got = "none" if shape is None else fmt(shape)
                raise InvalidArgumentError(f"feed {name!r} needs a full shape that fits its "
                                           f"placeholder's {fmt(static)}; got {got}")
        return self.variant(tuple(shapes[n] for n in self.run_feeds)).plan

    def variant(self, signature: tuple) -> "_Variant":
        """The plan and program for one tuple of fed shapes (made when first needed, then kept
        while among the `max_cached_variants` most recently used)."""
        with self._lock:
            variant = self._variants.pop(signature, None)
            if variant is None:
                variant = _Variant(self, signature)
            self._variants[signature] = variant  # now the most recently used
            while len(self._variants) > self.options.max_cached_variants:
                dropped = self._variants.pop(next(iter(self._variants)))
                dropped.evicted = True
                self.evictions += 1
            self._latest = variant
        return variant

    def python_source(self) -> str | None:
        """The Python that runs the steps of the latest fed shapes' program, a line per step,
        each commented with its node (None before the shapes are known). With check_numerics
        the same steps run through an interpreter that checks each value instead.

        Example:
            >>> import numpy as np, staticgraph as sg
            >>> x = sg.placeholder(sg.float64, (3,), name="x")
            >>> exe = sg.compile([sg.exp(x, name="y") * 2.0], feeds=[x])
            >>> print(exe.python_source().splitlines()[3])
                        env[2] = exp_0(env[0], buf_0)  # 'y'
        """
        return None if self._latest is None else self._latest.straight_line().source

    def kernel_source(self, node) -> str:
        """The source of the kernel that runs fused node `node` (a name or tensor) for the latest
        fed shapes: numba's when it has switched to it, else the generated numpy code.

        Raises:
            InvalidArgumentError when `node` is not a fused node of the compiled graph.
        """
        name = node if isinstance(node, str) else getattr(node, "name", node)
        graph = self.graph
        fused = name if name in graph.nx and graph.node(name)["op"] == "fused" else None
        if fused is None and name in graph.nx and graph.node(name)["op"] == "fused_output":
            fused = graph.inputs(name)[0]
        if fused is None:
            kernels = [n for n, op in graph.nx.nodes(data="op") if op == "fused"]
            raise InvalidArgumentError(f"{name!r} is not a fused node of this executable; its "
                                       f"fused nodes are {kernels}")
        return graph.node(fused)["attrs"]["region"].kernel.source

    def report(self) -> str:
        """A printable summary: passes (nodes before/after), schedule length, memory figures."""
        fetches = counted(len(self.fetch_names), "fetch", "fetches")
        lines = [f"compiled {fetches} {list(self.fetch_names)}, "
                 f"feeds {list(self.feed_names)}",
                 "passes (nodes before -> after, per round; seconds in all rounds):"]
        lines += pass_table(self.passes)
        lines.append(f"schedule: {counted(len(self.schedule), 'step')}")
        passes = sum(r.seconds for r in self.passes)
        if self._latest is None:
            lines.append(f"compile time: {passes:.3f} s in passes")
            lines.append("memory: planned at the first run, when the fed shapes are known")
        else:
            planning, lowering = self._latest.seconds
            lines.append(f"compile time: {passes + planning + lowering:.3f} s: {passes:.3f} s in "
                         f"passes, {planning:.3f} s scheduling and planning memory, "
                         f"{lowering:.3f} s lowering")
            fed = zip(self.run_feeds, self._latest.signature)
            lines.append(f"feed shapes: {', '.join(f'{n} {fmt(s)}' for n, s in fed) or 'none'}")
            lines.append(self._latest.plan.report())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<sg.Executable {counted(len(self.fetch_names), 'fetch', 'fetches')}, "
                f"{counted(len(self.schedule), 'step')}, memory={self.options.memory}>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Jupyter shows the compiled graph drawn, each value with its buffer (see sg.to_dot)."""
        from staticgraph.io.dot import inline  # io sits above runtime; loaded only to display
        return inline(self, include, exclude)


def feed_key(feed_dict) -> tuple | None:
    """A key equal for feed_dicts with the same key objects, in the same order, holding
    values of the same type, dtype and shape; None for values that are not arrays (and for
    a feed_dict that is no dict). Keys count by id: whoever keeps a short path under this
    key keeps the key objects alive, so an id cannot be reused by another object."""
    if not feed_dict:
        return () if feed_dict is None or type(feed_dict) is dict else None
    key = []
    try:
        for name, value in feed_dict.items():
            key += id(name), type(value), value.dtype, value.shape
    except AttributeError:
        return None
    return tuple(key)  # built as a list: appending costs less than growing a tuple


def pass_table(records: list[PassRecord]) -> list[str]:
    """One line per pass and stage (prune, then specialize), one column per round it ran in,
    then the seconds the pass took over all rounds."""
    rows: dict[tuple, list] = {}
    seconds: dict[tuple, float] = {}
    stage = 0
    for r in records:
        stage += r.name in ("prune", "specialize")
        rows.setdefault((stage, r.name), []).append(f"{r.nodes_before:>5} -> {r.nodes_after:<5}")
        seconds[stage, r.name] = seconds.get((stage, r.name), 0.0) + r.seconds
    width = max((len(cells) for cells in rows.values()), default=0)
    return [f"  {name:<32}" + "  ".join(cells + [" " * 14] * (width - len(cells)))
            + f"  {seconds[stage, name]:7.3f} s" for (stage, name), cells in rows.items()]


class _Variant:
    """An Executable specialised to one feed-shape signature: its memory plan and program."""

    @_collector_paused
    def __init__(self, exe: Executable, signature: tuple) -> None:
        self.signature = signature
        self.evicted = False
        self.graph, self.passes = _specialised(exe, signature)
        if exe.options.fuses:
            for apply in LATE_PASSES:
                before, start = len(self.graph), time.perf_counter()
                self.graph = apply(self.graph)
                self.passes.append(PassRecord(apply.__name__, before, len(self.graph),
                                              self.graph, time.perf_counter() - start))
        start = time.perf_counter()
        planned = plan_within_budget(self.graph, exe.options.memory, exe.options.budget_bytes,
                                     check=exe.options.debug_memory)
        self.graph, self.schedule, self.plan = planned.graph, planned.schedule, planned.plan
        self.passes += planned.passes
        planning = time.perf_counter()
        self.program: Program = lower(self.graph, self.plan, exe.options.debug_memory,
                                      every_value_checked=exe.options.check_numerics)
        for name in self.schedule:  # fused kernels built now, with the collector held off,
            node = self.graph.nx.nodes[name]  # not in the first run (where it ran every few)
            if node["op"] == "fused":
                node["attrs"]["region"].kernel
        # seconds spent scheduling and planning memory (remat included), and lowering
        self.seconds = (planning - start, time.perf_counter() - planning)
        fixes = _fixes(exe.fetch_names, self.graph, self.plan, self.program)
        checked = _numerics_loop(self.program, self.plan.inplace) \
            if exe.options.check_numerics else None
        self._line: StraightLine | None = None
        self.updated = updated_variables(self.graph, self.schedule)
        self.bind = _binder(self.program, fixes, checked, self.straight_line, self.updated)

    @_collector_paused
    def straight_line(self, steps: list | None = None) -> StraightLine:
        """The program as straight-line Python, made once (from `steps`, one instance's steps,
        when given; else from an instance of its own)."""
        if self._line is None:
            self._line = StraightLine(self.program, steps if steps is not None
                                      else self.program.instantiate()[0])
        return self._line


def _binder(program: Program, fixes: tuple, checked_loop, straight_line, updated: tuple):
    """bind(slots, store, kind) -> run(values): the program run on fed `values` (an iterable
    matching `slots`) with the variables of `store`, giving the fetches as a list, a tuple for
    kind tuple, or for any other kind the single fetch itself.

    A run that may update variables (`updated`) holds their locks (`VariableStore.locks`) from
    before its first read to its commit, so runs updating the same variable take turns and a
    read-modify-write never loses another run's update; other runs take no lock.

    The steps run as the straight-line Python `straight_line(steps)` gives, or through
    `checked_loop(program, steps, env, state)` when there is one (check_numerics). All the runs
    bound for one variant share a free list of instances (runner, env); each concurrent run
    takes its own. Closures rather than methods: the hot path reads locals.
    """
    free: list = []
    stateful, after_run, touched = program.stateful, program.after_run, program.touched
    reads = program.reads

    @_collector_paused
    def new_instance():
        steps, env = program.instantiate()
        if checked_loop is not None:
            return functools.partial(checked_loop, program, steps), env
        return straight_line(steps).bind(steps, _failing(program, steps), KERNEL_ERRORS), env

    def bind(slots: tuple, store: VariableStore, kind: type):
        finish = _finisher(program.fetch_slots, fixes, kind)
        single = slots[0] if len(slots) == 1 else None
        locks = store.locks(updated)

        def run(values):
            try:
                steps, env = instance = free.pop()
            except IndexError:
                steps, env = instance = new_instance()
            try:
                if single is not None:
                    (env[single],) = values
                else:
                    for slot, value in zip(slots, values):
                        env[slot] = value
                if locks:
                    for lock in locks:
                        lock.acquire()
                    try:
                        state = RunState(store, touched)
                        if reads:
                            read_variables(program, env, state)
                        steps(env, state)  # the steps, as one function
                        state.commit()
                    finally:
                        for lock in locks:
                            lock.release()
                elif stateful:
                    state = RunState(store, touched)
                    if reads:
                        read_variables(program, env, state)
                    steps(env, state)
                    state.commit()
                else:
                    steps(env, None)
                return finish(env)
            finally:
                if after_run:  # a replaced variable's array is released with the run
                    for slot in after_run:
                        env[slot] = None
                free.append(instance)
        return run
    return bind


def updated_variables(graph: Graph, names) -> tuple:
    """The variables that the nodes `names` of `graph` may update, sorted by name, with those
    updated inside the sub-graphs of control flow (cond branches, loop bodies)."""
    found = set()
    for name in names:
        node = graph.nx.nodes[name]
        if node["op"] in UPDATES:
            found.add(node["attrs"]["var"])
        elif "subgraphs" in get_op(node["op"]).traits:
            for inner in _graphs_in(node["attrs"]):
                found.update(updated_variables(inner, list(inner.nx.nodes)))
    return tuple(sorted(found))


def _graphs_in(value):
    """The Graphs found in `value`, nested in tuples, lists and dicts."""
    if isinstance(value, Graph):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _graphs_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _graphs_in(item)


def _specialised(exe: Executable, signature: tuple) -> tuple[Graph, list[PassRecord]]:
    """The executable's graph specialised to the fed shapes `signature` and optimised again.

    Unchanged when the shapes tell nothing new; unspecialised when a shape rule rejects them
    (the run will fail, and then the kernel names the node, as usual).
    """
    if signature == exe.static_shapes:
        return exe.generic_graph, []
    start = time.perf_counter()
    try:
        graph = specialize(exe.generic_graph, dict(zip(exe.run_feeds, signature)))
    except StaticGraphError:
        return exe.generic_graph, []
    records = [PassRecord("specialize", len(exe.generic_graph), len(graph), graph,
                          time.perf_counter() - start)]
    if exe.options.optimize:
        graph, more = exe.pass_manager().run(graph)
        records += more
    return graph, records


def _finisher(slots: tuple, fixes: tuple, kind: type):
    """env -> the fetched values in `slots` as a run returns them (see `_binder`)."""
    if len(slots) == 1 and not fixes:
        (slot,) = slots
        return (lambda env: [env[slot]]) if kind is list else \
            (lambda env: (env[slot],)) if kind is tuple else (lambda env: env[slot])
    pick = operator.itemgetter(*slots) if len(slots) > 1 else lambda env: (env[slots[0]],)
    if not fixes:
        return (lambda env: list(pick(env))) if kind is list else pick

    def finish(env):
        results = list(pick(env))
        for i, none, copy in fixes:
            results[i] = None if none else _output(results[i], copy)
        return results if kind is list else tuple(results) if kind is tuple else results[0]
    return finish


def _plain(graph: Graph, plan, name: str) -> bool:
    """True when a fetched value is surely new and writeable, and a scalar if it is 0-d.

    So are the results of ufuncs called without `out=`, and of "out" kernels of rank >= 1.
    """
    if plan.kinds.get(name) != FRESH:
        return False
    op, spec = get_op(graph.node(name)["op"]), plan.specs[name]
    return isinstance(op.kernel, np.ufunc) and not graph.node(name)["attrs"] or \
        "out" in op.traits and known(spec.shape) and len(spec.shape) > 0


def _fixes(fetch_names: tuple, graph: Graph, plan, program: Program) -> tuple:
    """(index, no output, copy) of each fetch a run cannot return as the kernel left it: ops
    without output give None, and an array is copied unless it is surely new (a plain result
    fetched once): a variable's array, a view, a kernel's echo of its input never reach the
    caller, who may change what it gets."""
    first: dict = {}
    fixes = []
    for i, (name, slot, none) in enumerate(zip(fetches_of(graph), program.fetch_slots,
                                               program.no_output)):
        duplicate = first.setdefault(slot, fetch_names[i]) != fetch_names[i]
        copy = duplicate or not _plain(graph, plan, name)
        if none or copy:
            fixes.append((i, none, copy))
    return tuple(fixes)


def _output(value, copy: bool):
    """A fetched value as Session.run returns it: arrays the caller may own, 0-d as scalars."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]  # a new scalar: no copy to make first
        return value.copy() if copy else value
    return value


def read_variables(program: Program, env: list, state) -> None:
    """The reads `program.reads` into their slots; an unset variable names its node."""
    slot = -1
    try:
        for slot, var in program.reads:
            env[slot] = state.read(var)
    except StaticGraphError as exc:
        raise _failure(exc, program, slot, env) from None


def execute(program: Program, steps: list, env: list, state) -> None:
    """Interpret `steps` over the slots `env`, one after another (check_numerics runs each step
    through it; plain runs take the straight-line code); a failing kernel names its node."""
    o = -1
    try:
        for kind, fn, a, b, buf, o in steps:
            if kind == UFUNC2:
                env[o] = fn(env[a], env[b], buf)
            elif kind == CALL2:
                env[o] = fn(env[a], env[b])
            elif kind == UFUNC1:
                env[o] = fn(env[a], buf)
            elif kind == CALL1:
                env[o] = fn(env[a])
            elif kind == OUT2:
                env[o] = fn(env[a], env[b], out=buf)
            elif kind == OUT1:
                env[o] = fn(env[a], out=buf)
            elif kind == CALLN:
                env[o] = fn(*[env[i] for i in a]) if a else fn()
            elif kind == BOUND:
                env[o] = buf
            elif kind == STATE:  # variable reads have no inputs: no list to build
                if b:  # an update in place: this run's references to the array go first
                    for i in b:
                        env[i] = None
                env[o] = fn(state, *[env[i] for i in a]) if a else fn(state)
            else:
                fn(env, a)
    except KERNEL_ERRORS as exc:
        raise _failure(exc, program, o, env) from None


def _failure(exc: Exception, program: Program, out: int, env: list) -> Exception:
    """What to raise when the step writing slot `out` raised `exc`: an error naming the node,
    or for a housekeeping check, which names its node itself, `exc`."""
    info = program.infos.get(out)
    if info is None:
        return exc
    return kernel_failure(exc, info.name, info.op, info.source, [env[i] for i in info.inputs])


def _failing(program: Program, steps: list):
    """fail(exc, t, env) for a StraightLine: raises `_failure` of step t of `steps`."""
    def fail(exc: Exception, t: int, env: list):
        raise _failure(exc, program, steps[t][-1], env) from None
    return fail


def _numerics_loop(program: Program, inplace: dict):
    """A loop like `execute` that checks each node's float result for NaN and Inf as soon as
    it is made (see `staticgraph.runtime.numerics`). `inplace` (node -> the input whose buffer
    it overwrites, from the memory plan) says which inputs to copy first, so that the error
    describes the inputs as the node read them."""
    names = {slot: name for name, slot in program.slot_of.items()}
    donors = {program.slot_of[n]: program.slot_of[d] for n, d in inplace.items()}

    def loop(program: Program, steps: list, env: list, state) -> None:
        for step in steps:
            out = step[-1]
            info = program.infos.get(out)
            inputs = [] if info is None else [env[i] for i in info.inputs]
            if out in donors:
                donor = env[donors[out]]
                inputs = [np.copy(v) if np.may_share_memory(v, donor) else v for v in inputs]
            execute(program, (step,), env, state)
            if info is not None:
                check_value(env[out], info.name, info.op, info.source,
                            [(names[i], v) for i, v in zip(info.inputs, inputs)])
    return loop
