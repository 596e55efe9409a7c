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
