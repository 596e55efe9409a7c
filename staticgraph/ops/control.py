"""Control flow in the graph: `cond` and `while_loop`, built once as sub-graphs and differentiable.

A branch or loop body is a `FuncGraph`: a graph nested in an outer one, whose placeholders stand
for its arguments and for the outer tensors it uses (captures). The `cond` / `while_loop` node's
value is a packed tuple; `tuple_get` nodes unpack it. Their vjps build the backward control flow
with the same ops: a `cond` of the branches' gradients, and a `while_loop` that walks the forward
loop's saved iterations in reverse.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import networkx as nx
import numpy as np

from staticgraph import dtypes
from staticgraph.errors import GraphError, InvalidArgumentError, UnimplementedError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.registry import ShapeError, Spec, apply, apply_static, defop, get_op
from staticgraph.ops.shapes import fmt
from staticgraph.runtime.fetches import flatten, unflatten
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


def _build(outer: Graph, name: str, fn: Callable, specs: list[Spec], structure=None) -> tuple:
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


def _run_subgraph(fg: FuncGraph, state, args: list) -> list:
    """Run a FuncGraph on argument values (params then captures); return its outputs' values."""
    from staticgraph.runtime.reference import build_steps, run_steps
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


tuple_get_ = defop("tuple_get", kernel=lambda packed, *, index, shape, dtype: packed[index],
                   shape_rule=_tuple_get_rule, traits={"view"},
                   vjp=lambda ct, packed, out, index, shape, dtype: [PackedCotangent(index, ct)],
                   # A packed node's tangent is the list of its elements' tangents.
                   jvp=lambda tangents, packed, out, index, shape, dtype: tangents[0][index],
                   doc="Element `index` of a packed tuple (a cond's or while_loop's outputs).")


def _unpack(node: Tensor, specs: list[Spec]) -> list[Tensor]:
    return [tuple_get_(node, index=i, shape=s.shape, dtype=s.dtype, name=f"{node.name}_out{i}")
            for i, s in enumerate(specs)]


def _merge_spec(a: Spec, b: Spec, what: str) -> Spec:
    if a.dtype != b.dtype or len(a.shape) != len(b.shape):
        raise InvalidArgumentError(f"{what}: {a.dtype.name}{fmt(a.shape)} vs {b.dtype.name}{fmt(b.shape)}")
    return Spec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)


def _spec(t: Tensor) -> Spec:
    return Spec(t.shape, t.dtype)


# ----- cond ------------------------------------------------------------------------------------
def _cond_rule(pred: Spec, *captures: Spec, branches, out_specs):
    if pred.shape != () or pred.dtype != dtypes.bool_:
        raise ShapeError(f"the predicate must be a bool scalar, got {pred.dtype.name}{fmt(pred.shape)}")
    return Spec((), dtypes.packed)


def _cond_kernel(state, pred, *captures, branches, out_specs):
    fg, indices = branches[0 if pred else 1]
    return tuple(_run_subgraph(fg, state, [captures[i] for i in indices]))


def _cond_vjp(cts, pred, *captures, out, branches, out_specs):
    # d/dc of cond(p, f, g)(c) = cond(p, d/dc f, d/dc g): each branch recomputes itself and
    # differentiates with respect to every capture of the cond (zeros where it does not use one).
    cts = [C.zeros_like(t) if ct is None else ct for ct, t in zip(cts, _outputs_of(out, out_specs))]
    differentiable = [i for i, c in enumerate(captures) if dtypes.is_floating(c.dtype)]

    def branch_grad(which):
        fg, indices = branches[which]

        def fn():
            inner = [get_default_graph().capture(c) for c in captures]
            outputs = inline(fg, [inner[i] for i in indices])
            return tuple(_grads_or_zeros(outputs, [inner[i] for i in differentiable], cts))
        return fn

    grads = cond(pred, branch_grad(0), branch_grad(1), name="cond_grad")
    result = [None] * (1 + len(captures))
    for i, g in zip(differentiable, grads):
        result[1 + i] = g
    return result


