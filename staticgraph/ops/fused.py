"""The fused op: a region of elementwise ops (ending, maybe, in sums) run as one kernel.

The fusion pass (`staticgraph.compiler.fusion`) replaces each such region by one `fused` node
whose attrs hold a `Region`: the sub-graph it replaces (placeholders for the region's inputs,
small constants, the members, under their own names), and how its outputs are laid out. One
output is the node's value itself; several share one flat buffer, each read back by a
`fused_output` node (a view) under the name of the node it replaces, so fetches keep their names.
The kernel comes from the runtime (`staticgraph.runtime.fused_kernels` installs the builder):
generated code, numba-compiled when numba is installed. The vjp and jvp replay the sub-graph
with the members' own rules, so a fused graph differentiates like the graph it came from.

`SCALAR_FORMS` lists the ops a region may hold: float elementwise ops whose value at one
element depends on the inputs' values at that element alone; `COMPARISONS` give bool values
that only the region's `where` and `cast` members read; `REDUCTIONS` end a region, over any axes.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from staticgraph.graph import Graph
from staticgraph.ops import array as A
from staticgraph.ops import batching as B
from staticgraph.ops import create as C
from staticgraph.ops.registry import ShapeError, Spec, apply, defop, get_op
from staticgraph.ops.shapes import known

# op -> the inputs it may take of another dtype than the region's: where's condition (bool),
# cast's input (bool, or the other float dtype)
SCALAR_FORMS = {name: () for name in (
    "add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "exp", "log",
    "sin", "cos", "tanh", "sigmoid", "relu", "relu_grad", "abs", "sign", "maximum", "minimum",
    "add_n", "identity", "stop_gradient")}
SCALAR_FORMS["where"] = (0,)
SCALAR_FORMS["cast"] = (0,)
# bool-valued ops on two of the region's values, read inside the region only
COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
REDUCTIONS = ("sum",)  # a region may end in these, over one axis or more
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

_BUILDER: list = []  # the runtime's region -> kernel(*inputs, out=None)


def set_kernel_builder(build) -> None:
    """Install how a region's kernel is made (the runtime does, on import)."""
    _BUILDER[:] = [build]


@dataclass(frozen=True, eq=False)
class Region:
    """A fused region.

    graph: the sub-graph; `inputs` are its placeholders, in the fused node's input order.
    members: the sub-graph's computing nodes, in run order.
    outputs: the members whose values leave the region, in the fused value's order.
    shape: every elementwise member's (a sum member's value is its input's, reduced).
    dtype: every output's; the elementwise members' too, but for comparisons (bool).
    offsets: where each output starts in the flat value (several outputs), else (0,).
    """
    graph: Graph
    inputs: tuple
    members: tuple
    outputs: tuple
    shape: tuple
    dtype: np.dtype
    offsets: tuple

    @classmethod
    def of(cls, graph: Graph, inputs, members, outputs) -> "Region":
        """The region of the sub-graph `graph` computing `members` (names, in run order) from
        its placeholders `inputs`, giving `outputs`: its shape, dtype and layout derived."""
        inputs, members, outputs = tuple(inputs), tuple(members), tuple(outputs)
        offsets, total = [], 0
        for name in outputs:
            offsets.append(total)
            total += _size(graph.nx.nodes[name]["shape"])
        return cls(graph, inputs, members, outputs, graph.nx.nodes[members[0]]["shape"],
                   graph.nx.nodes[outputs[0]]["dtype"], tuple(offsets))

    @property
    def spec(self) -> Spec:
        """The fused node's value: the one output's spec, or a flat vector holding them all."""
        if len(self.outputs) == 1:
            node = self.graph.nx.nodes[self.outputs[0]]
            return Spec(node["shape"], node["dtype"])
        last = self.graph.nx.nodes[self.outputs[-1]]
        return Spec((self.offsets[-1] + _size(last["shape"]),), self.dtype)

    def reads(self) -> dict:
        """member -> the names it reads (inputs, constants, members), in input order (read
        anew at each call: kernels are built once, and the graph holds it already)."""
        return {name: self.graph.inputs(name) for name in self.members}

    @functools.cached_property
    def kernel(self):
        """The region's kernel: `.run(*inputs, out=None)` gives the fused value (in `out` when
        given); `.located(exc)` names the member that raised `exc`."""
        return _BUILDER[0](self)

    def __repr__(self) -> str:
        return f"<Region {len(self.members)} ops -> {', '.join(self.outputs)}>"


def _size(shape: tuple) -> int:
    return math.prod(shape)


def _fused_kernel(*inputs, region: Region, out=None):
    try:
        return region.kernel.run(*inputs, out=out)
    except Exception as exc:  # named after the member that failed, when one did
        raise region.kernel.located(exc) from None


def replay(region: Region, inputs: list) -> dict:
    """The region's members applied to `inputs` with ordinary ops: sub-graph name -> tensor."""
    values = dict(zip(region.inputs, inputs))
    for name in region.graph.nx:
        node = region.graph.nx.nodes[name]
        if node["op"] == "constant":
            values[name] = C.constant(node["attrs"]["value"])
    for name in region.members:
        node = region.graph.nx.nodes[name]
        values[name] = apply(get_op(node["op"]), [values[i] for i in region.graph.inputs(name)],
                             node["attrs"])
    return values


