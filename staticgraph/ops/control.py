"""`cond`: a two-way branch in the graph, both branches built once as sub-graphs and only the
taken one run; differentiable in both modes (its vjp is a cond of the branches' vjps, its jvp a
cond of their jvps).
"""
from __future__ import annotations

from typing import Callable

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.batching import batch_subgraph, elementwise_rule, materialize, to_front
from staticgraph.ops.registry import ShapeError, Spec, apply, defop, get_op
from staticgraph.ops.shapes import fmt
from staticgraph.ops.subgraph import (build_subgraph, capture_indices, check_subgraph,
                                      grads_or_zeros, inline, jvp_of, merge_spec, outputs_of,
                                      run_subgraph, same_structure, spec_of, union_captures,
                                      unpack)
from staticgraph.nest import unflatten
from staticgraph.sourceinfo import user_source


def _cond_rule(pred: Spec, *captures: Spec, branches, out_specs):
    if pred.shape != () or pred.dtype != dtypes.bool_:
        raise ShapeError(f"the predicate must be a bool scalar, got {pred.dtype.name}{fmt(pred.shape)}")
    for (fg, indices), which in zip(branches, ("true", "false")):
        check_subgraph(fg, f"the {which} branch", [captures[i] for i in indices], list(out_specs))
    return Spec((), dtypes.packed)


def _cond_kernel(state, pred, *captures, branches, out_specs):
    fg, indices = branches[0 if pred else 1]
    return tuple(run_subgraph(fg, state, [captures[i] for i in indices]))


def _cond_vjp(cts, pred, *captures, out, branches, out_specs):
    # d/dc of cond(p, f, g)(c) = cond(p, d/dc f, d/dc g): each branch recomputes itself and
    # differentiates with respect to every capture of the cond (zeros where it does not use one).
    cts = [C.zeros_like(t) if ct is None else ct for ct, t in zip(cts, outputs_of(out, out_specs))]
    differentiable = [i for i, c in enumerate(captures) if dtypes.is_floating(c.dtype)]

    def branch_grad(which):
        fg, indices = branches[which]

        def fn():
            inner = [get_default_graph().capture(c) for c in captures]
            outputs = inline(fg, [inner[i] for i in indices])
            return tuple(grads_or_zeros(outputs, [inner[i] for i in differentiable], cts))
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
            return tuple(jvp_of(outputs, [inner[i] for i in moving],
                                   [graph.capture(tangents[1 + i]) for i in moving]))
        return fn

    return list(cond(pred, branch_jvp(0), branch_jvp(1), name="cond_jvp"))


def _cond_batch(values, dims, *, branches, out_specs):
    # An unbatched predicate picks one branch for all examples: a cond of the batched branches.
    # A batched one (as JAX) runs both branches on the whole batch and selects per example.
    pred, captures = values[0], values[1:]
    taken = [lambda fg=fg, indices=indices: batch_subgraph(
        fg, [(captures[i], dims[1 + i]) for i in indices]) for fg, indices in branches]
    if dims[0] is None:
        outs = cond(pred, *[lambda run=run: tuple(materialize(v, d, "cond") for v, d in run())
                            for run in taken], name="cond")
        return list(outs), [0] * len(outs)
    select = elementwise_rule(get_op("where"))
    outs = []
    for (t, dt), (f, df) in zip(*([to_front(v, d) for v, d in run()] for run in taken)):
        outs.append(select([pred, t, f], [0, dt, df]))
    return [v for v, _ in outs], [d for _, d in outs]


cond_ = defop("cond", kernel=_cond_kernel, shape_rule=_cond_rule, vjp=_cond_vjp, jvp=_cond_jvp,
              traits={"stateful", "packed", "subgraphs"}, batch=_cond_batch,
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
    for which, fn in (("true_fn", true_fn), ("false_fn", false_fn)):
        if not callable(fn):
            raise InvalidArgumentError(
                f"cond: {which} must be a callable that builds the branch (e.g. lambda: "
                f"{fn!r}), got {type(fn).__name__} at {user_source()}")
    if getattr(type(pred), "style", None) == "eager":
        return true_fn() if bool(pred) else false_fn()
    outer = get_default_graph()
    if isinstance(pred, Tensor) and not outer.encloses(pred.graph):
        outer = pred.graph
    with outer.as_default():
        pred = pred if isinstance(pred, Tensor) else C.constant(bool(pred))
        true_g, true_out = build_subgraph(outer, "true", true_fn, [])
        false_g, false_out = build_subgraph(outer, "false", false_fn, [])
        same_structure(true_out, false_out, "cond: the branches return different structures")
        specs = [merge_spec(spec_of(a), spec_of(b), "cond: branch outputs differ")
                 for a, b in zip(true_g.outputs, false_g.outputs)]
        captures = union_captures([true_g, false_g])
        branches = tuple((g, capture_indices(g, captures)) for g in (true_g, false_g))
        node = apply(cond_, [pred] + captures, {"branches": branches, "out_specs": tuple(specs)},
                     name=name or "cond")
        true_g.name, false_g.name = node.name + "/true", node.name + "/false"
        return unflatten(true_out, unpack(node, specs))