def _cond_jvp(tangents, pred, *captures, out, branches, out_specs):
    # The tangent of cond(p, f, g)(c) along dc is cond(p, f'(c) dc, g'(c) dc).
    moving = [i for i, t in enumerate(tangents[1:]) if t is not None]

    def branch_jvp(which):
        fg, indices = branches[which]

        def fn():
            graph = get_default_graph()
            inner = [graph.capture(c) for c in captures]
            outputs = inline(fg, [inner[i] for i in indices])
            return tuple(_tangents(outputs, [inner[i] for i in moving],
                                   [graph.capture(tangents[1 + i]) for i in moving]))
        return fn

    return list(cond(pred, branch_jvp(0), branch_jvp(1), name="cond_jvp"))


def _tangents(ys, xs, tangents):
    from staticgraph.autodiff.forward import jvp
    return jvp(list(ys), list(xs), list(tangents))


def _grads_or_zeros(ys, xs, cts):
    from staticgraph.autodiff.reverse import gradients
    floats = [(y, ct) for y, ct in zip(ys, cts) if dtypes.is_floating(y.dtype)]
    return gradients([y for y, _ in floats], xs, grad_ys=[ct for _, ct in floats],
                     unconnected_gradients="zero")


def _outputs_of(packed: Tensor, out_specs) -> list[Tensor]:
    by_index = {}
    for name in packed.graph.consumers(packed.name):
        node = packed.graph.node(name)
        if node["op"] == "tuple_get":
            by_index.setdefault(node["attrs"]["index"], packed.graph.tensor(name))
    return [by_index[i] if i in by_index else tuple_get_(packed, index=i, shape=s.shape, dtype=s.dtype)
            for i, s in enumerate(out_specs)]


cond_ = defop("cond", kernel=_cond_kernel, shape_rule=_cond_rule, vjp=_cond_vjp, jvp=_cond_jvp,
              traits={"stateful", "packed", "subgraphs"},
              doc="Runs one of two sub-graphs on the predicate's value.")


def cond(pred, true_fn: Callable, false_fn: Callable, name: str | None = None):
    """`true_fn()` if `pred` else `false_fn()`, as one node that runs only the taken branch.

    Both branches are built once, as sub-graphs; they may use outer tensors and must return the
    same structure (a tensor, or nested tuples/lists/dicts of tensors) with matching dtypes.
    Differentiable through `sg.gradients`. On eager tensors it is plain Python `if`.

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (), name="x")
        >>> y = sg.cond(x > 0, lambda: x * 2, lambda: -x)
        >>> float(sg.Session().run(y, {x: -3.0}))
        3.0
    """
    if getattr(type(pred), "style", None) == "eager":
        return true_fn() if bool(pred) else false_fn()
    outer = get_default_graph()
    if isinstance(pred, Tensor) and not outer.encloses(pred.graph):
        outer = pred.graph
    with outer.as_default():
        pred = pred if isinstance(pred, Tensor) else C.constant(bool(pred))
        true_g, true_out = _build(outer, "true", true_fn, [])
        false_g, false_out = _build(outer, "false", false_fn, [])
        _same_structure(true_out, false_out, "cond: the branches return different structures")
        specs = [_merge_spec(_spec(a), _spec(b), "cond: branch outputs differ")
                 for a, b in zip(true_g.outputs, false_g.outputs)]
        captures = _union_captures([true_g, false_g])
        branches = tuple((g, _capture_indices(g, captures)) for g in (true_g, false_g))
        node = apply(cond_, [pred] + captures, {"branches": branches, "out_specs": tuple(specs)},
                     name=name or "cond")
        true_g.name, false_g.name = node.name + "/true", node.name + "/false"
        return unflatten(true_out, _unpack(node, specs))


