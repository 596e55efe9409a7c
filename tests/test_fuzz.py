"""Property-based checks on random graphs (tests/fuzz_graphs.py): gradients against finite
differences, eager against static, forward mode against reverse mode.

STATICGRAPH_FUZZ_EXAMPLES raises the example count for a long run (CI uses the default).
"""
import numpy as np
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from staticgraph import eager
from tests.fuzz_graphs import EXAMPLES, build, feeds, programs

SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _static(shapes, steps):
    sg.reset_default_graph()
    xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
    return xs, build(steps, xs)


@SETTINGS
@given(programs())
def test_reverse_mode_matches_finite_differences(program):
    shapes, steps, seed = program
    xs, y = _static(shapes, steps)
    sg.testing.gradcheck(y, xs, dict(zip(xs, feeds(shapes, seed))), atol=1e-5, rtol=1e-4)


@SETTINGS
@given(programs())
def test_eager_matches_static(program):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    xs, y = _static(shapes, steps)
    grads = sg.gradients(y, xs, unconnected_gradients="zero")
    static = sg.Session().run([y] + grads, dict(zip(xs, values)))
    leaves = [eager.tensor(v, requires_grad=True) for v in values]
    out = build(steps, leaves)
    out.backward()
    np.testing.assert_allclose(out.detach().numpy(), static[0], rtol=1e-12, atol=1e-12)
    for leaf, g in zip(leaves, static[1:]):
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
        np.testing.assert_allclose(got, g, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(programs())
def test_forward_mode_agrees_with_reverse_mode(program):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    xs, y = _static(shapes, steps)
    rng = np.random.default_rng(seed + 1)
    us = [rng.normal(size=s) for s in shapes]
    (tangent,) = sg.jvp(y, xs, [sg.constant(u) for u in us])
    grads = sg.gradients(y, xs, unconnected_gradients="zero")
    t_val, *g_vals = sg.Session().run([tangent] + grads, dict(zip(xs, values)))
    np.testing.assert_allclose(t_val, sum(np.sum(g * u) for g, u in zip(g_vals, us)), rtol=1e-9, atol=1e-10)
