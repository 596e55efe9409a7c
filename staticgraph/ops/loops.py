"""`while_loop`: a loop in the graph, its cond and body built once as sub-graphs; differentiable.

The forward loop saves each iteration's variables when a gradient asks for them; the gradient is
a second loop that walks those iterations in reverse. Forward mode carries tangents alongside.
A float variable whose shape stays the same is saved as one stacked tensor, an ordinary value
of the graph, so the gradient loop reads it with a differentiable `gather` and can itself be
differentiated again (second derivatives, in either mode).
"""
from __future__ import annotations

from typing import Callable

import networkx as nx
import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.array import gather
from staticgraph.ops.batching import align, apply_named, batch_subgraph, is_batched, materialize
from staticgraph.ops.registry import ShapeError, Spec, apply, defop
from staticgraph.ops.shapes import fmt
from staticgraph.ops.subgraph import (build_subgraph, capture_indices, check_subgraph,
                                      claims_only, grads_or_zeros, inline, jvp_of, outputs_of,
                                      run_subgraph, same_structure, spec_of, union_captures,
                                      unpack)
from staticgraph.nest import flatten, unflatten
from staticgraph.tensor_shape import as_static
from staticgraph.sourceinfo import user_source


def _while_rule(*inputs: Spec, n_vars, cond_graph, body_graph, cond_index, body_index, out_specs,
                stacked, **_):
    # The invariants (out_specs[:n_vars]) may claim only what the initial values and every
    # iteration guarantee; a stacked history is the invariant with an unknown leading dim.
    invariants, captures = list(out_specs[:n_vars]), inputs[n_vars:]
    for k, (spec, value) in enumerate(zip(invariants, inputs)):
        if not claims_only(spec, value):
            raise ShapeError(f"loop variable {k} is claimed {spec.dtype.name}{fmt(spec.shape)} "
                             f"but enters as {value.dtype.name}{fmt(value.shape)}")
    history = [Spec((None,) + invariants[k].shape, invariants[k].dtype) for k in stacked]
    if list(out_specs[n_vars:]) != history:
        raise ShapeError("the stacked histories do not match the loop variables")
    check_subgraph(cond_graph, "the loop condition", invariants + [captures[i] for i in cond_index],
                   [Spec((), dtypes.bool_)])
    check_subgraph(body_graph, "the loop body", invariants + [captures[i] for i in body_index],
                   invariants)
    return Spec((), dtypes.packed)


def _while_kernel(state, *inputs, n_vars, cond_graph, body_graph, cond_index, body_index,
                  out_specs, stacked, maximum_iterations, keep_history, reverse_of):
    # The packed value: the final variables, one stacked history per variable in `stacked`
    # (None unless a gradient asked), then every iteration's variables as a Python list.
    values, captures = list(inputs[:n_vars]), inputs[n_vars:]
    cond_caps = [captures[i] for i in cond_index]
    body_caps = [captures[i] for i in body_index]
    history = []
    steps = 0
    while maximum_iterations is None or steps < maximum_iterations:
        (keep_going,) = run_subgraph(cond_graph, state, values + cond_caps)
        if not keep_going:
            break
        if keep_history:
            history.append(tuple(values))
        values = run_subgraph(body_graph, state, values + body_caps)
        steps += 1
    stacks = [_stack(history, values, k) if keep_history else None for k in stacked]
    if keep_history and stacked:
        # The stacks now hold those variables' iterations: keep them once, not twice.
        history = [tuple(None if k in stacked else v for k, v in enumerate(step)) for step in history]
    return tuple(values) + tuple(stacks) + (history,)


def _stack(history: list, values: list, k: int) -> np.ndarray:
    """Loop variable k at the start of each iteration, stacked along a new first axis."""
    shapes = {np.shape(step[k]) for step in history} | {np.shape(values[k])}
    if len(shapes) > 1:
        raise InvalidArgumentError(
            f"while_loop: loop variable {k} changed shape across iterations ({sorted(shapes)}); "
            f"a dim that changes must be None in shape_invariants")
    if not history:
        return np.zeros((0,) + np.shape(values[k]), np.asarray(values[k]).dtype)
    return np.stack([step[k] for step in history])