def _same_structure(a, b, message: str) -> None:
    def shape_of(s):
        if isinstance(s, dict):
            return ("dict", tuple(s), tuple(shape_of(v) for v in s.values()))
        if isinstance(s, (list, tuple)):
            return (type(s).__name__, tuple(shape_of(v) for v in s))
        return "leaf"
    if shape_of(a) != shape_of(b):
        raise InvalidArgumentError(f"{message}: {shape_of(a)} vs {shape_of(b)} at {user_source()}")


def _union_captures(graphs: list[FuncGraph]) -> list[Tensor]:
    seen: dict[str, Tensor] = {}
    for g in graphs:
        for t in g.outer_captures:
            seen.setdefault(t.name, t)
    return list(seen.values())


def _capture_indices(fg: FuncGraph, captures: list[Tensor]) -> tuple:
    position = {t.name: i for i, t in enumerate(captures)}
    return tuple(position[t.name] for t in fg.outer_captures)


# ----- while_loop --------------------------------------------------------------------------------
def _while_rule(*inputs: Spec, **attrs):
    return Spec((), dtypes.packed)


def _while_kernel(state, *inputs, n_vars, cond_graph, body_graph, cond_index, body_index,
                  out_specs, maximum_iterations, keep_history, reverse_of):
    values, captures = list(inputs[:n_vars]), inputs[n_vars:]
    cond_caps = [captures[i] for i in cond_index]
    body_caps = [captures[i] for i in body_index]
    history = []
    steps = 0
    while maximum_iterations is None or steps < maximum_iterations:
        (keep_going,) = _run_subgraph(cond_graph, state, values + cond_caps)
        if not keep_going:
            break
        if keep_history:
            history.append(tuple(values))
        values = _run_subgraph(body_graph, state, values + body_caps)
        steps += 1
    return tuple(values) + (history,)


def _history_len_kernel(packed):
    return np.asarray(len(packed[-1]), np.int64)


history_len_ = defop("history_len", kernel=_history_len_kernel,
                     shape_rule=lambda packed: Spec((), dtypes.int64),
                     doc="How many iterations a while_loop ran (from its saved history).")


def _history_item_rule(packed: Spec, step: Spec, *, index, shape, dtype):
    return Spec(shape, dtype)


history_item_ = defop("history_item",
                      kernel=lambda packed, step, *, index, shape, dtype: packed[-1][int(step)][index],
                      shape_rule=_history_item_rule, traits={"view"},
                      doc="Loop variable `index` at the start of iteration `step` of a while_loop.")


def _while_vjp(cts, *inputs, out, n_vars, cond_graph, body_graph, cond_index, body_index,
               out_specs, maximum_iterations, keep_history, reverse_of):
    # The forward loop saves each iteration's loop variables; the backward loop runs from the
    # last iteration to the first, recomputing that iteration's body and applying its vjp, and
    # sums the cotangents of the captured tensors over all iterations.
    _first_order_only(reverse_of, "reverse")
    out.node["attrs"]["keep_history"] = True
    captures = inputs[n_vars:]
    float_vars = [k for k in range(n_vars) if dtypes.is_floating(out_specs[k].dtype)]
    float_caps = [k for k, c in enumerate(captures) if dtypes.is_floating(c.dtype)]
    finals = _outputs_of(out, out_specs)
    seeds = [C.zeros_like(finals[k]) if cts[k] is None else cts[k] for k in float_vars]

    def body(step, *carried):
        var_cts, sums = carried[:len(float_vars)], carried[len(float_vars):]
        step = step - 1
        graph = get_default_graph()
        xs = [history_item_(out, step, index=k, shape=s.shape, dtype=s.dtype)
              for k, s in enumerate(out_specs)]
        inner = [graph.capture(c) for c in captures]
        ys = inline(body_graph, xs + [inner[i] for i in body_index])
        grads = _grads_or_zeros([ys[k] for k in float_vars],
                                [xs[k] for k in float_vars] + [inner[k] for k in float_caps], var_cts)
        new_sums = [total + g for total, g in zip(sums, grads[len(float_vars):])]
        return (step, *grads[:len(float_vars)], *new_sums)

    start = (history_len_(out), *seeds, *[C.zeros_like(captures[k]) for k in float_caps])
    final = _while_loop(lambda step, *rest: step > 0, body, start, None, None, "while_grad",
                        reverse_of=out.name)
    result = [None] * len(inputs)
    for pos, k in enumerate(float_vars):
        result[k] = final[1 + pos]
    for pos, k in enumerate(float_caps):
        result[n_vars + k] = final[1 + len(float_vars) + pos]
    return result


