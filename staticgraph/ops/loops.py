"""`while_loop`: a loop in the graph, its cond and body built once as sub-graphs; differentiable.

The forward loop saves each iteration's variables when a gradient asks for them; the gradient is
a second loop that walks those iterations in reverse. Forward mode carries tangents alongside.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.registry import Spec, apply, defop
from staticgraph.ops.shapes import fmt
from staticgraph.ops.subgraph import (build_subgraph, capture_indices, grads_or_zeros, inline, jvp_of,
                                      outputs_of, run_subgraph, same_structure, spec_of,
                                      union_captures, unpack)
from staticgraph.runtime.fetches import flatten, unflatten
from staticgraph.sourceinfo import user_source


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
        (keep_going,) = run_subgraph(cond_graph, state, values + cond_caps)
        if not keep_going:
            break
        if keep_history:
            history.append(tuple(values))
        values = run_subgraph(body_graph, state, values + body_caps)
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
    finals = outputs_of(out, out_specs)
    seeds = [C.zeros_like(finals[k]) if cts[k] is None else cts[k] for k in float_vars]

    def body(step, *carried):
        var_cts, sums = carried[:len(float_vars)], carried[len(float_vars):]
        step = step - 1
        graph = get_default_graph()
        xs = [history_item_(out, step, index=k, shape=s.shape, dtype=s.dtype)
              for k, s in enumerate(out_specs)]
        inner = [graph.capture(c) for c in captures]
        ys = inline(body_graph, xs + [inner[i] for i in body_index])
        grads = grads_or_zeros([ys[k] for k in float_vars],
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
        moved = jvp_of([ys[k] for k in float_vars],
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
        cond_g, _ = build_subgraph(outer, "cond", cond_fn, specs, loop_vars)
        if len(cond_g.outputs) != 1 or spec_of(cond_g.outputs[0]) != Spec((), dtypes.bool_):
            raise InvalidArgumentError(f"while_loop: cond_fn must return one bool scalar at {user_source()}")
        body_g, body_out = build_subgraph(outer, "body", body_fn, specs, loop_vars)
        same_structure(_as_struct(loop_vars), _as_struct(body_out),
                        "while_loop: body_fn must return the loop variables' structure")
        _check_invariants(specs, body_g.outputs)
        captures = union_captures([cond_g, body_g])
        attrs = {"n_vars": len(flat), "cond_graph": cond_g, "body_graph": body_g,
                 "cond_index": capture_indices(cond_g, captures),
                 "body_index": capture_indices(body_g, captures), "out_specs": tuple(specs),
                 "maximum_iterations": None if maximum_iterations is None else int(maximum_iterations),
                 "keep_history": False, "reverse_of": reverse_of}
        node = apply(while_, flat + captures, attrs, name=name or "while")
        cond_g.name, body_g.name = node.name + "/cond", node.name + "/body"
        return unflatten(loop_vars, unpack(node, specs))


def _as_struct(value):
    return value if isinstance(value, (list, tuple, dict)) else (value,)


def _loop_specs(flat: list[Tensor], shape_invariants) -> list[Spec]:
    if shape_invariants is None:
        return [spec_of(t) for t in flat]
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
