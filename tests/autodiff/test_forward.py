"""Forward mode over the op table: jvp vs reverse mode, vs finite differences, and second order."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.ops.registry import NOT_DIFFERENTIABLE, REGISTRY
from tests.autodiff.table import (CASES, DIFF, SMOOTH, TRUE_DERIVATIVE, build, central_difference,
                                  directions, ids, sample)
from tests.op_table import ROWS


@pytest.mark.parametrize("row,case", DIFF, ids=ids(DIFF))
def test_forward_and_reverse_agree(row, case, rng):
    """<v, J u> from one jvp equals <J^T v, u> from one vjp."""
    shapes = row.cases[case]
    xs, y = build(row, shapes)
    us = directions(shapes, rng)
    v = rng.normal(size=y.shape)
    (ty,) = sg.jvp(y, xs, [sg.constant(u) for u in us])
    vjps = sg.gradients(y, xs, grad_ys=sg.constant(v), unconnected_gradients="zero")
    values = sg.Session().run([ty] + vjps, dict(zip(xs, sample(row, shapes, rng))))
    forward = np.sum(v * values[0])
    reverse = sum(np.sum(g * u) for g, u in zip(values[1:], us))
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-10)
    assert np.shape(values[0]) == np.shape(np.zeros(y.shape))


@pytest.mark.parametrize("row,case", TRUE_DERIVATIVE, ids=ids(TRUE_DERIVATIVE))
def test_jvp_matches_finite_differences(row, case, rng):
    shapes = row.cases[case]
    xs, y = build(row, shapes)
    us = directions(shapes, rng)
    (ty,) = sg.jvp(y, xs, [sg.constant(u) for u in us])
    values = sample(row, shapes, rng)
    sess = sg.Session()
    analytic = sess.run(ty, dict(zip(xs, values)))
    numeric = central_difference(sess, y, xs, values, us)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("row,case", SMOOTH, ids=ids(SMOOTH))
def test_forward_over_reverse_matches_finite_differences_of_the_gradient(row, case, rng):
    """The jvp of the gradient (a Hessian-vector product) against differences of the gradient."""
    shapes = row.cases[case]
    xs, y = build(row, shapes)
    weights = sg.constant(rng.uniform(0.5, 1.5, size=y.shape))
    grads = sg.gradients(sg.sum(y * weights), xs, unconnected_gradients="zero")
    us = directions(shapes, rng)
    hvps = sg.jvp(grads, xs, [sg.constant(u) for u in us])
    values = sample(row, shapes, rng)
    sess = sg.Session()
    analytic = sess.run(hvps, dict(zip(xs, values)))
    numeric = central_difference(sess, grads, xs, values, us, eps=1e-5)
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("row,case", DIFF, ids=ids(DIFF))
def test_unknown_dims_give_the_same_tangent(row, case, rng):
    shapes = row.cases[case]
    values, us = sample(row, shapes, rng), directions(shapes, rng)
    results = []
    for unknown in (False, True):
        sg.reset_default_graph()
        try:
            xs, y = build(row, shapes, unknown=unknown)
        except sg.errors.InvalidArgumentError as exc:
            assert unknown and "known" in str(exc)
            return
        tangent_inputs = [sg.placeholder(sg.float64, x.shape, name=f"u{k}") for k, x in enumerate(xs)]
        (ty,) = sg.jvp(y, xs, tangent_inputs)
        results.append(sg.Session().run(ty, {**dict(zip(xs, values)), **dict(zip(tangent_inputs, us))}))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def test_non_differentiable_rows_have_zero_tangents(rng):
    for row in ROWS:
        if row.differentiable:
            continue
        sg.reset_default_graph()
        xs, y = build(row, row.cases[0])
        tangents = sg.jvp(y, xs, [sg.constant(u) for u in directions(row.cases[0], rng)])
        value = sg.Session().run(tangents[0], dict(zip(xs, sample(row, row.cases[0], rng))))
        np.testing.assert_array_equal(value, np.zeros(y.shape), err_msg=row.name)


def test_every_differentiable_op_has_a_jvp_rule():
    """A meta-test: a vjp without its jvp would break forward mode and forward-over-reverse."""
    missing = sorted(name for name, op in REGISTRY.items()
                     if op.differentiable and not callable(op.jvp) and not name.startswith("user_"))
    assert not missing, f"ops with a vjp but no jvp: {missing}"
    for name, op in REGISTRY.items():
        if not op.differentiable:
            assert op.jvp is NOT_DIFFERENTIABLE, name


def test_cases_cover_the_table():
    assert {row.name for row, _ in CASES} == {row.name for row in ROWS}