def _history_len_kernel(packed):
    return np.asarray(len(packed[-1]), np.int64)


history_len_ = defop("history_len", kernel=_history_len_kernel,
                     shape_rule=lambda packed: Spec((), dtypes.int64),
                     batch=lambda values, dims: _history_len_batch(values, dims),
                     doc="How many iterations a while_loop ran (from its saved history).")


def _history_item_rule(packed: Spec, step: Spec, *, index, shape, dtype):
    return Spec(shape, dtype)


history_item_ = defop("history_item",
                      kernel=lambda packed, step, *, index, shape, dtype: packed[-1][int(step)][index],
                      shape_rule=_history_item_rule, traits={"view"},
                      batch=lambda values, dims, **attrs: _history_item_batch(values, dims, **attrs),
                      doc="Loop variable `index` at the start of iteration `step` of a while_loop.")


def _while_vjp(cts, *inputs, out, n_vars, cond_graph, body_graph, cond_index, body_index,
               out_specs, stacked, maximum_iterations, keep_history, reverse_of):
    # The backward loop runs from the last iteration to the first, recomputing that iteration's
    # body and applying its vjp, and sums the cotangents of the captured tensors over all
    # iterations. A cotangent for a stacked history adds its row `step` to that iteration's.
    _check_differentiable(body_graph, reverse_of, "reverse")
    specs, captures = out_specs[:n_vars], inputs[n_vars:]
    finals = outputs_of(out, specs)
    float_vars = [k for k in range(n_vars) if dtypes.is_floating(specs[k].dtype)]
    float_caps = [k for k, c in enumerate(captures) if dtypes.is_floating(c.dtype)]
    seeds = [C.zeros_like(finals[k]) if cts[k] is None else cts[k] for k in float_vars]
    history = dict(zip(stacked, _histories(out, stacked)))
    history_cts = {k: ct for k, ct in zip(stacked, cts[n_vars:]) if ct is not None}

    def body(step, *carried):
        var_cts, sums = carried[:len(float_vars)], carried[len(float_vars):]
        step = step - 1
        inner = [get_default_graph().capture(c) for c in captures]
        xs = [gather(history[k], step) if k in history else
              history_item_(out, step, index=k, shape=s.shape, dtype=s.dtype)
              for k, s in enumerate(specs)]
        ys = inline(body_graph, xs + [inner[i] for i in body_index])
        grads = grads_or_zeros([ys[k] for k in float_vars],
                                [xs[k] for k in float_vars] + [inner[k] for k in float_caps], var_cts)
        var_grads = [g + gather(history_cts[k], step) if k in history_cts else g
                     for k, g in zip(float_vars, grads)]
        new_sums = [total + g for total, g in zip(sums, grads[len(float_vars):])]
        return (step, *var_grads, *new_sums)

    start = (history_len_(out), *seeds, *[C.zeros_like(captures[k]) for k in float_caps])
    # The gradient loop's invariants come from the forward loop's: a cotangent may know a dim
    # its variable leaves None, but the body's vjp only knows what the variable's spec says.
    invariants = [()] + [_loosest(specs[k].shape, seed.shape) for k, seed in zip(float_vars, seeds)]
    invariants += [captures[k].shape for k in float_caps]
    varying = {1 + pos for pos, k in enumerate(float_vars) if k not in history}
    node = _loop_node(lambda step, *rest: step > 0, body, start, None, invariants, "while_grad",
                      reverse_of=out.name, varying=varying)
    final = _final_values(node)
    result = [None] * len(inputs)
    for pos, k in enumerate(float_vars):
        result[k] = final[1 + pos]
    for pos, k in enumerate(float_caps):
        result[n_vars + k] = final[1 + len(float_vars) + pos]
    return result


def _loosest(a: tuple | None, b: tuple | None) -> tuple | None:
    """The shape both `a` and `b` fit: their common dims, None where they differ or are unknown
    (an unknown rank if either rank is)."""
    if a is None or b is None:
        return None
    return tuple(d if d == e else None for d, e in zip(a, b))