def _while_jvp(tangents, *inputs, out, n_vars, cond_graph, body_graph, cond_index, body_index,
               out_specs, maximum_iterations, keep_history, reverse_of):
    # Forward mode needs no saved iterations: one loop carries the variables and their tangents.
    _first_order_only(reverse_of, "forward")
    captures = inputs[n_vars:]
    float_vars = [k for k in range(n_vars) if dtypes.is_floating(out_specs[k].dtype)]
    moving = [j for j, t in enumerate(tangents[n_vars:]) if t is not None]
    starts = [C.zeros_like(inputs[k]) if tangents[k] is None else tangents[k] for k in float_vars]

    def run(fg, index, values):
        inner = [get_default_graph().capture(c) for c in captures]
        return inline(fg, list(values) + [inner[i] for i in index]), inner

    def body(*carried):
        values, var_tangents = carried[:n_vars], carried[n_vars:]
        ys, inner = run(body_graph, body_index, values)
        graph = get_default_graph()
        moved = _tangents([ys[k] for k in float_vars],
                          [values[k] for k in float_vars] + [inner[j] for j in moving],
                          list(var_tangents) + [graph.capture(tangents[n_vars + j]) for j in moving])
        return (*ys, *moved)

    final = while_loop(lambda *carried: run(cond_graph, cond_index, carried[:n_vars])[0][0], body,
                       (*inputs[:n_vars], *starts), maximum_iterations=maximum_iterations,
                       shape_invariants=[s.shape for s in out_specs] +
                       [out_specs[k].shape for k in float_vars],
                       name="while_jvp")
    result = [None] * n_vars
    for pos, k in enumerate(float_vars):
        result[k] = final[n_vars + pos]
    return result


def _first_order_only(reverse_of, mode: str) -> None:
    if reverse_of is not None:
        raise UnimplementedError(
            f"{mode}-mode differentiation of the gradient loop of while_loop {reverse_of!r} (a "
            "second derivative through a while_loop) is not supported yet; second derivatives "
            "through sg.cond work")


while_ = defop("while_loop", kernel=_while_kernel, shape_rule=_while_rule, vjp=_while_vjp, jvp=_while_jvp,
               traits={"stateful", "packed", "subgraphs"},
               doc="Runs a body sub-graph while a cond sub-graph is true.")


def while_loop(cond_fn: Callable, body_fn: Callable, loop_vars, maximum_iterations: int | None = None,
               shape_invariants=None, name: str | None = None):
    """Repeat `loop_vars = body_fn(*loop_vars)` while `cond_fn(*loop_vars)` is true, in the graph.

    Args:
        cond_fn, body_fn: called once each, at build time, on placeholders for the loop
            variables (one argument per element of a tuple/list `loop_vars`).
        loop_vars: a tensor or nested structure of tensors; body_fn returns the same structure,
            with the same dtypes and shapes (dims that change must be None in `shape_invariants`).
        maximum_iterations: stop after this many iterations even if cond_fn is still true.
        shape_invariants: one shape per (flattened) loop variable, None for dims that change.
    Returns:
        The final loop variables, in loop_vars' structure (a one-element tuple stays a tuple).
    Differentiable: the loop saves each iteration's variables and its gradient runs in reverse.

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (), name="x")
        >>> (y,) = sg.while_loop(lambda y: y < 100, lambda y: (y * 2,), (x,))
        >>> float(sg.Session().run(y, {x: 3.0}))
        192.0
    """
    return _while_loop(cond_fn, body_fn, loop_vars, maximum_iterations, shape_invariants, name)


