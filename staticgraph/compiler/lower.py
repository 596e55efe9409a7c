"""lower: turn a schedule and its memory plan into a flat list of steps over integer slots.

A `Program` is what the executor runs. Each value has a slot in a flat list; each step is a
tuple (kind, kernel, input slot(s), second input slot, output buffer, output slot) with the
kernel's attrs already bound, so running a step needs no names, no graph and no shape work.
`Program.instantiate()` allocates the planned buffers (one set per concurrent run).

Step kinds: OUT2 / OUT1 call a kernel on two / one inputs writing into a planned buffer; CALL2 /
CALL1 / CALLN call a kernel that allocates its own result; STATE passes the run's variable
state first; HOUSE steps (`fn(env, slots)`) drop dead values, and in debug mode poison released
buffers and check each result's shape and dtype against the plan.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from staticgraph.compiler.memory import BUFFER, EXTERNAL, NAIVE, NONE, MemoryPlan
from staticgraph.compiler.rewrite import CONSTANT, feeds_of, fetches_of
from staticgraph.errors import GraphError
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import fmt, known

OUT2, OUT1, CALL2, CALL1, CALLN, STATE, HOUSE = range(7)


@dataclass
class StepInfo:
    """What an error message needs to know about the step that writes a slot."""
    name: str
    op: str
    source: str
    inputs: tuple


@dataclass
class Program:
    """A lowered, ready-to-instantiate executable: steps over slots, and its buffer sizes."""
    templates: list
    buffer_bytes: tuple
    slot_of: dict
    feed_slots: tuple
    fetch_slots: tuple
    constants: list
    infos: dict
    stateful: bool
    size: int
    no_output: tuple = field(default=())

    def instantiate(self) -> tuple[list, list]:
        """Fresh buffers, the steps bound to them and an env (slot list) holding the constants."""
        raw = [np.empty(n, np.uint8) for n in self.buffer_bytes]
        steps = [template(raw) for template in self.templates]
        env = [None] * self.size
        for slot, value in self.constants:
            env[slot] = value
        return steps, env


def lower(graph: Graph, plan: MemoryPlan, debug: bool = False) -> Program:
    """The `Program` running `plan.schedule` of `graph` with the buffers `plan` assigns.

    In debug mode released buffers are filled with NaN (ints: their minimum, bools: True) and
    dead slots emptied, so a read the plan did not foresee shows in the results.
    """
    feeds, fetches = feeds_of(graph), fetches_of(graph)
    constants = [n for n, op in graph.nx.nodes(data="op") if op == CONSTANT]
    slot_of = {name: i for i, name in enumerate(dict.fromkeys([*feeds, *constants, *plan.schedule]))}
    templates, infos = [], {}
    for t, name in enumerate(plan.schedule):
        node = graph.nx.nodes[name]
        inputs = tuple(slot_of[i] for i in graph.inputs(name))
        templates.append(_step(node, inputs, slot_of[name], plan, name))
        infos[slot_of[name]] = StepInfo(name, node["op"], node["source"], inputs)
        templates.extend(_housekeeping(plan, t, name, slot_of, debug))
    return Program(
        templates=templates, buffer_bytes=plan.buffer_bytes, slot_of=slot_of,
        feed_slots=tuple(slot_of[f] for f in feeds),
        fetch_slots=tuple(slot_of[f] for f in fetches),
        constants=[(slot_of[c], graph.nx.nodes[c]["attrs"]["value"]) for c in constants],
        infos=infos, stateful=any(k == EXTERNAL for k in plan.kinds.values()),
        size=len(slot_of),
        no_output=tuple("no_output" in get_op(graph.nx.nodes[f]["op"]).traits for f in fetches))


def _step(node: dict, inputs: tuple, out: int, plan: MemoryPlan, name: str):
    """A template: raw buffers -> the step tuple."""
    op = get_op(node["op"])
    kernel = functools.partial(op.kernel, **node["attrs"]) if node["attrs"] else op.kernel
    if "stateful" in op.traits:
        return lambda raw: (STATE, kernel, inputs, None, None, out)
    arity = len(inputs)
    first, second = (inputs[0], inputs[-1]) if arity in (1, 2) else (inputs, None)
    if plan.kinds[name] != BUFFER:
        kind = {1: CALL1, 2: CALL2}.get(arity, CALLN)
        return lambda raw: (kind, kernel, first, second, None, out)
    view = _typed_view(plan, name)
    if arity in (1, 2):
        kind = OUT1 if arity == 1 else OUT2
        return lambda raw: (kind, kernel, first, second, view(raw), out)
    return lambda raw: (CALLN, functools.partial(kernel, out=view(raw)), inputs, None, None, out)


def _typed_view(plan: MemoryPlan, name: str):
    """raw buffers -> value `name`'s array in its planned buffer."""
    spec, buffer = plan.specs[name], plan.buffers[name]
    nbytes = int(np.prod(spec.shape, dtype=np.int64)) * spec.dtype.itemsize
    return lambda raw: raw[buffer][:nbytes].view(spec.dtype).reshape(spec.shape)


def _housekeeping(plan: MemoryPlan, t: int, name: str, slot_of: dict, debug: bool) -> list:
    templates = []
    spec = plan.specs[name]
    if debug and known(spec.shape) and plan.kinds[name] != NONE and spec.dtype.kind != "O":
        templates.append(_check_template(slot_of[name], name, spec))
    if debug:
        templates.extend(_poison_template(plan, r) for r in plan.released[t])
    dead = [m for m in plan.dies[t] if debug or m in plan.holds_storage]
    if dead and plan.mode != NAIVE:
        slots = tuple(slot_of[m] for m in dead)
        templates.append(lambda raw: (HOUSE, _clear, slots, None, None, -1))
    return templates


def _clear(env: list, slots: tuple) -> None:
    for s in slots:
        env[s] = None


def _poison_template(plan: MemoryPlan, name: str):
    view, dtype = _typed_view(plan, name), plan.specs[name].dtype
    fill = np.nan if dtype.kind == "f" else True if dtype.kind == "b" else np.iinfo(dtype).min

    def template(raw: list) -> tuple:
        released = view(raw)
        return HOUSE, lambda env, slots: released.fill(fill), (), None, None, -1
    return template


def _check_template(slot: int, name: str, spec):
    def check(env: list, _) -> None:
        value = env[slot]
        if np.shape(value) != spec.shape or np.result_type(value) != spec.dtype:
            raise GraphError(f"node {name!r} produced a {np.result_type(value)} value of shape "
                             f"{fmt(np.shape(value))}, but its shape rule promised "
                             f"{fmt(spec.shape)} {spec.dtype}")
    return lambda raw: (HOUSE, check, (), None, None, -1)
