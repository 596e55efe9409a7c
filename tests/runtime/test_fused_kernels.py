"""The kernels of fused nodes: printed by `staticgraph plan --kernels`, switched to numba after
a number of calls (cached on disk under a digest of their structure, the source written only
then), shared safely by threads, and planned into the fused node's buffer."""
import importlib.util
import threading
import warnings

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.cli import main
from staticgraph.compiler import fusion
from staticgraph.runtime import fused_kernels, numba_kernels

SCRIPT = '''
import staticgraph as sg
x = sg.placeholder(sg.float32, (16,), name="x")
h = x
for i in range(6):
    h = sg.sin(h) * 1.5 + 0.1
y = sg.sum(h, name="y")
dx, = sg.gradients(y, [x])
'''


def _chain(n: int = 12, shape=(64,)):
    x = sg.placeholder(sg.float64, shape, name="x")
    h = x
    for _ in range(n):
        h = sg.tanh(h) * 0.9 + 0.05
    return x, h


def test_plan_kernels_prints_each_fused_nodes_code(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    script = tmp_path / "chain.py"
    script.write_text(SCRIPT)
    assert main(["plan", str(script), "--kernels"]) == 0
    out = capsys.readouterr().out
    assert "fuse_elementwise" in out and "# fused node 'gradients/" in out
    assert "def kernel(x0" in out and "sin(x0, s[0])" in out and "numba" not in out


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")
def test_a_kernel_switches_to_numba_at_its_nth_call(monkeypatch, tmp_path):
    monkeypatch.setenv("STATICGRAPH_NUMBA_AFTER", "3")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    x, h = _chain()
    exe = sg.compile(h)
    kernel = exe.graph.node(h.name)["attrs"]["region"].kernel
    xv = np.linspace(-2, 2, 64)
    first = exe.run({x: xv})
    assert kernel.source == kernel.numpy_source and kernel.dispatcher is None
    exe.run({x: xv}), exe.run({x: xv})
    assert kernel.source == kernel.numba_source == exe.kernel_source(h)
    np.testing.assert_allclose(exe.run({x: xv}), first, rtol=1e-12)


def test_concurrent_runs_never_share_a_kernels_scratch(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    x, h = _chain(shape=(256,))
    exe = sg.compile(h)
    inputs = [np.full(256, v) for v in np.linspace(-1, 1, 8)]
    want = [exe.run({x: v}) for v in inputs]
    failures = []

    def work(k: int) -> None:
        for _ in range(30):
            if not np.array_equal(exe.run({x: inputs[k]}), want[k]):
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_the_fused_value_lives_in_its_planned_buffer(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    x, h = _chain(n=3)
    square = sg.reshape(h, (8, 8))
    y = sg.matmul(square, square, name="y")
    exe = sg.compile(y)
    plan = exe.memory
    assert exe.graph.node(h.name)["op"] == "fused"
    assert plan.kinds[h.name] == "buffer" and h.name in plan.buffers
    np.testing.assert_array_equal(exe.run({x: np.ones(64)}), sg.compile(y, fuse=False).run(
        {x: np.ones(64)}))


def test_numba_wanted_follows_the_environment(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    assert not fused_kernels.numba_wanted()
    monkeypatch.setenv("STATICGRAPH_NUMBA", "1")
    assert fused_kernels.numba_wanted() == (importlib.util.find_spec("numba") is not None)
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", "/some/where")
    assert str(fused_kernels.cache_dir()) == "/some/where"


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")
def test_numbas_float32_tanh_is_within_an_ulp_of_numpys(monkeypatch, tmp_path):
    monkeypatch.setenv("STATICGRAPH_NUMBA_AFTER", "1")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    tiny = np.logspace(-30, 1.5, 4001)
    xv = np.concatenate([np.linspace(-25, 25, 20001), tiny, -tiny, [0.0, -0.0, np.inf, -np.inf,
                                                                   np.nan]]).astype(np.float32)
    x = sg.placeholder(sg.float32, xv.shape, name="x")
    y = sg.tanh(x) * 2.0  # a region of two ops: fused; doubling is exact
    exe = sg.compile(y)
    got = exe.run({x: xv})
    assert exe.kernel_source(y) == exe.graph.node(y.name)["attrs"]["region"].kernel.numba_source
    want = np.tanh(xv) * np.float32(2.0)
    ulp = np.spacing(np.abs(want)).astype(np.float64)
    finite = ~np.isnan(want)
    assert np.all(np.abs(got[finite].astype(np.float64) - want[finite]) <= ulp[finite])
    assert np.isnan(got[-1]) and np.signbit(got[-4]) and not np.signbit(got[-5])


def _region_of(scale: float, name: str):
    with sg.Graph().as_default():
        x = sg.placeholder(sg.float64, (64,), name=f"{name}_x")
        h = sg.tanh(sg.sin(x) * scale + 0.05, name=name)
        exe = sg.compile(h)
    return exe.graph.node(name)["attrs"]["region"]


def _key(region) -> str:
    return numba_kernels.numba_key(region, region.reads())


def test_the_numba_cache_key_reads_structure_and_the_source_waits_for_the_switch(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    a, b, c = _region_of(0.9, "a"), _region_of(0.9, "b"), _region_of(0.8, "c")
    assert _key(a) == _key(b)  # names aside
    assert numba_kernels.numba_source(a) == numba_kernels.numba_source(b)
    assert _key(a) != _key(c)  # another constant
    assert a.kernel.key is None and a.kernel.numba_source is None  # numba off
    if importlib.util.find_spec("numba") is not None:
        monkeypatch.setenv("STATICGRAPH_NUMBA", "1")
        kernel = fused_kernels.FusedKernel(c)
        assert kernel.key == _key(c) and "numba_source" not in vars(kernel)
        assert "def kernel(x0, out)" in kernel.numba_source


def test_errors_quiet_follows_warnings_filters_changed_in_place():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert numba_kernels.errors_quiet()
        warnings.filterwarnings("error", category=RuntimeWarning)  # the same list, mutated
        assert not numba_kernels.errors_quiet()
        del warnings.filters[0]
        assert numba_kernels.errors_quiet()
        with np.errstate(divide="raise"):
            assert not numba_kernels.errors_quiet()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not numba_kernels.errors_quiet()
