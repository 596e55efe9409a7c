"""sg.compile and Executable: structure, options, errors, plans per feed shape, stores, threads."""
import threading

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def _mlp(batch=None):
    x = sg.placeholder(sg.float64, (batch, 3), name="x")
    w = sg.Variable(np.arange(6.0).reshape(3, 2) / 10, name="w")
    loss = sg.sum(sg.tanh(x @ w), name="loss")
    (dw,) = sg.gradients(loss, [w])
    step = w.assign_sub(0.5 * dw, name="step")
    return x, w, loss, dw, step


def test_values_come_back_in_the_structure_of_the_fetches():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sin(x)
    exe = sg.compile({"a": y, "b": [sg.sum(y), ("x", x * 2)]})
    out = exe.run({x: np.array([0.0, 1.0, 2.0])})
    np.testing.assert_allclose(out["a"], np.sin([0.0, 1.0, 2.0]))
    assert isinstance(out["b"][1], tuple) and out["b"][0] == pytest.approx(np.sin([1.0, 2.0]).sum())
    np.testing.assert_array_equal(out["b"][1][1], [0.0, 2.0, 4.0])
    assert exe.feed_names == ("x",)
    single = sg.compile(y).run({"x": [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(single, np.sin([1.0, 2.0, 3.0]))


def test_options_are_checked():
    x = sg.placeholder(sg.float64, (3,), name="x")
    np.testing.assert_array_equal(sg.compile(x * 2, memory="remat").run({x: np.ones(3)}), 2.0)
    with pytest.raises(errors.InvalidArgumentError, match="memory must be"):
        sg.compile(x * 2, memory="lots")
    with pytest.raises(errors.InvalidArgumentError, match="nothing to fetch"):
        sg.compile([])


def test_feed_errors_name_the_culprit():
    x = sg.placeholder(sg.float64, (3,), name="x")
    other = sg.placeholder(sg.float64, (3,), name="other")
    y = sg.sin(x, name="y")
    with pytest.raises(errors.InvalidArgumentError, match=r"placeholder 'x' .* fetch 'y'"):
        sg.compile(y, feeds=[])
    exe = sg.compile(y)
    with pytest.raises(errors.InvalidArgumentError, match=r"'x' .* must be fed"):
        exe.run({})
    with pytest.raises(errors.InvalidArgumentError, match="not a feed of this executable"):
        exe.run({x: np.zeros(3), other: np.zeros(3)})
    with pytest.raises(errors.InvalidArgumentError, match=r"shape \(2,\) does not fit"):
        exe.run({x: np.zeros(2)})
    with pytest.raises(errors.NotFoundError, match="'nope'"):
        exe.run({"nope": 1.0})


def test_a_failing_kernel_names_its_node_and_source():
    a = sg.placeholder(sg.float64, (None,), name="a")
    b = sg.placeholder(sg.float64, (None,), name="b")
    exe = sg.compile(a + b)
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"add failed at node 'add' \(created at test_executor.py:\d+\)"):
        exe.run({a: np.ones(2), b: np.ones(3)})


def test_optimize_false_runs_the_pruned_graph_as_built():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.identity(x * 1.0) - 0.0  # x - (+0.0) is x bit for bit (x + 0.0 is not, at -0.0)
    plain = sg.compile(y, optimize=False)
    assert [r.name for r in plain.passes] == ["prune"]
    assert sorted(plain.schedule) == ["identity", "multiply", "subtract"]
    optimised = sg.compile(y)
    assert optimised.schedule == []
    value = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(plain.run({x: value}), optimised.run({x: value}))


def test_a_plan_is_made_per_feed_shape_signature():
    x, w, loss, dw, step = _mlp()
    exe = sg.compile([loss, dw])
    assert exe.memory is None and "first run" in exe.report()
    sg.compile(sg.global_variables_initializer()).run()
    exe.run({x: np.ones((4, 3))})
    four = exe.memory
    assert four.specs["x"].shape == (4, 3)
    exe.run({x: np.ones((7, 3))})
    assert exe.memory is not four and exe.memory.specs["x"].shape == (7, 3)
    exe.run({x: np.ones((4, 3))})
    assert exe.memory is four
    report = exe.report()
    assert "specialize" in report and "x (4, 3)" in report and "peak" in report


def test_budget_bytes_refuses_a_plan_that_needs_more():
    x = sg.placeholder(sg.float64, (1000,), name="x")
    y = sg.sum(sg.exp(sg.sin(x)) * sg.cos(x))
    assert sg.compile(y, budget_bytes=10 ** 6).memory.peak_bytes <= 10 ** 6
    with pytest.raises(errors.InvalidArgumentError, match="budget_bytes=100"):
        sg.compile(y, budget_bytes=100)


def test_executables_of_one_graph_share_its_variables():
    x, w, loss, dw, step = _mlp(batch=2)
    with pytest.raises(errors.FailedPreconditionError, match="'w'"):
        sg.compile(step).run({x: np.ones((2, 3))})
    sg.compile(sg.global_variables_initializer()).run()
    before = sg.compile(w).run()
    grad = sg.compile(dw).run({x: np.ones((2, 3))})
    sg.compile(step).run({x: np.ones((2, 3))})
    np.testing.assert_allclose(sg.compile(w).run(), before - 0.5 * grad)
    with sg.Session() as sess:  # a session keeps its own
        with pytest.raises(errors.FailedPreconditionError):
            sess.run(w)


def test_fetched_arrays_belong_to_the_caller():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.exp(sg.sin(x) * 2.0)
    z = sg.exp(sg.sin(x) * 2.0)   # merged with y by CSE, yet returned as its own array
    exe = sg.compile([y, z, y])
    first = exe.run({x: np.zeros(3)})
    second = exe.run({x: np.ones(3)})
    np.testing.assert_array_equal(first[0], np.ones(3))
    assert first[0] is not second[0] and first[0] is not first[1]
    first[1][0] = 5.0
    assert first[0][0] == 1.0


def test_eight_threads_run_one_executable_at_once():
    x = sg.placeholder(sg.float64, (64,), name="x")
    y = sg.sum(sg.tanh(sg.exp(sg.sin(x)) * 0.5))
    exe = sg.compile(y)
    inputs = [np.linspace(0, k, 64) for k in range(8)]
    expected = [np.tanh(np.exp(np.sin(v)) * 0.5).sum() for v in inputs]
    results, barrier = [None] * 8, threading.Barrier(8)

    def work(k):
        barrier.wait()
        results[k] = [exe.run({x: inputs[k]}) for _ in range(50)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        assert all(r == pytest.approx(expected[k], rel=1e-14) for r in results[k])
