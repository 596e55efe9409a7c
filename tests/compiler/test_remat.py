"""memory="remat": recompute nodes, checkpoints, budgets honoured or refused, results unchanged."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from staticgraph import errors
from staticgraph.compiler import PassManager, prune, rematerialize, stored_values, verify
from staticgraph.compiler.remat import RECOMPUTE, segment_checkpoints, sqrt_checkpoints
from tests.compiler.helpers import run_compiled_graph, structure
from tests.fuzz_graphs import EXAMPLES, programs, value_and_gradients


def _chain(length: int, width: int = 100):
    """x -> sin -> ... (length times) -> sum, with dy/dx: each sin's vjp reads its input."""
    h = x = sg.placeholder(sg.float64, (width,), name="x")
    for i in range(length):
        h = sg.sin(h, name=f"h{i}")
    y = sg.sum(h, name="y")
    return x, y, sg.gradients(y, [x])[0]


def _compiled(fetches, feeds_):
    graph, _ = PassManager().run(prune(sg.get_default_graph(), [f.name for f in fetches],
                                       [x.name for x in feeds_]))
    return graph


def _mlp(layers: int, width: int = 32, batch: int = 16, seed: int = 0):
    """A training step: tanh layers, softmax cross-entropy, every weight updated by SGD."""
    rng = np.random.default_rng(seed)
    x = sg.placeholder(sg.float64, (batch, width), name="x")
    labels = sg.placeholder(sg.float64, (batch, 4), name="labels")
    h, params = x, []
    for i in range(layers):
        w = sg.Variable(rng.standard_normal((width, width)) / np.sqrt(width), name=f"w{i}")
        params.append(w)
        h = sg.tanh(sg.matmul(h, w, name=f"mm{i}"), name=f"act{i}")
    out = sg.Variable(rng.standard_normal((width, 4)) / np.sqrt(width), name="out")
    params.append(out)
    loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=h @ out))
    grads = sg.gradients(loss, params)
    step = sg.group(*[p.assign_sub(0.1 * g) for p, g in zip(params, grads)])
    values = {x: rng.standard_normal((batch, width)),
              labels: np.eye(4)[rng.integers(0, 4, batch)]}
    return loss, grads, step, params, values


# ----- the pass --------------------------------------------------------------------------------
def test_the_backward_reads_copies_of_what_is_not_kept():
    x, y, dx = _chain(4)
    graph = _compiled([dx], [x])
    assert stored_values(graph) == ["h0", "h1", "h2"]   # sin's vjp reads its input
    new = rematerialize(graph, keep={"h1"})
    verify(new)
    got = {n: s for n, s in structure(new).items() if new.node(n)["role"] == RECOMPUTE}
    shape, dtype = (100,), "float64"
    assert got == {"recompute/h0": ("sin", ("x",), (), shape, dtype, None),
                   "recompute/h2": ("sin", ("h1",), (), shape, dtype, None)}
    cosines = {new.inputs(n)[0] for n in new.nx if new.node(n)["op"] == "cos"}
    assert cosines == {"x", "recompute/h0", "h1", "recompute/h2"}
    assert new.consumers("h0") == ["h1"] and "h2" not in new.nx  # h3 is not needed: no h2
    values = {"x": np.linspace(-1, 1, 100)}
    np.testing.assert_array_equal(run_compiled_graph(new, values)[0],
                                  run_compiled_graph(graph, values)[0])


def test_keeping_every_stored_value_changes_nothing():
    x, y, dx = _chain(5)
    graph = _compiled([y, dx], [x])
    assert structure(rematerialize(graph, stored_values(graph))) == structure(graph)


def test_stateful_effect_fed_and_fetched_values_are_never_recomputed():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.Variable(np.array([0.5, 1.0, 2.0]), name="w")
    checked = sg.check_numerics(sg.sin(x * w, name="a"), "a is finite", name="checked")
    b = sg.exp(checked, name="b")
    y = sg.sum(sg.tanh(b, name="c"), name="y")
    dx, dw = sg.gradients(y, [x, w])
    graph = _compiled([b, dx, dw], [x])
    copies = {n for n in rematerialize(graph, keep=()).nx if n.startswith("recompute/")}
    originals = {n.split("/", 1)[1] for n in copies}
    assert originals and originals.isdisjoint({"x", "w", "checked", "b"})


def test_segments_keep_a_value_each_segment_worth_of_bytes():
    values = [(f"v{i}", 10) for i in range(16)]
    assert sorted(segment_checkpoints(values, 40)) == ["v11", "v15", "v3", "v7"]
    shrinking = sorted(segment_checkpoints(values, 60, shrink=True), key=lambda n: int(n[1:]))
    assert shrinking == ["v5", "v10", "v14"]  # segments of 6, 5, 4: one value less per value held
    assert segment_checkpoints([], 10) == frozenset()


@pytest.mark.parametrize("length", [16, 36, 64])
def test_sqrt_checkpoints_keep_about_sqrt_n_values(length):
    x, y, dx = _chain(length)
    kept = sqrt_checkpoints(_compiled([dx], [x]))
    assert abs(len(kept) - np.sqrt(length)) <= 1.5