def _while_jvp(tangents, *inputs, out, n_vars, cond_graph, body_graph, cond_index, body_index,
               out_specs, stacked, maximum_iterations, keep_history, reverse_of):
    # Forward mode needs no saved iterations: one loop carries the variables and their tangents.
    # Where a gradient loop already reads this loop's stacked histories, their tangents are
    # that loop's stacked histories of the tangent variables.
    _check_differentiable(body_graph, reverse_of, "forward")
    specs, captures = out_specs[:n_vars], inputs[n_vars:]
    float_vars = [k for k in range(n_vars) if dtypes.is_floating(specs[k].dtype)]
    moving = [j for j, t in enumerate(tangents[n_vars:])
              if t is not None and dtypes.is_floating(captures[j].dtype)]
    starts = [C.zeros_like(inputs[k]) if tangents[k] is None else tangents[k] for k in float_vars]

    def run(fg, index, values):
        inner = [get_default_graph().capture(c) for c in captures]
        return inline(fg, list(values) + [inner[i] for i in index]), inner

    def body(*carried):
        values, var_tangents = carried[:n_vars], carried[n_vars:]
        ys, inner = run(body_graph, body_index, values)
        graph = get_default_graph()
        moved = jvp_of([ys[k] for k in float_vars],
                          [values[k] for k in float_vars] + [inner[j] for j in moving],
                          list(var_tangents) + [graph.capture(tangents[n_vars + j]) for j in moving])
        return (*ys, *moved)

    varying = {k for k in float_vars if k not in stacked}
    varying |= {n_vars + pos for pos, k in enumerate(float_vars) if k in varying}
    node = _loop_node(lambda *carried: run(cond_graph, cond_index, carried[:n_vars])[0][0], body,
                      (*inputs[:n_vars], *starts), maximum_iterations,
                      [s.shape for s in specs] + [specs[k].shape for k in float_vars], "while_jvp",
                      varying=varying)
    final = _final_values(node)
    result = [None] * len(out_specs)
    for pos, k in enumerate(float_vars):
        result[k] = final[n_vars + pos]
    if _history_is_read(out, n_vars):
        tangent_vars = [n_vars + float_vars.index(k) for k in stacked]
        result[n_vars:] = _histories(node, tangent_vars)
    return result


def _history_is_read(packed: Tensor, n_vars: int) -> bool:
    """Whether some node already reads one of this loop's stacked histories."""
    graph = packed.graph
    return any(graph.node(name)["op"] == "tuple_get" and graph.node(name)["attrs"]["index"] >= n_vars
               for name in graph.consumers(packed.name))


def _histories(packed: Tensor, ks: list[int]) -> list[Tensor]:
    """The stacked histories of loop variables `ks` (each in the loop's `stacked`); the loop
    now saves its iterations."""
    attrs = packed.node["attrs"]
    attrs["keep_history"] = True
    elements = outputs_of(packed, attrs["out_specs"])
    return [elements[attrs["n_vars"] + attrs["stacked"].index(k)] for k in ks]


def _check_differentiable(body_graph, reverse_of: str | None, mode: str) -> None:
    # A gradient loop reads the iterations of a float variable whose shape may change (they
    # cannot be stacked into one tensor) with history_item, which has no derivative: going
    # on would silently drop that variable's part of the second derivative.
    for _, node in body_graph.nx.nodes(data=True):
        if node["op"] == "history_item" and dtypes.is_floating(node["dtype"]):
            raise UnimplementedError(
                f"{mode}-mode differentiation of the gradient loop of while_loop {reverse_of!r} (a "
                "second derivative through a while_loop) needs float loop variables whose shapes "
                "stay the same; this loop has one with None in shape_invariants")


