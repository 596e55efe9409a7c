"""simplify's (x * c) * d -> x * (c d): applied only where bit for bit exact."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import eliminate_dead_code, prune, simplify, verify

EXTREMES = np.array([0.0, -0.0, 5e-324, 1e-310, -2.5e-308, 1e308, -1e308, np.inf, -np.inf,
                     np.nan, 3.3, -7.1e-5])


def _scaled_twice(dtype, c, d):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(dtype, (None,), name="x")
        y = sg.multiply(sg.multiply(x, sg.constant(np.array(c, dtype))),
                        sg.constant(np.array(d, dtype)), name="y")
    return g, x, y


def _multiplies(graph) -> int:
    return sum(op == "multiply" for _, op in graph.nx.nodes(data="op"))


@pytest.mark.parametrize("c, d", [(2.0, 4.0), (-2.0, 1.0), (1024.0, -8.0), (2.0 ** 600, 2.0 ** 400)])
def test_powers_of_two_at_least_one_merge_exactly(c, d):
    g, x, y = _scaled_twice(sg.float64, c, d)
    simpler = eliminate_dead_code(simplify(prune(g, ["y"], ["x"])))
    verify(simpler)
    merged = np.float64(c) * np.float64(d)
    assert _multiplies(simpler) == (1 if np.isfinite(merged) else 2)  # 2^1000 overflows
    with np.errstate(all="ignore"):  # overflow to inf is part of what is compared
        got = sg.compile(y, feeds=[x], graph=g, fuse=False).run({x: EXTREMES})
        want = (EXTREMES * c) * d
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))  # bits, -0.0 and NaN


@pytest.mark.parametrize("c, d", [(3.0, 2.0), (0.5, 2.0), (2.0, 0.25), (1.1, 1.1)])
def test_other_float_constants_are_left_alone(c, d):
    g, x, y = _scaled_twice(sg.float64, c, d)
    assert _multiplies(eliminate_dead_code(simplify(prune(g, ["y"], ["x"])))) == 2


def test_integers_merge_with_any_constants_wrapping_alike():
    g, x, y = _scaled_twice(sg.int32, 3, 5)
    assert _multiplies(eliminate_dead_code(simplify(prune(g, ["y"], ["x"])))) == 1
    values = np.array([0, 1, -7, 2 ** 30, -(2 ** 31), 2 ** 31 - 1], np.int32)
    got = sg.compile(y, feeds=[x], graph=g, fuse=False).run({x: values})
    np.testing.assert_array_equal(got, (values * np.int32(3)) * np.int32(5))


def test_w1_gradient_is_one_multiply():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        y = 2 * sg.dot(x, x)
        (dx,) = sg.gradients(y, [x])
    exe = sg.compile([y, dx], feeds=[x], graph=g)
    assert len(exe.schedule) == 3  # dot, 2 * dot, and x * 4 (was (x * 2) * 2)
    value = np.array([0.5, -1.0, 3.0, 1e-310])
    np.testing.assert_array_equal(exe.run({x: value})[1], 4.0 * value)