# ----- compile(memory="remat") -------------------------------------------------------------
def test_remat_without_budget_keeps_o_sqrt_n_values_live():
    x, y, dx = _chain(36, width=1000)
    plain = sg.compile([y, dx], memory="plan", fuse=False)  # as "remat" plans: unfused
    remat = sg.compile([y, dx], memory="remat")
    value = 8000  # bytes of one value
    assert plain.memory.peak_bytes >= 35 * value
    assert remat.memory.peak_bytes <= 2 * np.sqrt(36) * value + 3 * value
    assert remat.memory.remat.plain_peak_bytes == plain.memory.peak_bytes
    assert len(remat.memory.remat.recomputed) == len(remat.memory.recompute_steps) > 0
    feed = {x: np.linspace(-2, 2, 1000)}
    for got, want in zip(remat.run(feed), plain.run(feed)):
        np.testing.assert_array_equal(got, want)


def test_recompute_nodes_run_late_right_before_the_backward_reads_them():
    x, y, dx = _chain(16)
    exe = sg.compile([y, dx], memory="remat")
    plan, graph = exe.memory, exe.graph
    assert all(t >= plan.forward_steps for t in plan.recompute_steps)
    for t in plan.recompute_steps:  # a run of copies ends at the node that needed them
        after = plan.schedule[t + 1]
        assert graph.node(after)["role"] == RECOMPUTE or \
            any(graph.node(i)["role"] == RECOMPUTE for i in graph.inputs(after))
    assert any(graph.node(n)["role"] == RECOMPUTE for n in graph.nx)
    assert "recompute/" in sg.to_dot(exe.graph).to_string()


def test_a_training_step_gives_identical_results_and_updates_with_poisoned_buffers():
    loss, grads, step, params, values = _mlp(layers=9)
    sg.compile(sg.global_variables_initializer()).run()
    budget = sg.compile([loss, step]).memory.peak_bytes * 3 // 4
    results = []
    for mode, fetches, budget_bytes in (("plan", [loss, grads, step], None),
                                        ("remat", [loss, grads, step], None),
                                        ("remat", [loss, step], budget)):
        sg.compile(sg.global_variables_initializer()).run()
        exe = sg.compile(fetches, memory=mode, budget_bytes=budget_bytes, debug_memory=True)
        assert mode == "plan" or exe.memory.recompute_steps
        assert budget_bytes is None or exe.memory.peak_bytes <= budget_bytes
        got = exe.run(values)
        results.append((got[0], got[1] if len(got) == 3 else None, sg.compile(params).run()))
    (loss0, grads0, params0), *others = results
    for got_loss, got_grads, got_params in others:
        np.testing.assert_array_equal(got_loss, loss0)
        for a, b in zip((got_grads or grads0) + got_params, grads0 + params0):
            np.testing.assert_array_equal(a, b)


def test_budgets_are_honoured_or_refused_with_the_smallest_reachable_peak():
    x, y, dx = _chain(16, width=1000)
    plain = sg.compile([y, dx], fuse=False).memory.peak_bytes  # as "remat" plans: unfused
    outcomes = []
    budgets = np.linspace(plain, plain / 6, 6).astype(int)
    for budget in budgets:
        try:
            outcomes.append(sg.compile([y, dx], memory="remat", budget_bytes=int(budget)).memory)
        except errors.InvalidArgumentError as exc:
            smallest = int(re.search(r"budget_bytes >= (\d+)", str(exc)).group(1))
            assert smallest > budget and f"budget_bytes={budget}" in str(exc)
            assert sg.compile([y, dx], memory="remat", budget_bytes=smallest).memory.peak_bytes \
                == smallest
            outcomes.append(None)
    fitted = [(b, m) for b, m in zip(budgets, outcomes) if m]
    assert all(m.peak_bytes <= b for b, m in fitted)
    assert fitted[0][1].remat.recomputed == ()  # a budget the plain plan fits costs nothing
    assert outcomes[-1] is None and len(fitted) >= 4
    extra = [len(m.remat.recomputed) for _, m in fitted]
    assert extra == sorted(extra)  # tighter budgets recompute more


def test_other_modes_refuse_a_budget_and_point_to_remat():
    x, y, dx = _chain(8)
    with pytest.raises(errors.InvalidArgumentError, match="memory='remat'"):
        sg.compile([y, dx], memory="plan", budget_bytes=100)


def test_the_report_shows_the_schedule_and_what_remat_chose():
    x, y, dx = _chain(16)
    report = sg.compile([y, dx], memory="remat").report()
    assert "memory (remat)" in report and "build order" in report and "memory-aware" in report
    assert "recomputed" in report and "checkpoints kept: h3" in report
    assert "rematerialize" in report  # the pass table


def test_a_graph_without_a_backward_is_planned_as_usual():
    x = sg.placeholder(sg.float64, (50,), name="x")
    y = sg.sum(sg.exp(sg.sin(x)))
    remat, plain = sg.compile(y, memory="remat").memory, sg.compile(y).memory
    assert remat.recompute_steps == () and remat.peak_bytes == plain.peak_bytes
    assert remat.forward_steps == len(remat.schedule)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_give_the_same_values_rematerialised(program):
    xs, fetches, values = value_and_gradients(program)
    feed = dict(zip(xs, values))
    plain = sg.compile(fetches, feeds=xs, fuse=False)  # as "remat" plans: unfused
    want = plain.run(feed)
    for budget in (None, plain.memory.peak_bytes):
        exe = sg.compile(fetches, feeds=xs, memory="remat", budget_bytes=budget, debug_memory=True)
        for got, expected in zip(exe.run(feed), want):
            np.testing.assert_array_equal(got, expected)