def _while_batch(values, dims, *, n_vars, cond_graph, body_graph, cond_index, body_index,
                 out_specs, stacked, maximum_iterations, keep_history, reverse_of):
    # The variables that carry the batch: those batched on entry, and those the body makes
    # depend on a batched value (a fixed point). With an unbatched condition every example runs
    # the same iterations: one loop of the batched body. With a batched one (as JAX) the loop
    # runs while any example's condition holds, and an example whose condition failed keeps its
    # values (a select per variable); its saved iterations then are not per example.
    cap_batched = [is_batched(d) for d in dims[n_vars:]]
    batched = _batched_vars(body_graph, body_index, [is_batched(d) for d in dims[:n_vars]],
                            cap_batched)
    pred_batched = _depends_on_batch(cond_graph, cond_index, batched, cap_batched)
    batched = [True] * n_vars if pred_batched else batched
    start = [materialize(v, d, "while_loop") if b else v
             for v, d, b in zip(values[:n_vars], dims[:n_vars], batched)]
    keep_going, body = _batched_steps(cond_graph, body_graph, cond_index, body_index,
                                      list(zip(values[n_vars:], dims[n_vars:])), batched,
                                      pred_batched)
    var_dims = [0 if b else None for b in batched]
    if any(getattr(type(v), "style", None) == "eager" for v in start):
        return list(while_loop(keep_going, body, start, maximum_iterations=maximum_iterations,
                               return_same_structure=True)), var_dims
    invariants = [None if s.shape is None else (v.shape[:1] if b else ()) + s.shape
                  for v, s, b in zip(start, out_specs[:n_vars], batched)]
    varying = {k for k in range(n_vars) if dtypes.is_floating(out_specs[k].dtype)} - set(stacked)
    node = _loop_node(keep_going, body, start, maximum_iterations, invariants, "while",
                      reverse_of=reverse_of, varying=varying)
    if pred_batched:
        return _final_values(node), var_dims
    node.node["attrs"]["keep_history"] = keep_history
    return node, var_dims + [1 if batched[k] else None for k in stacked]


def _batched_steps(cond_graph, body_graph, cond_index, body_index, captures: list,
                   batched: list, pred_batched: bool) -> tuple:
    """The condition and body of a batched while_loop (captures: (value, batch dim) pairs)."""
    def run(fg, index, loop_vars):
        pairs = [(v, 0 if b else None) for v, b in zip(loop_vars, batched)]
        return batch_subgraph(fg, pairs + [captures[i] for i in index])

    def keep_going(*loop_vars):
        ((going, dim),) = run(cond_graph, cond_index, loop_vars)
        if not pred_batched:
            return going
        return apply_named("greater", apply_named("sum", apply_named(
            "cast", going, dtype=dtypes.int64), axis=None, keepdims=False), 0)

    def body(*loop_vars):
        outs = [materialize(v, d, "while_loop") if b else v
                for (v, d), b in zip(run(body_graph, body_index, loop_vars), batched)]
        if not pred_batched:
            return tuple(outs)
        ((going, dim),) = run(cond_graph, cond_index, loop_vars)
        return tuple(apply_named("where", align(going, dim, len(new.shape) - 1), new, old)
                     for new, old in zip(outs, loop_vars))
    return keep_going, body


def _depends_on_batch(fg, index, var_batched: list, cap_batched: list) -> bool:
    """Whether fg's one output depends on a batched loop variable or capture."""
    inputs = fg.params + fg.inner_captures
    flags = var_batched + [cap_batched[i] for i in index]
    ancestors = nx.ancestors(fg.nx, fg.outputs[0].name) | {fg.outputs[0].name}
    return any(flag and t.name in ancestors for t, flag in zip(inputs, flags))


def _batched_vars(body_graph, body_index, var_batched: list, cap_batched: list) -> list:
    """The loop variables that carry the batch after any number of iterations."""
    inputs = body_graph.params + body_graph.inner_captures
    reach = [nx.ancestors(body_graph.nx, t.name) | {t.name} for t in body_graph.outputs]
    while True:
        flags = var_batched + [cap_batched[i] for i in body_index]
        sources = {t.name for t, flag in zip(inputs, flags) if flag}
        now = [b or bool(r & sources) for b, r in zip(var_batched, reach)]
        if now == var_batched:
            return now
        var_batched = now


def _history_len_batch(values, dims):
    if isinstance(values[0], list):
        raise UnimplementedError(
            "vmap: the iteration count of a while_loop whose condition differs between examples "
            "is not one number (a gradient of the loop taken inside the mapped function); take "
            "the gradient of the vmapped function instead")
    return history_len_(values[0]), None


