"""Fusion of power, float casts, comparisons read by where and cast, and sums over some axes:
fused equals unfused bit for bit on the numpy kernels (released buffers poisoned), and to
rounding on numba's (float64: rtol 1e-12; float32: rtol 2e-6)."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from staticgraph.compiler import fuse_elementwise, prune, verify
from tests.fuzz_graphs import programs, value_and_gradients


def _regions(graph) -> list:
    return [graph.node(n)["attrs"]["region"] for n, op in graph.nx.nodes(data="op")
            if op == "fused"]


def _member_ops(graph) -> set:
    return {(r.graph.node(m)["op"]) for r in _regions(graph) for m in r.members}


def _new_forms(dtype):
    """power, casts both ways, comparisons feeding where and cast, sums over one axis, two
    axes (keepdims) and all, on broadcasting inputs; and the gradients."""
    x = sg.placeholder(dtype, (3, 4), name="x")
    y = sg.placeholder(sg.float32 if dtype == sg.float64 else sg.float64, (4,), name="y")
    z = sg.placeholder(dtype, (3, 1), name="z")
    base = sg.abs(x) + 0.5
    p = sg.power(base, sg.cast(y, dtype) * 0.5 + z)
    q = sg.where(sg.less(p, 1.5), p * 2.0, -p) + sg.cast(sg.greater_equal(x, z), dtype)
    r = q * sg.cast(sg.not_equal(x, 0.0), dtype) - sg.cast(sg.less_equal(z, x), dtype)
    rows = sg.sum(r * r, axis=1)
    cols = sg.sum(sg.tanh(r), axis=-2, keepdims=True)
    both = sg.sum(sg.sin(r), axis=(0, 1), keepdims=True)
    total = sg.sum(rows) + sg.sum(cols) + sg.sum(both)
    return [x, y, z], [r, rows, cols, both] + sg.gradients(total, [x, y, z])


def _feed(inputs, seed=0):
    rng = np.random.default_rng(seed)
    feed = {t: rng.uniform(-2, 2, t.shape).astype(t.dtype) for t in inputs}
    feed[inputs[0]][0, :2] = [0.0, feed[inputs[2]][0, 0]]  # ties: equal, less_equal
    return feed


def test_power_casts_comparisons_and_axis_sums_fuse_bit_for_bit(numpy_kernels):
    inputs, fetches = _new_forms(sg.float64)
    exe = sg.compile(fetches, debug_memory=True)
    verify(exe.graph)
    ops = _member_ops(exe.graph)
    assert {"power", "cast", "less", "greater_equal", "not_equal", "less_equal", "where",
            "sum"} <= ops
    sums = [r.graph.node(m)["attrs"]["axis"] for r in _regions(exe.graph) for m in r.members
            if r.graph.node(m)["op"] == "sum"]
    assert {(1,), (-2,), (0, 1)} <= set(sums)
    feed = _feed(inputs)
    plain = sg.compile(fetches, fuse=False).run(feed)
    for got, want in zip(exe.run(feed), plain):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_numba_kernels_of_the_new_forms_equal_unfused_to_rounding(numba_kernels):
    # float32 (and float64 casts inside); float64 kernels: the random graphs below
    dtype, rtol = sg.float32, 2e-6
    inputs, fetches = _new_forms(dtype)
    exe = sg.compile(fetches)
    feed = _feed(inputs, seed=1)
    got, want = exe.run(feed), sg.compile(fetches, fuse=False).run(feed)
    sources = [exe.kernel_source(n) for n, op in exe.graph.nx.nodes(data="op") if op == "fused"]
    assert any("**" in s and "sb[" in s and "acc0[i0" in s for s in sources)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.abs(w).max())


def test_a_comparison_read_outside_its_region_stays_a_node_of_its_own(numpy_kernels):
    x = sg.placeholder(sg.float64, (5,), name="x")
    mask = sg.greater(sg.exp(x), 2.0, name="mask")
    y = sg.where(mask, sg.sin(x) * 2.0, x + 1.0, name="y")
    fetched = fuse_elementwise(prune(sg.get_default_graph(), ["mask", "y"], ["x"]), min_members=2)
    assert fetched.node("mask")["op"] == "greater"  # fetched: a bool value leaves no region
    assert fetched.node("y")["op"] == "fused"
    inside = fuse_elementwise(prune(sg.get_default_graph(), ["y"], ["x"]), min_members=2)
    (region,) = _regions(inside)
    assert "mask" in region.members and region.outputs == ("y",)
    xv = np.linspace(-1, 2, 5)
    np.testing.assert_array_equal(sg.compile(y).run({x: xv}),
                                  np.where(np.exp(xv) > 2.0, np.sin(xv) * 2.0, xv + 1.0))


def test_a_cast_starts_a_region_of_its_own_dtype(numpy_kernels):
    x = sg.placeholder(sg.float32, (6,), name="x")
    wide = sg.cast(sg.tanh(x) * 3.0, sg.float64)
    y = sg.sin(wide) + 1.0
    exe = sg.compile(y)
    dtypes = sorted(r.dtype.name for r in _regions(exe.graph))
    assert dtypes == ["float32", "float64"]
    xv = np.linspace(-1, 1, 6, dtype=np.float32)
    got = exe.run({x: xv})
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.sin((np.tanh(xv) * np.float32(3)).astype(np.float64))
                                  + 1.0)


def test_a_sum_over_an_axis_ends_a_region_and_broadcasting_inputs_stay_correct(numpy_kernels):
    x = sg.placeholder(sg.float64, (2, 3, 4), name="x")
    b = sg.placeholder(sg.float64, (3, 1), name="b")
    h = sg.tanh(x * b) + b
    s = sg.sum(h, axis=(0, 2), name="s")
    y = sg.exp(s) * 2.0  # reads the sum: outside its region
    exe = sg.compile([s, y])
    (first, second) = sorted(_regions(exe.graph), key=lambda r: len(r.shape), reverse=True)
    assert first.shape == (2, 3, 4) and first.members[-1] == "s" and first.outputs == ("s",)
    assert second.shape == (3,)
    rng = np.random.default_rng(2)
    xv, bv = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 1))
    want = np.add.reduce(np.tanh(xv * bv) + bv, axis=(0, 2))
    got_s, got_y = exe.run({x: xv, b: bv})
    np.testing.assert_array_equal(got_s, want)
    np.testing.assert_array_equal(got_y, np.exp(want) * 2.0)


COMPARISONS = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), ()], [(3, 1), (2, 1, 3)]])
def test_each_comparison_fused_into_where_and_cast_equals_unfused(numpy_kernels, name, shapes):
    compare = getattr(sg, name)
    xs = [sg.placeholder(sg.float64, s) for s in shapes]
    mask = compare(sg.sin(xs[0]), xs[1] * 1.0)
    y = sg.where(mask, sg.tanh(xs[0]) * 2.0, xs[1] + 1.0) + sg.cast(mask, sg.float64)
    fetches = [y] + sg.gradients(sg.sum(y * y), xs)
    exe = sg.compile(fetches, feeds=xs, debug_memory=True)
    assert name in _member_ops(exe.graph)
    rng = np.random.default_rng(4)
    values = [rng.uniform(-1, 1, s) for s in shapes]
    values[1][...] = np.where(rng.random(shapes[1]) < 0.5, np.sin(values[0].flat[0]), values[1])
    feed = dict(zip(xs, values))
    np.testing.assert_array_equal(exe.run(feed)[0], np.where(
        getattr(np, name)(np.sin(values[0]), values[1]), np.tanh(values[0]) * 2.0,
        values[1] + 1.0) + getattr(np, name)(np.sin(values[0]), values[1]))
    for got, want in zip(exe.run(feed), sg.compile(fetches, feeds=xs, fuse=False).run(feed)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(programs())
def test_random_graphs_on_numba_kernels_equal_unfused_to_rounding(numba_kernels, program):
    xs, fetches, values = value_and_gradients(program)
    feed = dict(zip(xs, values))
    fused = sg.compile(fetches, feeds=xs, debug_memory=True)
    verify(fused.graph)
    for got, want in zip(fused.run(feed), sg.compile(fetches, feeds=xs, fuse=False).run(feed)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_numba_kernels_take_infinite_and_nan_constants(numba_kernels):
    # their literals were written as `inf` and `nan`, names numba's code lacks: it fell back
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = sg.maximum(x, sg.constant(-np.inf, sg.float64)) + sg.minimum(x * 2.0, np.inf) \
        + sg.where(x > 0.0, x, np.nan)
    exe = sg.compile(y)
    xv = np.array([1.0, -2.0, 0.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numba refusing the code warns
        got = exe.run({x: xv})
    assert exe.kernel_source(y).startswith("import numba") and "np.inf" in exe.kernel_source(y)
    np.testing.assert_array_equal(got, [4.0, np.nan, np.nan, 12.0])
