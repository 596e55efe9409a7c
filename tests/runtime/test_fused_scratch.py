"""Scratch memory of fused numpy kernels: one set per kind of scratch, not one per fused node."""
import gc
import tracemalloc

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import fusion


def _deep_relu_net(layers: int, width: int, batch: int):
    """A relu MLP's loss and weight gradients: each layer's relu(x @ w + b) and its gradient
    are regions of the same shape whose numpy kernels need a scratch row."""
    rng = np.random.default_rng(0)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (batch, width), name="x")
        h, weights = x, []
        for i in range(layers):
            w = sg.constant(rng.standard_normal((width, width)) / np.sqrt(width), name=f"w{i}")
            b = sg.constant(rng.standard_normal(width) * 0.1, name=f"b{i}")
            weights.append(w)
            h = sg.relu(sg.matmul(h, w) + b * 2.0)
        loss = sg.sum(h * h)
    return g, x, loss


def _held_by_run(exe, feed) -> tuple[int, list]:
    """Bytes still held after a run (beyond before it), and the run's results."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        results = exe.run(feed)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, results
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layers", [2, 8])
def test_a_run_holds_one_scratch_set_however_many_fused_layers(layers, monkeypatch):
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    width, batch = 128, 64
    g, x, loss = _deep_relu_net(layers, width, batch)
    xv = np.random.default_rng(1).standard_normal((batch, width))
    exe = sg.compile(loss, feeds=[x], graph=g)
    plain = sg.compile(loss, feeds=[x], graph=g, fuse=False)
    fused_nodes = [n for n, op in exe.graph.nx.nodes(data="op") if op == "fused"]
    assert len(fused_nodes) >= layers
    held, value = _held_by_run(exe, {x: xv})
    np.testing.assert_array_equal(value, plain.run({x: xv}))
    layer = batch * width * 8  # one (batch, width) float64 value
    # the planned buffers (allocated at the first run) and one scratch set of a few rows
    assert held <= exe.memory.peak_bytes + 4 * layer, (held, exe.memory.peak_bytes)


def test_outputs_of_a_fused_node_in_its_planned_buffer_are_views_bound_once(monkeypatch):
    """A fused node whose outputs stay inside the run writes into its planned buffer; each
    output, a view of that buffer, is bound once per instance instead of made at every run,
    and the results equal the unfused program's, released buffers poisoned."""
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (8, 8), name="x")
        w = sg.constant(np.random.default_rng(0).standard_normal((8, 8)), name="w")
        a = sg.tanh(x) * 2.0
        b = a + sg.sin(x)
        y = sg.matmul(sg.matmul(a, w), sg.matmul(b, w))
    exe = sg.compile(y, feeds=[x], graph=g, debug_memory=True)
    plain = sg.compile(y, feeds=[x], graph=g, fuse=False)
    source = exe.python_source()
    bound = [line for line in source.splitlines() if "= buf_" in line and "(" not in line]
    assert len(bound) == 2, source  # the two outputs, a and b
    for seed in range(3):  # the same instance again: the bound views still see each run's values
        xv = np.random.default_rng(seed).standard_normal((8, 8))
        np.testing.assert_array_equal(exe.run({x: xv}), plain.run({x: xv}))
