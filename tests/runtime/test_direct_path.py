"""Executable.run's short path: repeated runs skip the feed checks yet give what checked runs give."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.runtime import executor


@pytest.fixture
def counted_checks(monkeypatch):
    """The number of fed values checked so far (executor.check_feed calls), as a list of one."""
    calls = [0]
    real = executor.check_feed

    def counting(*args):
        calls[0] += 1
        return real(*args)
    monkeypatch.setattr(executor, "check_feed", counting)
    return calls


def _w1():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None,), name="x")
        y = 2 * sg.dot(x, x)
        (dx,) = sg.gradients(y, [x])
    return g, x, y, dx


def test_repeated_runs_check_feeds_once(counted_checks):
    g, x, y, dx = _w1()
    exe = sg.compile([y, dx], feeds=[x], graph=g)
    for k in range(4):
        value = np.arange(4.0) + k  # a new array each time: same type, dtype and shape
        got = exe.run({x: value})
        assert isinstance(got, list) and got[0] == 2.0 * value @ value
        np.testing.assert_array_equal(got[1], 4.0 * value)
    assert counted_checks[0] == 1


def test_other_shapes_and_dtypes_are_checked_again(counted_checks):
    g, x, y, dx = _w1()
    exe = sg.compile([y, dx], feeds=[x], graph=g)
    exe.run({x: np.ones(3)})
    ints = exe.run({x: np.arange(3)})  # converted to float64: checked, and never remembered
    assert ints[0] == 10.0 and ints[1].dtype == np.float64
    exe.run({x: np.arange(3)})
    assert counted_checks[0] == 3
    assert exe.run({"x": np.ones(5)})[0] == 10.0  # another key object: checked
    assert counted_checks[0] == 4
    with pytest.raises(sg.errors.InvalidArgumentError, match="shape"):
        exe.run({x: np.ones((2, 2))})
    with pytest.raises(sg.errors.InvalidArgumentError, match="must be fed"):
        exe.run({})
    assert exe.run({x: np.ones(3)})[0] == 6.0 and counted_checks[0] == 5
    assert exe.memory.specs["x"].shape == (3,)  # the short path's variant is the latest


def test_structures_and_evicted_variants():
    g, x, y, dx = _w1()
    exe = sg.compile({"value": y, "grad": (dx,)}, feeds=[x], graph=g, max_cached_variants=1)
    for n in (2, 3, 2, 3, 2):
        for _ in range(2):
            got = exe.run({x: np.ones(n)})
            assert got["value"] == 2.0 * n and isinstance(got["grad"], tuple)
            np.testing.assert_array_equal(got["grad"][0], np.full(n, 4.0))
    assert exe.evictions == 4 and len(exe._fast) == 1  # evicted variants' short paths dropped


def test_variables_and_failures_on_the_short_path():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (2,), name="x")
        w = sg.Variable(np.zeros(2), name="w")
        step = w.assign_add(sg.check_numerics(sg.log(x), "log"))
    init = sg.compile(w.initializer, graph=g)
    exe = sg.compile(step, feeds=[x], graph=g)
    init.run()
    for k in range(1, 4):
        np.testing.assert_allclose(exe.run({x: np.full(2, np.e)}), [k, k])
    with pytest.raises(sg.errors.InvalidArgumentError, match="log"):
        with np.errstate(all="ignore"):
            exe.run({x: np.full(2, -1.0)})  # same key: the short path, failing
    np.testing.assert_allclose(exe.run({x: np.ones(2)}), [3.0, 3.0])  # nothing half-updated


def test_a_short_path_run_counts_as_a_use_of_its_variant():
    g, x, y, dx = _w1()
    exe = sg.compile(y, feeds=[x], graph=g, max_cached_variants=2)
    for n in (1, 2, 1, 2, 1, 3):  # the later runs of 1 and 2 take short paths
        assert exe.run({x: np.ones(n)}) == 2.0 * n
    assert exe.variants == [((1,),), ((3,),)]  # 2 was the least recently used
