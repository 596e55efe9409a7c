"""plan_memory: liveness, size-aware reuse, in place, views, what never gets a buffer, the figures."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import plan_memory, prune, schedule
from staticgraph.compiler.memory import BUFFER, EXTERNAL, FRESH, NONE, VIEW


def _plan(g, fetches, feeds, mode="plan"):
    compiled = prune(g, fetches, feeds)
    return plan_memory(compiled, schedule(compiled), mode)


def test_an_elementwise_chain_runs_in_one_buffer_in_place():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (100,), name="x")
        y = sg.sum(sg.log(sg.exp(sg.sin(x, name="a"), name="b"), name="c"), name="y")
    plan = _plan(g, ["y"], ["x"])
    assert plan.buffers["a"] == plan.buffers["b"] == plan.buffers["c"]
    assert plan.inplace == {"b": "a", "c": "b"}
    assert plan.kinds["y"] == FRESH and "y" not in plan.buffers  # fetched: allocated, never reused
    assert plan.buffer_bytes == (800,)
    assert plan.peak_bytes == 808 and plan.naive_bytes == 3 * 800 + 8
    naive = _plan(g, ["y"], ["x"], mode="naive")
    assert naive.inplace == {} and len(set(naive.buffers.values())) == 3
    assert naive.peak_bytes == naive.naive_bytes


def test_buffers_are_reused_across_sizes_once_their_values_die():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (10, 10), name="x")
        big = sg.matmul(x, x, name="big")                     # 800 bytes
        small = sg.sum(big, axis=0, name="small")             # 80 bytes: big dies here
        again = sg.matmul(sg.reshape(x, (100, 1)), sg.reshape(small, (1, 10)), name="again")
        y = sg.sum(again, name="y")
    plan = _plan(g, ["y"], ["x"])
    assert plan.buffers["again"] == plan.buffers["big"]       # big is dead by then
    assert plan.buffers["small"] != plan.buffers["big"]       # both live at once
    assert sorted(plan.buffer_bytes) == [80, 8000]            # the reused one grew to fit


def test_a_view_keeps_its_base_alive():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (6,), name="x")
        a = sg.sin(x, name="a")
        v = sg.reshape(a, (2, 3), name="v")
        b = sg.cos(x, name="b")      # must not land in a's buffer: v still reads it
        y = sg.sum(v * sg.reshape(b, (2, 3)), name="y")
    plan = _plan(g, [y.name], ["x"])
    assert plan.schedule.index("b") > plan.schedule.index("v")  # a's last direct use
    assert plan.kinds["v"] == VIEW and plan.buffers["v"] == plan.buffers["a"]
    assert plan.buffers["b"] != plan.buffers["a"]


def test_fed_values_variables_constants_and_fetches_are_never_written():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        w = sg.Variable(np.ones(4), name="w")
        c = sg.constant(np.arange(4.0), name="c")
        t = sg.sin(x + c, name="t")          # fetched: other values must not reuse it
        u = sg.exp(w * 2.0, name="u")
        y = sg.sum(u * t, name="y")
        step = sg.group(w.assign(u, name="write"), name="step")
    plan = _plan(g, ["t", "y", "step"], ["x"])
    for name in ("x", "w", "c", "t", "write", "step"):
        assert name not in plan.buffers, name
    assert plan.kinds["w"] == EXTERNAL and plan.kinds["write"] == EXTERNAL
    assert plan.kinds["step"] == NONE and plan.kinds["t"] == FRESH
    assert all(donor not in ("x", "w", "c", "t") for donor in plan.inplace.values())


def test_in_place_needs_the_same_shape_and_a_dying_input():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        m = sg.placeholder(sg.float64, (2, 3), name="m")
        a = sg.sin(x, name="a")
        b = sg.add(a, m, name="b")            # (3,) + (2, 3): a cannot hold the result
        c = sg.cos(a, name="c")               # a is still live here
        y = sg.sum(b * 2.0, name="s") + sg.sum(c)
    plan = _plan(g, [y.name], ["x", "m"])
    assert "b" not in plan.inplace
    assert plan.kinds["b"] == BUFFER


def test_a_variadic_kernel_overwrites_only_its_first_input_and_only_if_read_once():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        a, b = sg.sin(x, name="a"), sg.cos(x, name="b")
        twice = sg.add_n([a, b, b], name="twice")
        c, d = sg.exp(x, name="c"), sg.tanh(x, name="d")
        once = sg.add_n([c, d, d], name="once")
        y = sg.sum(twice * once, name="y")
    plan = _plan(g, ["y"], ["x"])
    assert plan.inplace.get("twice") in (None, "a")
    assert plan.inplace.get("once") in (None, "c")
    assert "b" not in plan.inplace.values() and "d" not in plan.inplace.values()


def test_the_figures_bound_each_other():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (64, 64), name="x")
        h = x
        for i in range(4):
            h = sg.tanh(sg.matmul(h, x) * 0.5)
        y = sg.sum(h)
        (dx,) = sg.gradients(y, [x])
    plan = _plan(g, [y.name, dx.name], ["x"])
    assert len(plan.timeline) == len(plan.schedule)
    assert max(plan.timeline) <= plan.lower_bound_bytes <= plan.peak_bytes < plan.naive_bytes
    report = plan.report()
    assert "peak" in report and "naive" in report and "lower bound" in report


def test_unknown_sizes_are_left_to_the_kernels_and_listed():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None,), name="x")
        y = sg.sum(sg.sin(x, name="a"), name="y")
    plan = _plan(g, ["y"], ["x"])
    assert plan.kinds["a"] == FRESH and plan.unknown == ("a",)
    assert "sized at run time" in plan.report()


@pytest.mark.parametrize("mode", ["plan", "naive"])
def test_buffer_ids_label_every_planned_value(mode):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (8,), name="x")
        y = sg.sum(sg.exp(sg.sin(x) * 3.0))
    plan = _plan(g, [y.name], ["x"], mode)
    planned = {n for n, k in plan.kinds.items() if k == BUFFER}
    assert planned <= set(plan.buffers)
    assert all(0 <= b < len(plan.buffer_bytes) for b in plan.buffers.values())


@pytest.mark.parametrize("batch", [4, None])
def test_item3_an_update_in_place_trusts_only_shapes_derived_from_known_ones(batch):
    """sum(x) claims the shape () whatever x's length; with x's length unknown that claim rests
    on a rule applied to an unknown dim, so the update it feeds is not made in place (a wrong
    claim could hide a step that fails after the update). Known lengths: in place."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (batch,), name="x")
        w = sg.Variable(np.zeros(()), name="w")
        step = sg.group(w.assign_add(sg.sum(x) * 2.0, name="update"), name="step")
        init = sg.global_variables_initializer()
    plan = _plan(g, [step.name], ["x"])
    assert list(plan.updates_in_place) == (["update"] if batch else [])
    with sg.Session(g) as sess:  # specialised to the fed length: in place again, same values
        sess.run(init)
        sess.run(step, {x: np.arange(4.0)})
        assert float(sess.run(w)) == 12.0
        assert "update" in sess.executable(step, {x: None}).memory.updates_in_place
