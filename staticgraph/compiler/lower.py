"""lower: turn a schedule and its memory plan into a flat list of steps over integer slots.

A `Program` is what the executor runs. Each value has a slot in a flat list; each step is a
tuple (kind, kernel, input slot(s), second input slot, output buffer, output slot) with the
kernel's attrs already bound, so running a step needs no names, no graph and no shape work.
`Program.instantiate()` allocates the planned buffers (one set per concurrent run).

Step kinds: UFUNC2 / UFUNC1 call a numpy ufunc on two / one inputs with a planned buffer as
positional `out`; OUT2 / OUT1 call another kernel with `out=` a planned buffer; CALL2 / CALL1 /
CALLN call a kernel (ufuncs included) that allocates its own result; STATE passes the run's
variable state first (an update in place first empties the slots its fourth field names); BOUND
puts a value made once per instance in its slot (one output of a fused node in its planned
buffer: a view of that buffer, which the same step would make anew at every run); HOUSE
steps (`fn(env, slots)`) drop dead values, and in debug mode poison released buffers and check
each result's shape and dtype against the plan. Slots that hold a variable's arrays (or views
of them) are dropped once, after the run (`after_run`): the variable store keeps those arrays
alive through the run anyway, except before an update the plan lets write in place. A 2-D
transpose that only a matmul reads has no step: the matmul's takes the untransposed operand.
Variable reads scheduled before any update (or control flow, which may update) are not steps
either: the run makes them first (`reads`); nor are no_op nodes, which do nothing.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np

from staticgraph.compiler.memory import BUFFER, EXTERNAL, NAIVE, NONE, VIEW, MemoryPlan
from staticgraph.compiler.rewrite import (CONSTANT, UPDATES, VARIABLE, by_variable,
                                          constant_value, feeds_of, fetches_of, transposed_matrix)
from staticgraph.errors import GraphError
from staticgraph.graph import Graph
from staticgraph.ops.linalg import MATMUL_OF_TRANSPOSED
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import fmt, known, num_elements

UFUNC2, UFUNC1, CALL2, CALL1, OUT2, OUT1, CALLN, STATE, HOUSE, BOUND = range(10)
CLEAR_MIN_BYTES = 1024  # smaller dead values are left in their slots until the next run


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
    no_output: tuple
    after_run: tuple = ()
    touched: tuple | None = None
    reads: tuple = ()

    def instantiate(self) -> tuple[list, list]:
        """Fresh buffers, the steps bound to them and an env (slot list) holding the constants.

        The env has one spare slot past `size`, where fed values that no step reads may go.
        """
        raw = [np.empty(n, np.uint8) for n in self.buffer_bytes]
        steps = [template(raw) for template in self.templates]
        env = [None] * (self.size + 1)
        for slot, value in self.constants:
            env[slot] = value
        return steps, env


def lower(graph: Graph, plan: MemoryPlan, debug: bool = False,
          every_value_checked: bool = False) -> Program:
    """The `Program` running `plan.schedule` of `graph` with the buffers `plan` assigns.

    In debug mode released buffers are filled with NaN (ints: their minimum, bools: True) and
    dead slots emptied, so a read the plan did not foresee shows in the results. With
    `every_value_checked` (check_numerics, which may fail a run after any step) every variable
    read is a step and every update writes a new array.
    """
    feeds, fetches = feeds_of(graph), fetches_of(graph)
    constants = [n for n, op in graph.nx.nodes(data="op") if op == CONSTANT]
    named = dict.fromkeys([*feeds, *constants, *plan.schedule])
    slot_of = {name: i for i, name in enumerate(named)}
    values = [(slot_of[c], graph.nx.nodes[c]["attrs"]["value"]) for c in constants]
    templates, infos = [], {}
    variable_held = _variable_held(graph, plan)
    in_place = {} if every_value_checked else plan.updates_in_place
    folded = {} if debug else _folded_transposes(graph, plan, set(fetches))
    deferred: dict = {}  # reader -> housekeeping of the transposes folded into it
    first_reads = [] if every_value_checked else _first_reads(graph, plan)
    for t, name in enumerate(plan.schedule):
        node = graph.nx.nodes[name]
        if name in first_reads or node["op"] == "no_op":
            infos[slot_of[name]] = StepInfo(name, node["op"], node["source"], ())
            templates.extend(_housekeeping(plan, t, name, slot_of, debug, variable_held))
            continue
        if name in folded:  # its reader runs it: its housekeeping waits for that reader
            deferred.setdefault(folded[name], []).extend(
                _housekeeping(plan, t, name, slot_of, debug, variable_held))
            continue
        node_inputs = graph.inputs(name)
        scalar_fn = _scalar_operator(name, node, plan, node_inputs)
        untransposed = [graph.inputs(i)[0] if i in folded else i for i in node_inputs]
        inputs = tuple(_scalar_twin(slot_of, values, i, graph) if scalar_fn else slot_of[i]
                       for i in untransposed)
        # nothing of this run may still hold the array a variable update writes in place
        sharing = tuple(slot_of[m] for m in in_place[name]) if name in in_place else None
        if node["op"] == "fused_output" and plan.kinds.get(node_inputs[0]) == BUFFER:
            templates.append(_bound_view(node, node_inputs[0], slot_of[name], plan))
        else:
            templates.append(_step(node, inputs, slot_of[name], plan, name, scalar_fn, sharing,
                                   tuple(i in folded for i in node_inputs)))
        infos[slot_of[name]] = StepInfo(name, node["op"], node["source"], inputs)
        templates.extend(_housekeeping(plan, t, name, slot_of, debug, variable_held))
        templates.extend(deferred.pop(name, ()))
    return Program(
        templates=templates, buffer_bytes=plan.buffer_bytes, slot_of=slot_of,
        feed_slots=tuple(slot_of[f] for f in feeds),
        fetch_slots=tuple(slot_of[f] for f in fetches), constants=values, infos=infos,
        stateful=any(k == EXTERNAL for k in plan.kinds.values()), size=len(slot_of),
        no_output=tuple("no_output" in get_op(graph.nx.nodes[f]["op"]).traits for f in fetches),
        after_run=tuple(slot_of[m] for m in plan.schedule
                        if m in variable_held and m in plan.holds_storage),
        touched=_touched_variables(graph, plan) if in_place else None,
        reads=tuple((slot_of[n], graph.nx.nodes[n]["attrs"]["var"]) for n in first_reads))


# A binary ufunc on two numpy scalars costs ten times what the same Python operator costs (numpy
# scalars have their own arithmetic); for arrays the operator calls the very same ufunc.
_OPERATORS = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
              np.true_divide: operator.truediv}


# numpy deprecates a positional `out` for these two ufuncs.
_KEYWORD_OUT = {np.maximum, np.minimum}


def _scalar_operator(name: str, node: dict, plan: MemoryPlan, input_names: list):
    """The Python operator standing for a step on scalars that allocates its result, or None."""
    fn = _OPERATORS.get(get_op(node["op"]).kernel)
    if fn is None or node["attrs"] or plan.kinds[name] == BUFFER:
        return None
    return fn if all(plan.specs[i].shape == () for i in input_names) else None


def _scalar_twin(slot_of: dict, values: list, name: str, graph: Graph) -> int:
    """The slot of `name`, or for a 0-d constant that of its value as a numpy scalar."""
    value = constant_value(graph, name)
    if value is None:
        return slot_of[name]
    twin = f"{name}#scalar"
    if twin not in slot_of:
        slot_of[twin] = len(slot_of)
        values.append((slot_of[twin], value[()]))
    return slot_of[twin]


def _touched_variables(graph: Graph, plan: MemoryPlan) -> tuple:
    """The variables the schedule reads or updates (a run updating in place checks them first)."""
    return tuple(by_variable(graph, plan.schedule, (VARIABLE, *UPDATES)))


def _first_reads(graph: Graph, plan: MemoryPlan) -> list:
    """The variable reads scheduled before any other step that reads or changes state."""
    reads = []
    for name in plan.schedule:
        op = graph.nx.nodes[name]["op"]
        if op == VARIABLE:
            reads.append(name)
        elif "stateful" in get_op(op).traits:
            break
    return reads


def _folded_transposes(graph: Graph, plan: MemoryPlan, fetched: set) -> dict:
    """transpose -> its reader, for the 2-D transposes read by one matmul alone and not
    fetched: the matmul's step takes the untransposed operand (see MATMUL_OF_TRANSPOSED), so
    only where that operand is still held when the matmul runs (not released after another
    reader scheduled between the two)."""
    folded = {}
    position = {name: t for t, name in enumerate(plan.schedule)}
    dies_at = {m: t for t, dead in enumerate(plan.dies) for m in dead}
    for name in plan.schedule:
        if name in fetched or transposed_matrix(graph, name) is None:
            continue
        readers = graph.consumers(name)
        if len(readers) == 1 and graph.nx.nodes[readers[0]]["op"] == "matmul" \
                and len(graph.nx.nodes[readers[0]]["shape"]) == 2 \
                and not position[name] < dies_at.get(graph.inputs(name)[0], -1) \
                < position[readers[0]]:
            folded[name] = readers[0]
    return folded


def _step(node: dict, inputs: tuple, out: int, plan: MemoryPlan, name: str, scalar_fn,
          sharing: tuple | None, transposed: tuple):
    """A template: raw buffers -> the step tuple. `sharing`: for an update in place, the slots
    to empty first; `transposed`: which inputs come untransposed (a matmul's only)."""
    op = get_op(node["op"])
    attrs = dict(node["attrs"], in_place=True) if sharing is not None else node["attrs"]
    kernel = functools.partial(op.kernel, **attrs) if attrs else op.kernel
    if any(transposed):
        kernel = MATMUL_OF_TRANSPOSED[transposed]
    if "stateful" in op.traits:
        return lambda raw: (STATE, kernel, inputs, sharing, None, out)
    arity = len(inputs)
    first, second = (inputs[0], inputs[-1]) if arity in (1, 2) else (inputs, None)
    if plan.kinds[name] != BUFFER:  # a ufunc too is fastest called with no `out` at all
        kind = {1: CALL1, 2: CALL2}.get(arity, CALLN)
        kernel = scalar_fn or kernel
        return lambda raw: (kind, kernel, first, second, None, out)
    # ufuncs take `out` as a positional argument, which numpy parses fastest.
    ufunc = isinstance(kernel, np.ufunc) and kernel not in _KEYWORD_OUT and arity in (1, 2)
    view = _typed_view(plan, name)
    if arity in (1, 2):
        kind = ((UFUNC1, UFUNC2) if ufunc else (OUT1, OUT2))[arity - 1]
        return lambda raw: (kind, kernel, first, second, view(raw), out)
    return lambda raw: (CALLN, functools.partial(kernel, out=view(raw)), inputs, None, None, out)


def _bound_view(node: dict, base: str, out: int, plan: MemoryPlan):
    """A template: raw buffers -> a BOUND step holding the view `node` takes of value `base`,
    which lives in its planned buffer (the fused kernel writes there and returns that array)."""
    kernel, array = functools.partial(get_op(node["op"]).kernel, **node["attrs"]), \
        _typed_view(plan, base)
    return lambda raw: (BOUND, None, None, None, kernel(array(raw)), out)


def _typed_view(plan: MemoryPlan, name: str):
    """raw buffers -> value `name`'s array in its planned buffer."""
    spec, buffer = plan.specs[name], plan.buffers[name]
    nbytes = int(np.prod(spec.shape, dtype=np.int64)) * spec.dtype.itemsize
    return lambda raw: raw[buffer][:nbytes].view(spec.dtype).reshape(spec.shape)


def _variable_held(graph: Graph, plan: MemoryPlan) -> set:
    """The values that are a variable's array or views only of such arrays."""
    held: set = set()
    for name in plan.schedule:
        kind = plan.kinds[name]
        if kind == EXTERNAL or kind == VIEW and all(i in held for i in graph.inputs(name)):
            held.add(name)
    return held


def _housekeeping(plan: MemoryPlan, t: int, name: str, slot_of: dict, debug: bool,
                  variable_held: set) -> list:
    templates = []
    spec = plan.specs[name]
    # Packed tuples and strings (bytes of any length) have no one numpy dtype to compare.
    if debug and known(spec.shape) and plan.kinds[name] != NONE and spec.dtype.kind not in "OS":
        templates.append(_check_template(slot_of[name], name, spec))
    if debug:
        templates.extend(_poison_template(plan, r) for r in plan.released[t])
    dead = [m for m in plan.dies[t] if debug or (
        m in plan.holds_storage and m not in variable_held and _worth_freeing(plan, m))]
    if dead and plan.mode != NAIVE:
        slots = tuple(slot_of[m] for m in dead)
        templates.append(lambda raw: (HOUSE, clear_slots, slots, None, None, -1))
    return templates


def _worth_freeing(plan: MemoryPlan, name: str) -> bool:
    """Dropping a reference costs a step: worth it for values of CLEAR_MIN_BYTES and more."""
    count = num_elements(plan.specs[name].shape)
    return count is None or count * plan.specs[name].dtype.itemsize >= CLEAR_MIN_BYTES


def clear_slots(env: list, slots: tuple) -> None:
    """Drop the values in `slots` (a housekeeping step)."""
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
