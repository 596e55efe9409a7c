"""The pass manager applies no pass twice to a graph that pass already returned unchanged."""
import numpy as np

import staticgraph as sg
from staticgraph.compiler import PassManager, eliminate_dead_code, prune, simplify


def _graph():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        sg.identity(sg.negative(sg.negative(x)) * 1.0, name="y")
    return prune(g, ["y"], ["x"])


def test_a_pass_at_its_fixed_point_is_not_applied_again():
    calls = []

    def watch(graph):
        calls.append(graph)
        return graph

    pruned = _graph()
    graph, records = PassManager([simplify, eliminate_dead_code, watch], check=True).run(pruned)
    # round 1 simplifies and drops the dead nodes; round 2 changes nothing and `watch` already
    # returned that very graph unchanged, so it is not called again
    assert [r.name for r in records] == ["simplify", "eliminate_dead_code", "watch"] * 2
    assert len(calls) == 1 and calls[0] is graph
    assert records[-1].graph is graph and records[-1].seconds < 1e-3
    assert sorted(graph.nx) == ["x"]


def test_the_compiled_chain_computes_the_same_values():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        y = x
        for _ in range(5):
            y = sg.tanh(y * 0.5 + 1.0)
        loss = sg.sum(y)
        (dx,) = sg.gradients(loss, [x])
    feed = np.linspace(-1.0, 1.0, 4)
    value, grad = sg.compile([loss, dx], feeds=[x], graph=g).run({x: feed})
    ref, dref = feed, np.ones(4)
    for _ in range(5):  # closed form: the chain rule, link by link
        ref = np.tanh(ref * 0.5 + 1.0)
        dref = dref * 0.5 * (1.0 - ref ** 2)
    np.testing.assert_allclose(value, ref.sum(), rtol=1e-12)
    np.testing.assert_allclose(grad, dref, rtol=1e-12)
