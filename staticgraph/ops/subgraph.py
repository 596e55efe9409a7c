"""Sub-graphs for control flow: FuncGraph (a graph nested in another, capturing outer tensors),
building one from a Python function, running it, inlining it, and packed tuple outputs.

A branch or loop body is a `FuncGraph` whose placeholders stand for its arguments and for the
outer tensors it uses (captures). A `cond` / `while_loop` node's value is a packed tuple, and
`tuple_get` nodes unpack it; the reverse pass hands a packed node the list of its elements'
cotangents (`PackedCotangent`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import networkx as nx

from staticgraph import dtypes
from staticgraph.errors import GraphError, InvalidArgumentError, UnimplementedError
from staticgraph.graph import Graph, Tensor
from staticgraph.ops import create as C
from staticgraph.ops.registry import ShapeError, Spec, apply, apply_static, defop, get_op
from staticgraph.ops.shapes import fmt
from staticgraph.nest import flatten, unflatten
from staticgraph.sourceinfo import user_source


class FuncGraph(Graph):
    """A sub-graph (branch or loop body) nested in `outer`; outer tensors it uses are captured."""

    def __init__(self, outer: Graph, name: str) -> None:
        super().__init__()
        self.outer = outer
        self.name = name
        self.params: list[Tensor] = []
        self.captured: dict[str, tuple[Tensor, Tensor]] = {}  # outer name -> (outer, inner)
        self.outputs: list[Tensor] = []
        self.plan = None  # the reference executor's steps, built on first run
        self._roles = [outer.current_role]

    def param(self, spec: Spec, name: str) -> Tensor:
        """A placeholder for one argument of the function."""
        t = apply_static(self, get_op("placeholder"), [], {"dtype": spec.dtype, "shape": spec.shape},
                         name=name)
        self.params.append(t)
        return t

    def capture(self, tensor: Tensor) -> Tensor:
        if tensor.graph is self:
            return tensor
        if not self.outer.encloses(tensor.graph):
            raise GraphError(f"tensor {tensor.name!r} belongs to a graph this one is not nested in")
        outer = self.outer.capture(tensor) if tensor.graph is not self.outer else tensor
        if outer.name not in self.captured:
            inner = apply_static(self, get_op("placeholder"), [],
                                 {"dtype": outer.dtype, "shape": outer.shape},
                                 name="capture/" + outer.name.replace("/", "_"))
            self.captured[outer.name] = (outer, inner)
        return self.captured[outer.name][1]

    @property
    def outer_captures(self) -> list[Tensor]:
        return [outer for outer, _ in self.captured.values()]

    @property
    def inner_captures(self) -> list[Tensor]:
        return [inner for _, inner in self.captured.values()]


def build_subgraph(outer: Graph, name: str, fn: Callable, specs: list[Spec], structure=None) -> tuple:
    """Trace `fn` on placeholders of `specs` into a new FuncGraph; return it and fn's structure."""
    fg = FuncGraph(outer, name)
    with fg.as_default():
        params = [fg.param(s, f"arg{i}") for i, s in enumerate(specs)]
        args = unflatten(structure, params) if structure is not None else ()
        result = fn(*args) if isinstance(args, (list, tuple)) else fn(args)
        outs = [x if isinstance(x, Tensor) and x.graph is fg else
                fg.capture(x) if isinstance(x, Tensor) else C.constant(x)
                for x in flatten(result)]
        # An output that is a parameter or capture itself still needs a node of its own.
        outs = [get_op("identity")(x) if x.op == "placeholder" else x for x in outs]
    fg.outputs = outs
    return fg, result


# How a sub-graph runs is the runtime's business: it installs its step builder and runner here
# when it is imported (ops sit below the runtime and never import it).
_RUNNER: list = []


def set_subgraph_runner(build_steps: Callable, run_steps: Callable) -> None:
    """Install `build_steps(graph, fetches, feeds)` and `run_steps(steps, feeds, state)`."""
    _RUNNER[:] = [(build_steps, run_steps)]


def run_subgraph(fg: FuncGraph, state, args: list) -> list:
    """Run a FuncGraph on argument values (params then captures); return its outputs' values."""
    build_steps, run_steps = _RUNNER[0]
    feeds = {t.name: v for t, v in zip(fg.params + fg.inner_captures, args)}
    if fg.plan is None:
        fg.plan = build_steps(fg, [t.name for t in fg.outputs], frozenset(feeds))
    values = run_steps(fg.plan, feeds, state)
    return [values[t.name] for t in fg.outputs]


def inline(fg: FuncGraph, args: list) -> list[Tensor]:
    """Rebuild `fg`'s nodes in the current default graph on `args` (for its params, then its
    captures); return its outputs. Used by vjps that recompute a branch or a loop iteration."""
    inputs = fg.params + fg.inner_captures
    if len(args) != len(inputs):
        raise GraphError(f"inline: {len(args)} arguments for {len(inputs)} inputs of {fg.name}")
    mapping = {p.name: a for p, a in zip(inputs, args)}
    for name in nx.topological_sort(fg.nx):
        if name in mapping:
            continue
        node = fg.node(name)
        inputs = [mapping[i] for i in fg.inputs(name)]
        mapping[name] = apply(get_op(node["op"]), inputs, node["attrs"])
    return [mapping[t.name] for t in fg.outputs]


# ----- packed tuples -------------------------------------------------------------------------
class PackedCotangent(NamedTuple):
    """The cotangent of one element of a packed tuple (collected per element by the reverse pass)."""
    index: int
    ct: object


def _tuple_get_rule(packed: Spec, *, index, shape, dtype):
    return Spec(shape, dtype)


