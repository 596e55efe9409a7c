"""Fusion does not make a training step's memory plan larger: a deep relu MLP's step plans no
more bytes fused than unfused, and tanh and sigmoid MLPs store no more forward values."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import fusion


def _mlp_step(sizes: list, batch: int, activation=sg.relu):
    """An MLP's SGD step (loss and every parameter's update) and its feed shapes."""
    rng = np.random.default_rng(0)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (None, sizes[0]), name="x")
        labels = sg.placeholder(sg.float32, (None, sizes[-1]), name="labels")
        variables, h = [], x
        for i, (m, n) in enumerate(zip(sizes, sizes[1:])):
            w = sg.Variable(rng.normal(0, m ** -0.5, (m, n)).astype(np.float32), name=f"w{i}")
            b = sg.Variable(np.zeros(n, np.float32), name=f"b{i}")
            variables += [w, b]
            h = sg.matmul(h, w) + b
            h = activation(h) if i < len(sizes) - 2 else h
        loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=h))
        grads = sg.gradients(loss, variables)
        train = sg.group(*[v.assign_sub(0.01 * d) for v, d in zip(variables, grads)])
    return g, [loss, train], [x, labels], {x: (batch, sizes[0]), labels: (batch, sizes[-1])}


def _plans(fetches, feeds, shapes, graph) -> tuple:
    return tuple(sg.compile(fetches, feeds=feeds, graph=graph, fuse=fuse).plan_for(shapes)
                 for fuse in (True, False))


def test_a_deep_mlp_step_plans_no_more_bytes_fused(monkeypatch):
    # a relu's gradient and its bias gradient (a sum over the batch) fuse on large values;
    # packed together, the relu gradient lost its write in place of the dying matmul's value
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1 << 8)
    g, fetches, feeds, shapes = _mlp_step([12] + [32] * 6 + [4], batch=16)
    fused, unfused = _plans(fetches, feeds, shapes, g)
    assert fused.peak_bytes <= unfused.peak_bytes


@pytest.mark.parametrize("activation", [sg.tanh, sg.sigmoid], ids=["tanh", "sigmoid"])
def test_a_gradient_factor_of_forward_values_waits_for_the_backward(monkeypatch, activation):
    # 1 - tanh(z)^2 reads only the forward's tanh: grown into the forward's region it was
    # computed and stored there until the backward read it, doubling the stored values
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1 << 8)
    g, fetches, feeds, shapes = _mlp_step([12] + [32] * 4 + [4], 16, activation)
    fused, unfused = _plans(fetches, feeds, shapes, g)
    assert fused.activation_bytes == unfused.activation_bytes
    # and a fused node writes in place of a dying input, as its last member would unfused
    assert fused.peak_bytes <= unfused.peak_bytes



@pytest.mark.parametrize("kernels", ["numpy", "numba"])
def test_a_fused_node_writing_over_its_input_computes_what_unfused_code_does(monkeypatch,
                                                                             kernels):
    """The tanh MLP step, whose backward's fused nodes write in place of dying inputs: its
    loss and updated weights equal the unfused step's (numpy kernels bit for bit, numba to
    rounding), released buffers poisoned."""
    if kernels == "numba":
        pytest.importorskip("numba")
        monkeypatch.setenv("STATICGRAPH_NUMBA_AFTER", "1")
    monkeypatch.setenv("STATICGRAPH_NUMBA", "1" if kernels == "numba" else "0")
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1 << 8)
    g, fetches, feeds, shapes = _mlp_step([12] + [32] * 4 + [4], 16, sg.tanh)
    rng = np.random.default_rng(1)
    feed = {feeds[0]: rng.standard_normal(shapes[feeds[0]]).astype(np.float32),
            feeds[1]: np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]}
    results = []
    for fuse in (True, False):
        step = sg.compile(fetches, feeds=feeds, graph=g, fuse=fuse, debug_memory=True)
        plan = step.plan_for(shapes)
        if fuse:  # some fused node writes over an input
            assert any(step.graph.node(n)["op"] == "fused" for n in plan.inplace)
        sg.compile(sg.global_variables_initializer(g), graph=g).run()
        losses = [step.run(feed)[0] for _ in range(3)]
        results.append((losses, sg.compile(sg.trainable_variables(g), graph=g).run()))
    (fused_losses, fused_vars), (plain_losses, plain_vars) = results
    compare = np.testing.assert_array_equal if kernels == "numpy" else \
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(fused_losses + fused_vars, plain_losses + plain_vars):
        compare(a, b)
