"""Nested (recursive) checkpointing: O(log L) values live, results unchanged, tighter budgets met."""
import math

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import PassManager, plan_memory, prune, rematerialize, schedule, verify
from staticgraph.compiler.remat import RECOMPUTE, nested_checkpoints, sqrt_checkpoints, stash
from tests.compiler.helpers import assert_values_equal, run_compiled_graph

WIDTH = 100  # floats per value of the chains below


def _chain_graph(length: int):
    """x -> sin -> ... (length times) -> sum and its gradient, compiled."""
    g = sg.Graph()
    with g.as_default():
        h = x = sg.placeholder(sg.float64, (WIDTH,), name="x")
        for i in range(length):
            h = sg.sin(h, name=f"h{i}")
        (dx,) = sg.gradients(sg.sum(h), [x])
    graph, _ = PassManager().run(prune(g, [dx.name], ["x"]))
    return graph


def _live_values(graph) -> int:
    """The most forward values live at once in the plan, in values of the chain."""
    return plan_memory(graph, schedule(graph), "remat").activation_bytes // (8 * WIDTH)


def test_nested_levels_keep_about_log2_n_values_live():
    nested, sqrt = [], []
    for length in (8, 16, 32, 64, 128):
        graph = _chain_graph(length)
        values = stash(graph)
        levels = nested_checkpoints(values, depth=math.ceil(math.log2(len(values))))
        new = rematerialize(graph, levels)
        verify(new)
        assert {new.node(n)["role"] for n in new.nx if n.startswith("recompute")} == {RECOMPUTE}
        nested.append(_live_values(new))
        sqrt.append(_live_values(rematerialize(graph, sqrt_checkpoints(graph))))
        assert nested[-1] <= math.log2(length) + 1
    # one value more per doubling, where one level of checkpoints grows by about sqrt(2)
    assert [b - a for a, b in zip(nested, nested[1:])] == [1, 1, 1, 1]
    assert sqrt[-1] >= 2.5 * nested[-1]


def test_nested_levels_give_the_same_values():
    g = sg.Graph()
    with g.as_default():
        h = x = sg.placeholder(sg.float64, (7,), name="x")
        for i in range(20):
            h = sg.tanh(h * 1.3 + 0.1) if i % 2 else sg.sin(h)
        y = sg.sum(h * h)
        (dx,) = sg.gradients(y, [x])
    graph, _ = PassManager().run(prune(g, [y.name, dx.name], ["x"]))
    levels = nested_checkpoints(stash(graph), depth=3)
    assert max(levels.values()) == 2
    new = rematerialize(graph, levels)
    verify(new)
    assert any(n.startswith("recompute3/") for n in new.nx)  # values below the last level
    value = {"x": np.linspace(-1.0, 1.0, 7)}
    assert_values_equal(run_compiled_graph(new, value), run_compiled_graph(graph, value))


def _mlp16(layers: int = 16, width: int = 256, batch: int = 128):
    """A tanh MLP with constant weights; every weight's gradient fetched."""
    rng = np.random.default_rng(0)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (batch, width), name="x")
        weights = [sg.constant(rng.standard_normal((width, width)) / np.sqrt(width),
                               name=f"w{i}") for i in range(layers)]
        h = x
        for i, w in enumerate(weights):
            h = sg.tanh(sg.matmul(h, w), name=f"act{i}")
        grads = sg.gradients(sg.sum(h * h), weights)
    return g, x, grads, rng.standard_normal((batch, width))


@pytest.mark.parametrize("share, nested", [(0.8, False), (0.78, True)])
def test_a_16_layer_mlp_fits_a_budget_below_one_level_of_checkpoints(share, nested):
    g, x, grads, value = _mlp16()
    plain = sg.compile(grads, feeds=[x], graph=g)
    budget = int(share * plain.memory.peak_bytes)
    remat = sg.compile(grads, feeds=[x], graph=g, memory="remat", budget_bytes=budget,
                       debug_memory=True)  # freed buffers poisoned: results must not change
    assert remat.memory.peak_bytes <= budget
    # one level of checkpoints bottoms out at 0.8x: below it only nested levels fit
    assert bool(remat.memory.remat.nested) == nested
    for got, want in zip(remat.run({x: value}), plain.run({x: value})):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
