"""add_product (c += alpha · a @ b in place) against numpy, through BLAS and through its fallback,
and the assign_add_matmul op's in-place and staged updates."""
import ctypes
import ctypes.util

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.ops import blas

LAYOUTS = [(order_a, order_b, order_c) for order_a in "CF" for order_b in "CF" for order_c in "CF"]


@pytest.fixture(params=["blas", "numpy"])
def path(request, monkeypatch):
    """Each test runs through BLAS (where numpy's bundled one is found) and through numpy."""
    if request.param == "numpy":
        monkeypatch.setattr(blas, "GEMM", {})
    elif not blas.available():
        pytest.skip("numpy bundles no CBLAS here")
    return request.param


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("orders", LAYOUTS)
def test_the_product_is_added_into_c_in_every_layout(path, rng, dtype, rtol, orders):
    a = np.asarray(rng.standard_normal((5, 4)), dtype, order=orders[0])
    b = np.asarray(rng.standard_normal((4, 3)), dtype, order=orders[1])
    c = np.asarray(rng.standard_normal((5, 3)), dtype, order=orders[2])
    want = c.astype(np.float64) - 0.3 * (a.astype(np.float64) @ b.astype(np.float64))
    same = c
    assert blas.add_product(c, a, b, -0.3) is same
    np.testing.assert_allclose(c, want, rtol=rtol, atol=rtol)


def test_odd_operands_take_the_numpy_path_and_agree(path, rng):
    big = rng.standard_normal((6, 8))
    c = rng.standard_normal((6, 6))
    cases = [
        (big[:, ::2][:, :4], rng.standard_normal((4, 6))),  # a strided view
        (c[:, :4], rng.standard_normal((4, 6))),              # a view of c itself
        (rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((4, 6))),  # dtypes
    ]
    for a, b in cases:
        want = c + 2.0 * (a @ b)
        blas.add_product(c, a, b, 2.0)
        np.testing.assert_allclose(c, want, rtol=1e-12)
    ints = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(blas.add_product(np.ones((2, 2), np.int64), ints, ints.T, 2),
                                  1 + 2 * ints @ ints.T)


def test_empty_products_change_nothing_and_wrong_shapes_are_refused(path):
    c = np.ones((2, 3))
    blas.add_product(c, np.ones((2, 0)), np.ones((0, 3)), 5.0)
    np.testing.assert_array_equal(c, np.ones((2, 3)))
    assert blas.add_product(np.ones((0, 3)), np.ones((0, 2)), np.ones((2, 3)), 5.0).shape == (0, 3)
    with pytest.raises(ValueError, match=r"\(2, 4\) and \(3, 3\) into shape \(2, 3\)"):
        blas.add_product(c, np.ones((2, 4)), np.ones((3, 3)), 1.0)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        blas.add_product(c, np.ones((2, 2)), np.ones((2, 2)), 1.0)


def test_a_read_only_target_is_refused_and_left_as_it_was(path):
    c = np.ones((2, 2))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.add_product(c, np.eye(2), np.eye(2), 1.0)
    np.testing.assert_array_equal(c, np.ones((2, 2)))


def test_blas_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_BLAS", "0")
    assert blas._find() == {}


def _sgd_update(dtype):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(dtype, (7, 128), name="x")
        d = sg.placeholder(dtype, (7, 128), name="d")  # w is just large enough to fuse
        w = sg.Variable(np.arange(128 * 128, dtype=dtype).reshape(128, 128) / 1e4, name="w")
        step = w.assign_sub(0.5 * sg.matmul(sg.transpose(x), d), name="step")
    return g, x, d, w, step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_update_writes_in_place_or_stages_with_equal_results(path, rng, dtype):
    g, x, d, w, step = _sgd_update(dtype)
    feed = {x: rng.standard_normal((7, 128)).astype(dtype),
            d: rng.standard_normal((7, 128)).astype(dtype)}
    results = {}
    for fetches in ([step], [step, w]):  # fetching w too keeps its array: the update stages
        sess = sg.Session(g)
        sess.run(sg.global_variables_initializer(g))
        before = sess.run(w)
        sess.run(fetches, feed)
        exe = sess.executable(fetches, feed)
        assert g.node("step")["op"] == "assign_sub"  # the user's graph is never changed
        assert exe.variant(exe.static_shapes).graph.node("step")["op"] == "assign_add_matmul"
        assert len(exe.memory.updates_in_place) == (len(fetches) == 1)
        results[len(fetches)] = sess.run(w)
        want = before - dtype(0.5) * (feed[x].T @ feed[d])
        np.testing.assert_allclose(results[len(fetches)], want, rtol=1e-6)
    np.testing.assert_array_equal(results[1], results[2])


def test_a_library_without_cblas_gemm_is_passed_over(tmp_path):
    assert blas._bind(str(tmp_path / "missing.so")) == {}
    libc = ctypes.util.find_library("c")
    if libc is not None:
        assert blas._bind(libc) == {}


def test_functions_that_disagree_with_numpy_are_not_used():
    def wrong(*args):  # a "gemm" that writes nothing
        return None
    assert not blas._agrees({np.dtype(np.float64): wrong})