def _fused_vjp(ct, *inputs, out, region: Region):
    """The members' vjps applied in reverse, from the outputs' cotangents (cut out of `ct`)."""
    values = replay(region, list(inputs))
    cts = dict(zip(region.outputs, _split(ct, region)))
    for name in reversed(region.members):
        if cts.get(name) is None:
            continue
        node = region.graph.nx.nodes[name]
        args = [values[i] for i in region.graph.inputs(name)]
        parts = get_op(node["op"]).vjp(cts[name], *args, out=values[name], **node["attrs"])
        for arg, part in zip(region.graph.inputs(name), parts):
            if part is not None:
                cts[arg] = part if cts.get(arg) is None else cts[arg] + part
    return [cts.get(i) for i in region.inputs]


def _fused_jvp(tangents, *inputs, out, region: Region):
    """The members' jvps applied in run order; the outputs' tangents packed as the value is."""
    values = replay(region, list(inputs))
    ts = dict(zip(region.inputs, tangents))
    for name in region.members:
        node = region.graph.nx.nodes[name]
        args = region.graph.inputs(name)
        ins = [ts.get(i) for i in args]
        ts[name] = None if all(t is None for t in ins) else get_op(node["op"]).jvp(
            ins, *[values[i] for i in args], out=values[name], **node["attrs"])
    outs = [ts[o] if ts[o] is not None else C.zeros_like(values[o]) for o in region.outputs]
    if len(outs) == 1:
        return outs[0]
    return concat_flat(outs)


def _split(ct, region: Region) -> list:
    """The cotangent of each output, cut out of the fused value's cotangent `ct`."""
    if len(region.outputs) == 1:
        return [ct]
    parts = []
    for name, offset in zip(region.outputs, region.offsets):
        shape = region.graph.nx.nodes[name]["shape"]
        parts.append(fused_output_(ct, offset=offset, shape=shape))
    return parts


def concat_flat(values: list):
    """The values flattened and joined end to end (the layout of a fused value)."""
    return A.concat([A.reshape(v, (-1,)) for v in values], axis=0)


def _fused_batch(values, dims, *, region: Region):
    """The members' batching rules applied in run order; several outputs are flattened per
    example and joined, each example's row laid out as the unbatched value."""
    batched = dict(zip(region.inputs, zip(values, dims)))
    for name in region.graph.nx:
        if region.graph.nx.nodes[name]["op"] == "constant":
            batched[name] = (C.constant(region.graph.nx.nodes[name]["attrs"]["value"]), None)
    for name in region.members:
        node = region.graph.nx.nodes[name]
        op = get_op(node["op"])
        args = [batched[i] for i in region.graph.inputs(name)]
        if all(d is None for _, d in args):
            batched[name] = (apply(op, [v for v, _ in args], node["attrs"]), None)
        else:
            batched[name] = B.rule_of(op)([v for v, _ in args], [d for _, d in args],
                                          **node["attrs"])
    outs = [batched[o] for o in region.outputs]
    if len(outs) == 1:
        return outs[0]
    if all(d is None for _, d in outs):
        return concat_flat([v for v, _ in outs]), None
    rows = [A.reshape(B.materialize(v, d, "fused"), (-1, _size(region.graph.nx.nodes[o]["shape"])))
            for (v, d), o in zip(outs, region.outputs)]
    return A.concat(rows, axis=1), 0


def _fused_rule(*specs: Spec, region: Region) -> Spec:
    if not isinstance(region, Region):
        raise ShapeError(f"'region' must be a fused region, got {type(region).__name__}")
    wanted = [region.graph.nx.nodes[i] for i in region.inputs]
    if len(specs) != len(wanted) or any(
            tuple(s.shape or ()) != w["shape"] or s.shape is None or s.dtype != w["dtype"]
            for s, w in zip(specs, wanted)):
        given = ", ".join(f"{np.dtype(s.dtype).name}{s.shape}" for s in specs)
        reads = ", ".join(f"{w['dtype'].name}{w['shape']}" for w in wanted)
        raise ShapeError(f"the region reads {reads}, its inputs are {given}")
    return region.spec


