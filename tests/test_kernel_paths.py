"""Kernels with fast paths (relu against zeros, column sums through BLAS) give numpy's values."""
import numpy as np

import staticgraph as sg


def test_relu_matches_numpy_on_special_values_and_writes_out():
    kernel = sg.ops.REGISTRY["relu"].kernel
    x = np.array([[-1.0, np.nan, -np.inf], [np.inf, 2.0, 0.0]])
    np.testing.assert_array_equal(kernel(x), np.maximum(x, 0))
    out = np.empty_like(x)
    assert kernel(x, out=out) is out
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert kernel(np.float32(-3.0)) == 0.0 and kernel(np.arange(-2, 3)).tolist() == [0, 0, 0, 1, 2]


def test_column_sums_through_blas_match_numpy(rng):
    kernel = sg.ops.REGISTRY["sum"].kernel
    x = rng.normal(size=(7, 3)).astype(np.float32)
    out = np.empty((1, 3), np.float32)
    assert kernel(x, axis=(0,), keepdims=True, out=out) is out
    np.testing.assert_allclose(out, x.sum(0, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(kernel(x[:, ::2], axis=(-2,), keepdims=False), x[:, ::2].sum(0),
                               rtol=1e-6)
    assert kernel(np.zeros((0, 2)), axis=(0,), keepdims=False).tolist() == [0.0, 0.0]


def _steps_and_values(fetches, feeds):
    exe = sg.compile(fetches)
    program = exe._latest.program
    ops = [program.infos[s[-1]].op for s in program.instantiate()[0] if s[-1] in program.infos]
    return ops, exe.run(feeds)


def test_a_transpose_only_a_matmul_reads_runs_inside_the_matmul(rng):
    a = sg.placeholder(sg.float64, (5, 3), name="a")
    b = sg.placeholder(sg.float64, (5, 4), name="b")
    c = sg.placeholder(sg.float64, (3, 4), name="c")
    d = sg.placeholder(sg.float64, (4, 2), name="d")
    e = sg.placeholder(sg.float64, (5, 4), name="e")
    av, bv, cv = rng.normal(size=(5, 3)), rng.normal(size=(5, 4)), rng.normal(size=(3, 4))
    dv, ev = rng.normal(size=(4, 2)), rng.normal(size=(5, 4))
    feeds = {a: av, b: bv, c: cv, d: dv, e: ev}
    shared = sg.transpose(sg.cos(a))
    ops, (left, right, both, fetched, kept) = _steps_and_values(
        [sg.transpose(a) @ b, b @ sg.transpose(c), sg.transpose(d) @ sg.transpose(e),
         sg.transpose(sg.sin(a)), shared @ b + sg.sum(shared)], feeds)
    np.testing.assert_array_equal(left, av.T @ bv)
    np.testing.assert_array_equal(right, bv @ cv.T)
    np.testing.assert_array_equal(both, dv.T @ ev.T)
    np.testing.assert_array_equal(fetched, np.sin(av).T)
    np.testing.assert_allclose(kept, np.cos(av).T @ bv + np.cos(av).sum(), rtol=1e-14)
    # fetched, or read by more than a matmul: those two stay steps of their own
    assert ops.count("transpose") == 2 and ops.count("matmul") == 4
