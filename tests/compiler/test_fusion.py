"""Fusion: regions of elementwise ops become fused nodes whose kernels give the unfused values:
bit for bit on the generated numpy code, to rounding on numba's (float64: rtol 1e-12, float32:
rtol 2e-6 per value, the libm calls and the order of a sum differing from numpy's)."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from staticgraph.compiler import fuse_elementwise, prune, verify
from staticgraph.errors import InvalidArgumentError
from tests.fuzz_graphs import EXAMPLES, build, feeds, programs, value_and_gradients
from tests.op_table import ROWS

HAS_NUMBA = importlib.util.find_spec("numba") is not None
ROOT = Path(__file__).resolve().parents[2]


def _fused_nodes(graph) -> list:
    return [n for n, op in graph.nx.nodes(data="op") if op == "fused"]


def _chain(n: int, size: int = 16, dtype=sg.float32):
    x = sg.placeholder(dtype, (size,), name="x")
    h = x
    for i in range(n):
        h = (sg.sin, sg.tanh, lambda v: v * 1.01, lambda v: v + 0.1)[i % 4](h)
    y = sg.sum(h, name="y")
    (dx,) = sg.gradients(y, [x])
    return x, y, dx


def _same(got, want):
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_array_equal(g, w)


def test_a_chain_and_its_gradient_become_one_fused_node(numpy_kernels):
    x, y, dx = _chain(40)
    xv = np.random.default_rng(0).uniform(-1, 1, 16).astype(np.float32)
    exe = sg.compile([y, dx])
    plain = sg.compile([y, dx], fuse=False)
    verify(exe.graph)
    (fused,) = _fused_nodes(exe.graph)
    region = exe.graph.node(fused)["attrs"]["region"]
    assert region.outputs == ("y", dx.name) and len(region.members) > 40
    assert {exe.graph.node(n)["op"] for n in ("y", dx.name)} == {"fused_output"}
    _same(exe.run({x: xv}), plain.run({x: xv}))
    assert exe.memory.peak_bytes < plain.memory.peak_bytes
    assert "fuse_elementwise" in exe.report()


def test_a_single_output_region_takes_the_output_name():
    x = sg.placeholder(sg.float64, (5,), name="x")
    y = sg.tanh(sg.exp(x) * 2.0 + x, name="y")
    graph = fuse_elementwise(prune(sg.get_default_graph(), ["y"], ["x"]), min_members=2)
    assert sorted(graph.nx) == ["x", "y"] and graph.node("y")["op"] == "fused"
    assert graph.node("y")["attrs"]["region"].members == ("exp", "multiply", "add", "y")


def test_small_regions_stay_unfused_and_large_values_fuse_from_two_ops():
    small = sg.placeholder(sg.float32, (8,), name="small")
    large = sg.placeholder(sg.float32, (1 << 16,), name="large")
    a, b = sg.exp(small) * 2.0, sg.exp(large) * 2.0
    exe = sg.compile([a, b])
    assert [exe.graph.node(n)["attrs"]["region"].outputs for n in _fused_nodes(exe.graph)] == \
        [(b.name,)]


def test_regions_never_close_a_cycle(numpy_kernels):
    # t reads the region of a through a matmul: joining t to a's region would loop back
    x = sg.placeholder(sg.float64, (3, 3), name="x")
    a = sg.exp(x) + 1.0
    m = sg.matmul(a, a)
    t = sg.tanh(a) * m
    exe = sg.compile([t])
    verify(exe.graph)
    xv = np.random.default_rng(1).normal(size=(3, 3))
    _same(exe.run({x: xv}), sg.compile([t], fuse=False).run({x: xv}))


def _row_graph(row, case):
    shapes = row.cases[case]
    xs = [sg.placeholder(sg.float64, s, name=f"in{k}") for k, s in enumerate(shapes)]
    y = row.build(*xs)
    if y.dtype != sg.float64:
        pytest.skip("fusion is for float values")
    z = sg.sum(sg.tanh(y) * 0.5 + y * y)
    fetches = [y, z]
    if row.differentiable:
        fetches += sg.gradients(z, xs, unconnected_gradients="zero")
    return xs, fetches, shapes


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_op_table_rows_fused_equal_unfused_bit_for_bit(row, numpy_kernels, rng):
    xs, fetches, shapes = _row_graph(row, 0)
    feed = dict(zip(xs, [row.sample(rng, s) for s in shapes]))
    exe = sg.compile(fetches, feeds=xs, debug_memory=True)  # released buffers poisoned
    assert _fused_nodes(exe.graph)
    _same(exe.run(feed), sg.compile(fetches, feeds=xs, fuse=False).run(feed))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(programs())
def test_random_graphs_fused_equal_unfused_bit_for_bit(numpy_kernels, program):
    xs, fetches, values = value_and_gradients(program)
    feed = dict(zip(xs, values))
    fused = sg.compile(fetches, feeds=xs, debug_memory=True)
    verify(fused.graph)
    _same(fused.run(feed), sg.compile(fetches, feeds=xs, fuse=False).run(feed))


def _every_form(dtype):
    """A graph using every op a region may hold, its sum and gradients."""
    x = sg.placeholder(dtype, (3, 4), name="x")
    y = sg.placeholder(dtype, (4,), name="y")
    mask = sg.placeholder(sg.bool, (3, 4), name="mask")
    a = sg.relu(x) + sg.sigmoid(y) - sg.tanh(x * y)
    b = sg.maximum(a, x) / (1.0 + sg.square(y)) + sg.minimum(-a, y)
    c = sg.where(mask, sg.sin(b), sg.cos(a)) * sg.sign(x) + sg.abs(y)
    d = sg.exp(-sg.square(c)) + sg.log(1.0 + sg.sqrt(sg.abs(c) + 1.0))
    e = sg.identity(d) + sg.stop_gradient(a)
    total = sg.sum(e * e + b)
    return [x, y, mask], [total, e] + sg.gradients(total, [x, y])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and Inf fed on purpose
def test_numba_kernels_equal_unfused_to_rounding_nan_and_inf_included(numba_kernels):
    # float32 (float64 kernels: tests/runtime/test_fused_kernels.py); each compile takes seconds
    dtype, rtol = sg.float32, 2e-6
    inputs, fetches = _every_form(dtype)
    rng = np.random.default_rng(3)
    xv = rng.uniform(-2, 2, (3, 4)).astype(dtype)
    xv[0, :3] = [np.nan, np.inf, -np.inf]
    xv[1, 0] = 0.0
    feed = dict(zip(inputs, [xv, rng.uniform(-2, 2, 4).astype(dtype), rng.random((3, 4)) < 0.5]))
    exe = sg.compile(fetches)
    got, want = exe.run(feed), sg.compile(fetches, fuse=False).run(feed)
    for name in _fused_nodes(exe.graph):
        assert "numba.njit" in exe.kernel_source(name) or "def kernel(x0" in exe.kernel_source(name)
    assert any("for lo in range" in exe.kernel_source(n) for n in _fused_nodes(exe.graph))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True)


def test_without_numba_the_kernel_is_numpy_code(numpy_kernels):
    x, y, dx = _chain(8)
    exe = sg.compile([y, dx])
    exe.run({x: np.zeros(16, np.float32)})
    (fused,) = _fused_nodes(exe.graph)
    source = exe.kernel_source(fused)
    assert source.startswith("def kernel(x0") and "numba" not in source
    assert exe.kernel_source("y") == source  # an output names its fused node too


def test_kernel_source_of_a_node_that_is_not_fused_names_the_fused_ones(numpy_kernels):
    x, y, dx = _chain(8)
    exe = sg.compile([y, dx])
    with pytest.raises(InvalidArgumentError, match=r"'x' is not a fused node.*\['fused/y'\]"):
        exe.kernel_source(x)


def test_check_numerics_and_remat_keep_single_ops(numpy_kernels):
    x, y, dx = _chain(8)
    for options in ({"check_numerics": True}, {"memory": "remat"}, {"optimize": False}):
        assert not _fused_nodes(sg.compile([y, dx], **options).graph), options


def test_vjp_and_jvp_of_fused_nodes_replay_their_members():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        s = sg.sin(x) * x
        y = sg.sum(s, name="y")
        z = sg.identity(s * 3.0, name="z")
    fused = fuse_elementwise(prune(g, ["y", "z"], ["x"]), min_members=2)
    assert fused.node("y")["op"] == "fused_output" and fused.node("z")["op"] == "fused_output"
    (name,) = _fused_nodes(fused)
    region = fused.node(name)["attrs"]["region"]
    assert region.outputs == ("y", "z")
    xv = np.linspace(-1.0, 2.0, 4)
    op = sg.ops.get_op("fused")
    x = sg.placeholder(sg.float64, (4,), name="x")
    ct = sg.constant(np.array([2.0, 1.0, 1.0, 1.0, 1.0]))  # 2 for y, then ones for z
    (grad,) = op.vjp(ct, x, out=None, region=region)
    tangent = op.jvp([sg.constant(np.ones(4))], x, out=None, region=region)
    dsx = np.cos(xv) * xv + np.sin(xv)
    got_grad, got_tangent = sg.Session().run([grad, tangent], {x: xv})
    np.testing.assert_allclose(got_grad, 5.0 * dsx, rtol=1e-12)
    np.testing.assert_allclose(got_tangent, np.concatenate([[dsx.sum()], 3.0 * dsx]), rtol=1e-12)


def test_dot_draws_a_fused_node_with_its_region_as_a_cluster(numpy_kernels):
    x, y, dx = _chain(8)
    exe = sg.compile([y, dx])
    text = sg.to_dot(exe.graph).to_string()
    assert "cluster_fused/y region/" in text and "sin_1" in text


KERNEL_RUN = textwrap.dedent("""
    import json, numpy as np, staticgraph as sg
    x = sg.placeholder(sg.float32, (16,), name="x")
    h = x
    for i in range(4):
        h = sg.tanh(h) * 1.5 if i % 2 else sg.sin(h) + 0.25
    y = sg.sum(h, name="y")
    (dx,) = sg.gradients(y, [x])
    exe = sg.compile([y, dx])
    value = exe.run({x: np.linspace(-1, 1, 16, dtype=np.float32)})
    (name,) = [n for n, op in exe.graph.nx.nodes(data="op") if op == "fused"]
    stats = exe.graph.node(name)["attrs"]["region"].kernel.dispatcher.stats
    print(json.dumps({"hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values()),
                      "value": float(value[0])}))