def _history_item_batch(values, dims, *, index, shape, dtype):
    (packed, step), (packed_dims, step_dim) = values, dims
    if isinstance(packed, list) or step_dim is not None:
        raise UnimplementedError("vmap: reading a while_loop's saved iterations at a step that "
                                 "differs between examples is not supported")
    spec = packed.node["attrs"]["out_specs"][index]
    return history_item_(packed, step, index=index, shape=spec.shape, dtype=dtype), \
        packed_dims[index]


while_ = defop("while_loop", kernel=_while_kernel, shape_rule=_while_rule, vjp=_while_vjp, jvp=_while_jvp,
               traits={"stateful", "packed", "subgraphs"}, batch=_while_batch,
               doc="Runs a body sub-graph while a cond sub-graph is true.")


def while_loop(cond_fn: Callable, body_fn: Callable, loop_vars, shape_invariants=None,
               parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
               name: str | None = None, maximum_iterations: int | None = None,
               return_same_structure: bool = False):
    """Repeat `loop_vars = body_fn(*loop_vars)` while `cond_fn(*loop_vars)` is true, in the graph.

    TensorFlow 1's signature and conventions.

    Args:
        cond_fn, body_fn: called once each, at build time, on placeholders for the loop
            variables (one argument per element of a tuple/list `loop_vars`).
        loop_vars: a tensor or nested structure of tensors; body_fn returns the same structure,
            with the same dtypes and shapes (dims that change must be None in `shape_invariants`).
            With one loop variable, body_fn may return it bare or in a 1-tuple/list.
        shape_invariants: one shape per (flattened) loop variable, None for dims that change.
        parallel_iterations: a positive int, accepted for TF1 compatibility (iterations run one
            after another here); swap_memory: accepted and ignored (there is no device memory).
        back_prop: False stops gradients at the loop's results (TF1: no gradient through it).
        maximum_iterations: stop after this many iterations even if cond_fn is still true.
        return_same_structure: False (TF1's default): with one loop variable the loop returns a
            bare tensor, whatever its container; True returns loop_vars' structure.
    Returns:
        The final loop variables, in loop_vars' structure (see return_same_structure).
    Raises:
        InvalidArgumentError: at build time, a cond_fn that does not return one bool scalar or a
            body_fn whose results differ from the loop variables in structure, dtype or shape,
            or parallel_iterations not a positive int; when a gradient runs, a variable whose
            shape changed though shape_invariants did not say it may.
    Differentiable: the loop saves each iteration's variables and its gradient runs in reverse.
    Second derivatives (reverse over reverse, forward over reverse) need the float variables'
    shapes to stay the same (no None in their shape_invariants).

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (), name="x")
        >>> y = sg.while_loop(lambda y: y < 100, lambda y: y * 2, [x])
        >>> float(sg.Session().run(y, {x: 3.0}))
        192.0
    """
    if isinstance(parallel_iterations, bool) or not isinstance(parallel_iterations, int) \
            or parallel_iterations < 1:
        raise InvalidArgumentError(f"while_loop: parallel_iterations must be a positive integer, "
                                   f"got {parallel_iterations!r} at {user_source()}")
    single = _single(loop_vars)
    if single:
        body_fn = _one_var_body(body_fn, loop_vars)
    if any(getattr(type(t), "style", None) == "eager" for t in flatten(loop_vars)):
        result = _eager_while(cond_fn, body_fn, loop_vars, maximum_iterations)
    else:
        if shape_invariants is not None and not isinstance(loop_vars, (list, tuple, dict)):
            shape_invariants = [shape_invariants]  # a bare loop variable's shape, as TF1
        varying = set() if shape_invariants is None else {
            k for k, shape in enumerate(map(as_static, shape_invariants))
            if shape is None or None in shape}
        node = _loop_node(cond_fn, body_fn, loop_vars, maximum_iterations, shape_invariants, name,
                          varying=varying)
        finals = _final_values(node)
        if not back_prop:
            finals = [C.stop_gradient(t) for t in finals]
        result = unflatten(loop_vars, finals)
    unbox = single and not return_same_structure and isinstance(result, (list, tuple))
    return result[0] if unbox else result


def _single(loop_vars) -> bool:
    """True for one loop variable, bare or alone in a list or tuple (TF1's one-variable loop)."""
    if isinstance(loop_vars, (list, tuple)):
        return len(loop_vars) == 1 and not isinstance(loop_vars[0], (list, tuple, dict))
    return not isinstance(loop_vars, dict)