def _tuple_get_batch(values, dims, *, index, shape, dtype):
    # A batched packed op gives its new packed node (or, when it has none, the list of its
    # outputs) and one batch dim per element.
    packed, packed_dims = values[0], dims[0]
    if isinstance(packed, list):
        if index >= len(packed):
            raise UnimplementedError(
                "vmap: the saved iterations of a while_loop whose condition differs between "
                "examples cannot be batched (a gradient of the loop taken inside the mapped "
                "function); take the gradient of the vmapped function instead")
        return packed[index], packed_dims[index]
    spec = packed.node["attrs"]["out_specs"][index]
    return tuple_get_(packed, index=index, shape=spec.shape, dtype=spec.dtype), packed_dims[index]


tuple_get_ = defop("tuple_get", kernel=lambda packed, *, index, shape, dtype: packed[index],
                   shape_rule=_tuple_get_rule, traits={"view"}, batch=_tuple_get_batch,
                   vjp=lambda ct, packed, out, index, shape, dtype: [PackedCotangent(index, ct)],
                   # A packed node's tangent is the list of its elements' tangents.
                   jvp=lambda tangents, packed, out, index, shape, dtype: tangents[0][index],
                   doc="Element `index` of a packed tuple (a cond's or while_loop's outputs).")


def unpack(node: Tensor, specs: list[Spec]) -> list[Tensor]:
    return [tuple_get_(node, index=i, shape=s.shape, dtype=s.dtype, name=f"{node.name}_out{i}")
            for i, s in enumerate(specs)]


def merge_spec(a: Spec, b: Spec, what: str) -> Spec:
    if a.dtype != b.dtype or not compatible_rank(a.shape, b.shape):
        raise InvalidArgumentError(f"{what}: {a.dtype.name}{fmt(a.shape)} vs {b.dtype.name}{fmt(b.shape)}")
    if a.shape is None or b.shape is None:
        return Spec(None, a.dtype)
    return Spec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)


def compatible_rank(a: tuple | None, b: tuple | None) -> bool:
    """True unless both ranks are known and differ."""
    return a is None or b is None or len(a) == len(b)


def spec_of(t: Tensor) -> Spec:
    return Spec(t.shape, t.dtype)


def claims_only(general: Spec, specific: Spec) -> bool:
    """True when `general` claims nothing `specific` does not: the same dtype, the same rank
    unless `general`'s is unknown, and each dim it knows known alike in `specific`."""
    if general.dtype != specific.dtype or general.shape is None:
        return general.dtype == specific.dtype
    return specific.shape is not None and len(general.shape) == len(specific.shape) and all(
        g is None or g == s for g, s in zip(general.shape, specific.shape))


def check_subgraph(fg: FuncGraph, what: str, arg_specs: list[Spec], out_specs: list[Spec]) -> None:
    """A sub-graph's parameters and captures may assume only what the values it is run on
    guarantee (`arg_specs`: params then captures), and its outputs must guarantee what the
    node claims of them (`out_specs`); a ShapeError otherwise (a graph file may lie)."""
    inputs = fg.params + fg.inner_captures
    if len(inputs) != len(arg_specs) or len(fg.outputs) != len(out_specs):
        raise ShapeError(f"{what} takes {len(inputs)} values and gives {len(fg.outputs)}, but is "
                         f"run on {len(arg_specs)} and claimed to give {len(out_specs)}")
    for inner, spec in zip(inputs, arg_specs):
        if not claims_only(spec_of(inner), spec):
            raise ShapeError(f"{what}: {inner.name!r} assumes {inner.dtype.name}{fmt(inner.shape)} "
                             f"of a {spec.dtype.name}{fmt(spec.shape)} value")
    for out, spec in zip(fg.outputs, out_specs):
        if not claims_only(spec, spec_of(out)):
            raise ShapeError(f"{what}: output {out.name!r} is {out.dtype.name}{fmt(out.shape)}, "
                             f"claimed {spec.dtype.name}{fmt(spec.shape)}")


def jvp_of(ys, xs, tangents):
    from staticgraph.autodiff.forward import jvp
    return jvp(list(ys), list(xs), list(tangents))


def grads_or_zeros(ys, xs, cts):
    from staticgraph.autodiff.reverse import gradients
    floats = [(y, ct) for y, ct in zip(ys, cts) if dtypes.is_floating(y.dtype)]
    return gradients([y for y, _ in floats], xs, grad_ys=[ct for _, ct in floats],
                     unconnected_gradients="zero")


def outputs_of(packed: Tensor, out_specs) -> list[Tensor]:
    by_index = {}
    for name in packed.graph.consumers(packed.name):
        node = packed.graph.node(name)
        if node["op"] == "tuple_get":
            by_index.setdefault(node["attrs"]["index"], packed.graph.tensor(name))
    return [by_index[i] if i in by_index else tuple_get_(packed, index=i, shape=s.shape, dtype=s.dtype)
            for i, s in enumerate(out_specs)]


def same_structure(a, b, message: str) -> None:
    def shape_of(s):
        if isinstance(s, dict):
            return ("dict", tuple(s), tuple(shape_of(v) for v in s.values()))
        if isinstance(s, (list, tuple)):
            return (type(s).__name__, tuple(shape_of(v) for v in s))
        return "leaf"
    if shape_of(a) != shape_of(b):
        raise InvalidArgumentError(f"{message}: {shape_of(a)} vs {shape_of(b)} at {user_source()}")


def union_captures(graphs: list[FuncGraph]) -> list[Tensor]:
    seen: dict[str, Tensor] = {}
    for g in graphs:
        for t in g.outer_captures:
            seen.setdefault(t.name, t)
    return list(seen.values())


def capture_indices(fg: FuncGraph, captures: list[Tensor]) -> tuple:
    position = {t.name: i for i, t in enumerate(captures)}
    return tuple(position[t.name] for t in fg.outer_captures)