""")


def test_a_second_process_loads_the_compiled_kernel_from_the_disk_cache(tmp_path):
    if not HAS_NUMBA:
        pytest.skip("numba is not installed")
    env = {**os.environ, "STATICGRAPH_CACHE_DIR": str(tmp_path), "STATICGRAPH_NUMBA": "1",
           "STATICGRAPH_NUMBA_AFTER": "1", "PYTHONPATH": str(ROOT)}
    first, second = (json.loads(subprocess.run([sys.executable, "-c", KERNEL_RUN], env=env,
                                               check=True, capture_output=True, text=True).stdout)
                     for _ in range(2))
    assert first["misses"] == 1 and first["hits"] == 0  # compiled, and written to the cache
    assert second["hits"] == 1 and second["misses"] == 0  # loaded: nothing compiled
    assert list(tmp_path.glob("sg_fused_*.py")) and list(tmp_path.glob("__pycache__/*.nbi"))
    assert second["value"] == first["value"]


def test_regions_that_would_depend_on_each_other_stay_apart(numpy_kernels):
    # found by the fuzzer: a jvp region reads a value made from a gradient region's input,
    # and the gradient region reads one made from the jvp region's: contracted, they loop
    program = ([(4, 2), (2, 1), (2, 3)], [("cos", (2,)), ("first_rows", (3,)),
                                          ("maximum_soft", (1, 2)), ("matmul", (5, 4))], 7481)
    shapes, steps, seed = program
    xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
    y = build(steps, xs)
    us = [np.random.default_rng(seed + 1).normal(size=s) for s in shapes]
    (tangent,) = sg.jvp(y, xs, [sg.constant(u) for u in us])
    fetches = [tangent] + sg.gradients(y, xs, unconnected_gradients="zero")
    feed = dict(zip(xs, feeds(shapes, seed)))
    exe = sg.compile(fetches)
    verify(exe.graph)
    _same(exe.run(feed), sg.compile(fetches, fuse=False).run(feed))