def _one_var_body(body_fn: Callable, loop_vars) -> Callable:
    """body_fn made to return the loop variable in loop_vars' container: TF1 lets the body of a
    one-variable loop return it bare or in a 1-tuple/list."""
    contained = isinstance(loop_vars, (list, tuple))

    def body(*args):
        out = body_fn(*args)
        boxed = isinstance(out, (list, tuple)) and len(out) == 1
        if contained:
            return type(loop_vars)(out if boxed else [out])
        return out[0] if boxed else out
    return body


def _final_values(packed: Tensor) -> list[Tensor]:
    attrs = packed.node["attrs"]
    return unpack(packed, attrs["out_specs"][:attrs["n_vars"]])


def _loop_node(cond_fn, body_fn, loop_vars, maximum_iterations, shape_invariants, name,
               reverse_of: str | None = None, varying: set[int] = frozenset()) -> Tensor:
    """The packed while_loop node; `varying` are the variables whose shapes may change (their
    iterations are saved as a Python list rather than a stacked tensor)."""
    flat = flatten(loop_vars)
    outer = get_default_graph()
    for t in flat:
        if isinstance(t, Tensor) and not outer.encloses(t.graph):
            outer = t.graph
    with outer.as_default():
        flat = [t if isinstance(t, Tensor) else C.constant(t) for t in flat]
        specs = _loop_specs(flat, shape_invariants)
        cond_g, _ = build_subgraph(outer, "cond", cond_fn, specs, loop_vars)
        if len(cond_g.outputs) != 1 or spec_of(cond_g.outputs[0]) != Spec((), dtypes.bool_):
            raise InvalidArgumentError(f"while_loop: cond_fn must return one bool scalar at {user_source()}")
        body_g, body_out = build_subgraph(outer, "body", body_fn, specs, loop_vars)
        same_structure(_top_as_list(loop_vars), _top_as_list(body_out),
                        "while_loop: body_fn must return the loop variables' structure")
        _check_invariants(specs, body_g.outputs)
        captures = union_captures([cond_g, body_g])
        stacked = tuple(k for k, s in enumerate(specs)
                        if dtypes.is_floating(s.dtype) and k not in varying and s.shape is not None)
        attrs = {"n_vars": len(flat), "cond_graph": cond_g, "body_graph": body_g,
                 "cond_index": capture_indices(cond_g, captures),
                 "body_index": capture_indices(body_g, captures),
                 "out_specs": tuple(specs) + tuple(Spec((None,) + specs[k].shape, specs[k].dtype)
                                                   for k in stacked),
                 "stacked": stacked,
                 "maximum_iterations": None if maximum_iterations is None else int(maximum_iterations),
                 "keep_history": False, "reverse_of": reverse_of}
        node = apply(while_, flat + captures, attrs, name=name or "while")
        cond_g.name, body_g.name = node.name + "/cond", node.name + "/body"
        return node


def _top_as_list(value):
    """The structure compared with the body's result: the outer container, list or tuple, as a
    list (TF1 lets a body return a tuple for list loop_vars and the reverse; nested containers
    must match exactly)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return value if isinstance(value, dict) else [value]


def _loop_specs(flat: list[Tensor], shape_invariants) -> list[Spec]:
    if shape_invariants is None:
        return [spec_of(t) for t in flat]
    shapes = [as_static(s) for s in shape_invariants]
    if len(shapes) != len(flat):
        raise InvalidArgumentError(f"while_loop: {len(shapes)} shape invariants for {len(flat)} "
                                   f"loop variables (give one shape per variable, flattened)")
    _check_invariants(shapes and [Spec(s, t.dtype) for s, t in zip(shapes, flat)], flat)
    return [Spec(s, t.dtype) for s, t in zip(shapes, flat)]


def _check_invariants(specs: list[Spec], outputs: list[Tensor]) -> None:
    for k, (spec, out) in enumerate(zip(specs, outputs)):
        fits = spec.shape is None or out.shape is not None and len(out.shape) == len(
            spec.shape) and all(a is None or a == b for a, b in zip(spec.shape, out.shape))
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
