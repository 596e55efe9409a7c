"""Many random graphs with unknown dims and slices: each checked against the eager style, against
directional finite differences in float64, and for the soundness of every static shape.

The default run checks STATICGRAPH_FUZZ_WIDE (1,000) graphs; raise it for a longer hunt.
"""
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import staticgraph as sg
from staticgraph import eager
from tests.fuzz_graphs import Plan, build, feeds, programs, unknown_dims

WIDE = int(os.environ.get("STATICGRAPH_FUZZ_WIDE", "1000"))
H = 1e-6


def _eager(steps, values):
    leaves = [eager.tensor(v, requires_grad=True) for v in values]
    plan = Plan()
    out = build(steps, leaves, plan)
    out.backward()
    grads = [np.zeros(v.shape) if leaf.grad is None else leaf.grad.detach().numpy()
             for leaf, v in zip(leaves, values)]
    return plan, out.detach().numpy(), grads


def _assert_sound(claimed, value, name):
    """Every dim a static shape claims is the run's."""
    assert len(claimed) == np.ndim(value), (name, claimed, np.shape(value))
    for want, got in zip(claimed, np.shape(value)):
        assert want is None or want == got, f"{name}: static shape {claimed}, run shape {np.shape(value)}"


@settings(max_examples=WIDE, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs(with_slices=True), st.integers(0, 2 ** 9 - 1))
def test_random_graph_with_unknown_dims_agrees_with_eager_and_finite_differences(program, mask):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    plan, eager_value, eager_grads = _eager(steps, values)

    g = sg.Graph()
    with g.as_default():
        xs = [sg.placeholder(sg.float64, s, name=f"in{i}")
              for i, s in enumerate(unknown_dims(mask, shapes))]
        nodes = []
        y = build(steps, xs, plan, nodes)
        grads = sg.gradients(y, xs, unconnected_gradients="zero")
    rng = np.random.default_rng(seed + 1)
    directions = [rng.normal(size=s) for s in shapes]
    fetches = [y] + grads + nodes  # one fetch list: the session compiles it once
    with sg.Session(graph=g) as sess:
        y_value, *rest = sess.run(fetches, dict(zip(xs, values)))
        g_values, node_values = rest[:len(xs)], rest[len(xs):]
        plus, minus = (sess.run(fetches, {x: v + sign * H * u
                                          for x, v, u in zip(xs, values, directions)})[0]
                       for sign in (1, -1))
    for node, value in zip(nodes, node_values):
        _assert_sound(node.shape, value, node.name)
    for grad, value in zip(grads, g_values):
        _assert_sound(grad.shape, value, grad.name)
    np.testing.assert_allclose(y_value, eager_value, rtol=1e-12, atol=1e-12)
    for got, want in zip(g_values, eager_grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    directional = sum(np.sum(gv * u) for gv, u in zip(g_values, directions))
    np.testing.assert_allclose((plus - minus) / (2 * H), directional, rtol=1e-5, atol=1e-6)
