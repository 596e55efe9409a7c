"""A fused node behaves as the ops it replaces: its batching rule (vmap over it equals a loop
over the examples), and floating-point errors under numpy's error state and the warnings
filter (raised as without fusion, on numpy and numba kernels alike)."""
import importlib.util
import warnings

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import fuse_elementwise, fusion, prune
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops.fused import fused

HAS_NUMBA = importlib.util.find_spec("numba") is not None


def _region(fetches: list, feeds: list):
    """The region of the one fused node that fusion makes of the default graph's `fetches`."""
    graph = fuse_elementwise(prune(sg.get_default_graph(), fetches, feeds), min_members=2)
    (region,) = [graph.node(n)["attrs"]["region"] for n, op in graph.nx.nodes(data="op")
                 if op == "fused"]
    return region


def _looped(fn, columns: list, in_axes: tuple) -> np.ndarray:
    """fn run on each example alone (one graph per example), the results stacked."""
    size = next(np.shape(c)[a] for c, a in zip(columns, in_axes) if a is not None)
    results = []
    for k in range(size):
        with sg.Graph().as_default():
            args = [sg.constant(np.take(c, k, axis=a) if a is not None else c)
                    for c, a in zip(columns, in_axes)]
            results.append(sg.Session().run(fn(*args)))
    return np.stack(results)


def test_vmap_over_a_fused_node_with_several_outputs_equals_a_loop():
    # outputs: an elementwise value, a sum over an axis, a full sum; a broadcast input, a
    # comparison and a where inside
    with sg.Graph().as_default():
        x = sg.placeholder(sg.float64, (3, 4), name="x")
        b = sg.placeholder(sg.float64, (4,), name="b")
        h = sg.tanh(x * b) + 0.5
        e = sg.where(sg.greater(h, 0.6), h * h, -h)
        sg.sum(e, axis=1, name="rows")
        sg.sum(sg.exp(e), name="total")
        sg.identity(e * 3.0, name="out")
        region = _region(["out", "rows", "total"], ["x", "b"])
    assert set(region.outputs) == {"out", "rows", "total"} and len(region.outputs) == 3
    rng = np.random.default_rng(0)
    xs, bs = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 4))
    b1 = rng.normal(size=4)

    def one(xv, bv):
        return fused(xv, bv, region=region)

    for in_axes, columns in (((0, 0), [xs, bs]), ((0, None), [xs, b1]),
                             ((2, 0), [np.moveaxis(xs, 0, 2), bs]), ((None, 0), [xs[0], bs])):
        with sg.Graph().as_default():
            batched = sg.vmap(one, in_axes=in_axes)(*[sg.constant(c) for c in columns])
            got = sg.Session().run(batched)
        want = _looped(one, columns, in_axes)
        assert got.shape == want.shape == (5, 12 + 3 + 1)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_vmap_over_a_fused_node_with_an_unbatched_output_repeats_it_per_example():
    with sg.Graph().as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        b = sg.placeholder(sg.float64, (4,), name="b")
        u = sg.identity(sg.exp(b) * 2.0, name="u")  # reads b alone: unbatched
        sg.identity(sg.tanh(x) * u, name="y")
        region = _region(["u", "y"], ["x", "b"])
    assert region.outputs == ("u", "y") and region.inputs == ("b", "x")
    xs, b1 = np.random.default_rng(2).normal(size=(3, 4)), np.linspace(0.0, 1.0, 4)
    with sg.Graph().as_default():
        got = sg.Session().run(sg.vmap(lambda bv, xv: fused(bv, xv, region=region),
                                       in_axes=(None, 0))(sg.constant(b1), sg.constant(xs)))
    want = [np.concatenate([np.exp(b1) * 2.0, np.tanh(v) * np.exp(b1) * 2.0]) for v in xs]
    np.testing.assert_array_equal(got, want)


