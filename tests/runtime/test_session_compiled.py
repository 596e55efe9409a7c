"""Session.run through compiled executables: caching, the short path, options, threads, failures."""
import threading

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors
from staticgraph.runtime.session import DEBUG_MEMORY_ENV


def test_one_executable_per_fetches_and_feeds_one_plan_per_feed_shape():
    x = sg.placeholder(sg.float64, (None,), name="x")
    y = sg.sum(sg.sin(x))
    sess = sg.Session()
    for n in (3, 5, 3):
        assert sess.run(y, {x: np.zeros(n)}) == 0.0
    exe = sess.executable(y, {x: None})
    assert exe is sess.executable([y], {"x": None})
    assert sorted(exe._variants) == [((3,),), ((5,),)]


def test_the_short_path_still_checks_what_changed():
    x = sg.placeholder(sg.float64, (None,), name="x")
    y = x * 2.0
    fetches = [y]
    sess = sg.Session()
    np.testing.assert_array_equal(sess.run(fetches, {x: np.ones(2)})[0], [2.0, 2.0])
    np.testing.assert_array_equal(sess.run(fetches, {x: np.array([1, 2])})[0], [2.0, 4.0])  # ints
    with pytest.raises(errors.InvalidArgumentError, match="rank|shape"):
        sess.run(fetches, {x: np.ones((2, 2))})
    with pytest.raises(errors.InvalidArgumentError, match="cannot feed"):
        sess.run(fetches, {x: np.array(["a", "b"])})
    swapped = sess.run(fetches, {x: np.array([1.0, 2.0], dtype=">f8")})[0]
    assert swapped.dtype == np.float64 and swapped.tolist() == [2.0, 4.0]
    z = sg.sin(x)
    fetches[0] = z  # the same list, now asking for something else
    np.testing.assert_allclose(sess.run(fetches, {x: np.ones(2)})[0], np.sin([1.0, 1.0]))
    assert isinstance(sess.run((y, z), {x: np.ones(2)}), tuple)
    assert sess.run(y.name, {x: np.ones(2)}).tolist() == [2.0, 2.0]


def test_results_of_one_run_survive_the_next():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = sg.exp(sg.sin(x) + 1.0)
    sess = sg.Session()
    first = sess.run(y, {x: np.zeros(4)})
    sess.run(y, {x: np.ones(4)})
    np.testing.assert_array_equal(first, np.full(4, np.e))


def test_a_failing_run_commits_no_write():
    w = sg.Variable(np.array([1.0, 2.0]), name="w")
    x = sg.placeholder(sg.float64, (2,), name="x")
    write = w.assign(x * 3.0)
    checked = sg.check_numerics(sg.log(write), "log of w")
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    with pytest.raises(errors.InvalidArgumentError, match="log of w"), np.errstate(invalid="ignore"):
        sess.run(checked, {x: np.array([-1.0, 1.0])})
    np.testing.assert_array_equal(sess.run(w), [1.0, 2.0])
    sess.run(checked, {x: np.array([1.0, 1.0])})
    np.testing.assert_array_equal(sess.run(w), [3.0, 3.0])


def test_ops_without_output_fetch_none_beside_values():
    w = sg.Variable(0.0, name="w")
    inc = sg.group(w.assign_add(1.0))
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    assert sess.run([inc, w]) == [None, 0.0]  # a variable is read before it is written
    assert sess.run(w) == 1.0


@pytest.mark.parametrize("config", [{"optimize": False}, {"memory": "naive"}, {"debug_memory": True}])
def test_config_options_give_the_same_results(config):
    x = sg.placeholder(sg.float32, (None, 4), name="x")
    w = sg.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), name="w")
    loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=sg.softmax(x[:, :3]), logits=x @ w))
    (dw,) = sg.gradients(loss, [w])
    feed = {x: np.arange(20, dtype=np.float32).reshape(5, 4) / 10}
    results = []
    for cfg in ({}, config):
        sess = sg.Session(config=cfg)
        sess.run(sg.global_variables_initializer())
        results.append(sess.run([loss, dw], feed))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-7)


def test_the_environment_switches_debug_memory_on(monkeypatch):
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sin(x)
    monkeypatch.setenv(DEBUG_MEMORY_ENV, "1")
    assert sg.Session().executable(y, {x: None}).options.debug_memory
    monkeypatch.setenv(DEBUG_MEMORY_ENV, "0")
    assert not sg.Session().executable(y, {x: None}).options.debug_memory


def test_eight_threads_share_one_session():
    x = sg.placeholder(sg.float64, (None,), name="x")
    w = sg.Variable(2.0, sg.float64, name="w")
    y = sg.sum(sg.tanh(x * w))
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    errors_seen, results = [], {}
    barrier = threading.Barrier(8)

    def work(k):
        try:
            barrier.wait()
            v = np.linspace(-1, 1, 10 + k)
            results[k] = [sess.run(y, {x: v}) for _ in range(40)], np.tanh(v * 2.0).sum()
        except Exception as exc:  # reported below, with the thread that saw it
            errors_seen.append((k, exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen
    for got, want in results.values():
        assert all(g == pytest.approx(want, rel=1e-14) for g in got)