def _while_loop(cond_fn, body_fn, loop_vars, maximum_iterations, shape_invariants, name,
                reverse_of: str | None = None):
    flat = flatten(loop_vars)
    if any(getattr(type(t), "style", None) == "eager" for t in flat):
        return _eager_while(cond_fn, body_fn, loop_vars, maximum_iterations)
    outer = get_default_graph()
    for t in flat:
        if isinstance(t, Tensor) and not outer.encloses(t.graph):
            outer = t.graph
    with outer.as_default():
        flat = [t if isinstance(t, Tensor) else C.constant(t) for t in flat]
        specs = _loop_specs(flat, shape_invariants)
        cond_g, _ = _build(outer, "cond", cond_fn, specs, loop_vars)
        if len(cond_g.outputs) != 1 or _spec(cond_g.outputs[0]) != Spec((), dtypes.bool_):
            raise InvalidArgumentError(f"while_loop: cond_fn must return one bool scalar at {user_source()}")
        body_g, body_out = _build(outer, "body", body_fn, specs, loop_vars)
        _same_structure(_as_struct(loop_vars), _as_struct(body_out),
                        "while_loop: body_fn must return the loop variables' structure")
        _check_invariants(specs, body_g.outputs)
        captures = _union_captures([cond_g, body_g])
        attrs = {"n_vars": len(flat), "cond_graph": cond_g, "body_graph": body_g,
                 "cond_index": _capture_indices(cond_g, captures),
                 "body_index": _capture_indices(body_g, captures), "out_specs": tuple(specs),
                 "maximum_iterations": None if maximum_iterations is None else int(maximum_iterations),
                 "keep_history": False, "reverse_of": reverse_of}
        node = apply(while_, flat + captures, attrs, name=name or "while")
        cond_g.name, body_g.name = node.name + "/cond", node.name + "/body"
        return unflatten(loop_vars, _unpack(node, specs))


def _as_struct(value):
    return value if isinstance(value, (list, tuple, dict)) else (value,)


def _loop_specs(flat: list[Tensor], shape_invariants) -> list[Spec]:
    if shape_invariants is None:
        return [_spec(t) for t in flat]
    shapes = [tuple(s) for s in shape_invariants]
    if len(shapes) != len(flat):
        raise InvalidArgumentError(f"while_loop: {len(shapes)} shape invariants for {len(flat)} "
                                   f"loop variables (give one shape per variable, flattened)")
    _check_invariants(shapes and [Spec(s, t.dtype) for s, t in zip(shapes, flat)], flat)
    return [Spec(s, t.dtype) for s, t in zip(shapes, flat)]


def _check_invariants(specs: list[Spec], outputs: list[Tensor]) -> None:
    for k, (spec, out) in enumerate(zip(specs, outputs)):
        fits = len(out.shape) == len(spec.shape) and all(
            a is None or a == b for a, b in zip(spec.shape, out.shape))
        if out.dtype != spec.dtype or not fits:
            raise InvalidArgumentError(
                f"while_loop: loop variable {k} enters as {spec.dtype.name}{fmt(spec.shape)} but the "
                f"body returns {out.dtype.name}{fmt(out.shape)}; a dim that changes must be None in "
                f"shape_invariants at {user_source()}")


def _eager_while(cond_fn, body_fn, loop_vars, maximum_iterations):
    """On eager tensors the loop is a plain Python loop (the implicit style)."""
    steps = 0
    call = (lambda f, v: f(*v)) if isinstance(loop_vars, (list, tuple)) else (lambda f, v: f(v))
    while (maximum_iterations is None or steps < maximum_iterations) and bool(call(cond_fn, loop_vars)):
        loop_vars = call(body_fn, loop_vars)
        steps += 1
    return loop_vars