def check_region(region: Region) -> Region:
    """`region` if it is one that fusion could make (as a graph file must say), else a
    ShapeError naming what is wrong: its sub-graph holds exactly its placeholders, 0-d
    constants and members; members are ops a region may hold, each reading only earlier
    members, inputs and constants, all over the region's shape and in its float dtype (but
    for what where and cast may take), comparisons read only by where and cast, reductions
    read by none and only of members; outputs are distinct members, none bool."""
    graph, shape, dtype = region.graph, region.shape, region.dtype
    nodes = graph.nx.nodes
    _require(region.members and region.outputs, "a region needs members and outputs")
    _require(len(set(region.inputs + region.members)) == len(region.inputs + region.members)
             and len(set(region.outputs)) == len(region.outputs),
             "names repeated among the region's inputs, members or outputs")
    _require(all(i in nodes and nodes[i]["op"] == "placeholder" for i in region.inputs),
             "a region's inputs must be its sub-graph's placeholders")
    constants = {n for n in graph.nx if nodes[n]["op"] == "constant" and nodes[n]["shape"] == ()}
    _require(set(graph.nx) == set(region.inputs) | set(region.members) | constants,
             "a region's sub-graph holds its placeholders, 0-d constants and members, no more")
    _require(all(d.get("index") is not None for _, _, d in graph.nx.edges(data=True)),
             "a region's sub-graph has control or ref edges")
    _require(set(region.outputs) <= set(region.members) and dtype in _FLOATS and known(shape),
             "a region's outputs must be members, of float32 or float64, of known shape")
    done = set(region.inputs) | constants
    for name in region.members:
        _check_member(graph, name, done, shape, dtype)
        done.add(name)
    for name in region.members:
        readers = [(c, d["index"]) for _, c, d in graph.nx.out_edges(name, data=True)]
        op = nodes[name]["op"]
        _require(op not in REDUCTIONS or not readers, f"member {name!r}, a {op}, is read inside")
        _require(op not in COMPARISONS or name not in region.outputs and all(
            (nodes[c]["op"], k) in (("where", 0), ("cast", 0)) for c, k in readers),
                 f"member {name!r}, a comparison, leaves the region or is read by other than "
                 f"where and cast")
    return region


def _check_member(graph: Graph, name: str, done: set, shape: tuple, dtype: np.dtype) -> None:
    node = graph.nx.nodes[name]
    op = node["op"]
    _require(op in SCALAR_FORMS or op in COMPARISONS or op in REDUCTIONS,
             f"member {name!r}: a region cannot hold {op!r}")
    inputs = graph.inputs(name)
    _require(all(i in done for i in inputs), f"member {name!r} reads what comes after it")
    _require(node["dtype"] == (np.dtype(bool) if op in COMPARISONS else dtype),
             f"member {name!r} is {node['dtype'].name}, the region {dtype.name}")
    other = SCALAR_FORMS.get(op, ())
    for k, i in enumerate(inputs):
        given = graph.nx.nodes[i]["dtype"]
        _require(given == dtype or k in other and given in _FLOATS + (np.dtype(bool),),
                 f"member {name!r} reads {given.name} {i!r}")
    if op in REDUCTIONS:
        _require(graph.nx.nodes[inputs[0]]["op"] not in ("placeholder", "constant")
                 and graph.nx.nodes[inputs[0]]["shape"] == shape,
                 f"member {name!r}, a {op}, must reduce a member of the region's shape")
    else:
        _require(node["shape"] == shape, f"member {name!r} has shape {node['shape']}, the "
                                         f"region {shape}")


def _require(condition, message: str) -> None:
    if not condition:
        raise ShapeError(message)


fused = defop("fused", kernel=_fused_kernel, shape_rule=_fused_rule, vjp=_fused_vjp,
              jvp=_fused_jvp, traits={"out", "total"}, batch=_fused_batch,
              doc="A region of elementwise ops run as one generated kernel.")


def _output_kernel(flat, *, offset, shape):
    if len(shape) == 1:  # the slice has the shape already
        return flat[offset:offset + shape[0]]
    if not shape:
        return flat[offset, ...]  # a 0-d view
    return flat[offset:offset + math.prod(shape)].reshape(shape)


def _output_vjp(ct, flat, out, offset, shape):
    """The cotangent of the flat value: ct in place of this output, zeros elsewhere."""
    total = flat.shape[0]
    pieces = [C.zeros((offset,), ct.dtype)] if offset else []
    pieces.append(A.reshape(ct, (-1,)))
    rest = total - offset - _size(shape)
    if rest:
        pieces.append(C.zeros((rest,), ct.dtype))
    return [A.concat(pieces, axis=0) if len(pieces) > 1 else pieces[0]]


def _output_rule(flat: Spec, *, offset, shape) -> Spec:
    """The output's spec, once it is seen to lie inside the flat value."""
    _require(isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
             and isinstance(shape, (tuple, list)) and all(
                 isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape),
             f"bad offset {offset!r} or shape {shape!r}")
    _require(flat.shape is not None and len(flat.shape) == 1 and flat.shape[0] is not None
             and offset + _size(shape) <= flat.shape[0],
             f"{offset} + {_size(shape)} elements do not lie within the fused value {flat.shape}")
    return Spec(tuple(shape), flat.dtype)


fused_output_ = defop(
    "fused_output", kernel=_output_kernel, shape_rule=_output_rule,
    vjp=_output_vjp,
    jvp=lambda t, flat, out, offset, shape: fused_output_(t[0], offset=offset, shape=shape),
    batch=lambda values, dims, *, offset, shape: (A.reshape(
        A.getitem(values[0], (slice(None), slice(offset, offset + _size(shape)))),
        (-1,) + tuple(shape)), 0),
    traits={"view", "total"},
    doc="One output of a fused node with several: a view of its flat value.")