def test_vmap_over_a_compiled_graphs_fused_node_equals_a_loop(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")
    with sg.Graph().as_default():
        x = sg.placeholder(sg.float64, (6,), name="x")
        y = sg.sum(sg.sin(x) * sg.power(sg.abs(x) + 1.0, 1.5), name="y")
        (dx,) = sg.gradients(y, [x])
        exe = sg.compile([y, dx])
    (name,) = [n for n, op in exe.graph.nx.nodes(data="op") if op == "fused"]
    region = exe.graph.node(name)["attrs"]["region"]
    assert region.outputs == ("y", dx.name)
    xs = np.random.default_rng(1).normal(size=(4, 6))
    with sg.Graph().as_default():
        got = sg.Session().run(sg.vmap(lambda v: fused(v, region=region))(sg.constant(xs)))
    want = [np.concatenate([[np.sum(np.sin(v) * (np.abs(v) + 1.0) ** 1.5)],
                            np.cos(v) * (np.abs(v) + 1.0) ** 1.5
                            + np.sin(v) * 1.5 * (np.abs(v) + 1.0) ** 0.5 * np.sign(v)])
            for v in xs]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.fixture(params=["numpy"] + (["numba"] if HAS_NUMBA else []))
def kernels(request, monkeypatch, tmp_path_factory):
    """Fused regions of two ops and more, on numpy kernels or on numba's (from the first call)."""
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "1" if request.param == "numba" else "0")
    monkeypatch.setenv("STATICGRAPH_NUMBA_AFTER", "1")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kernels"))
    return request.param


def _division():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = sg.placeholder(sg.float64, (4,), name="y")
    z = sg.tanh(x / y) * 2.0 + 1.0
    feed = {x: np.ones(4), y: np.array([1.0, 0.0, 2.0, 3.0])}
    return z, feed


def _failure(exe, feed, context) -> Exception:
    with context(), pytest.raises(InvalidArgumentError) as info:
        exe.run(feed)
    return info.value


def _raising():
    return np.errstate(divide="raise")


def _warnings_as_errors():
    manager = warnings.catch_warnings()

    class Errors:
        def __enter__(self):
            manager.__enter__()
            warnings.simplefilter("error", RuntimeWarning)

        def __exit__(self, *exc):
            return manager.__exit__(*exc)
    return Errors()


@pytest.mark.parametrize("context", [_raising, _warnings_as_errors])
def test_a_division_by_zero_in_a_region_fails_as_without_fusion(kernels, context):
    z, feed = _division()
    exe, plain = sg.compile(z), sg.compile(z, fuse=False)
    assert exe.graph.node(z.name)["op"] == "fused"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        quiet = exe.run(feed)  # the default error state: inf, then tanh(inf) = 1
        np.testing.assert_array_equal(quiet, plain.run(feed))
    if kernels == "numba":
        kernel = exe.graph.node(z.name)["attrs"]["region"].kernel
        assert kernel.source == kernel.numba_source  # switched: numba's code runs by default
    fused_error, plain_error = _failure(exe, feed, context), _failure(plain, feed, context)
    assert type(fused_error) is type(plain_error)
    assert "divide by zero encountered in divide" in str(plain_error)
    # the fused node's error names the member that failed, and where it was created
    assert "divide by zero encountered in divide (in member 'divide', divide created at " \
        "test_fusion_rules.py:" in str(fused_error)
    np.testing.assert_array_equal(exe.run({**feed, "y": np.full(4, 2.0)}),
                                  np.tanh(0.5 * np.ones(4)) * 2.0 + 1.0)


def test_under_seterr_call_the_fused_node_calls_the_handler(kernels):
    z, feed = _division()
    exe = sg.compile(z)
    exe.run({**feed, "y": np.ones(4)})
    calls = []
    with np.errstate(divide="call", call=lambda kind, flag: calls.append(kind)):
        exe.run(feed)
    assert calls == ["divide by zero"]
