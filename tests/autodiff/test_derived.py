"""Full Jacobians in both modes, Hessians and Hessian-vector products, and the modes tool."""
import importlib.util

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import cli, errors
from staticgraph.runtime.reference import needed_nodes
from tests.autodiff.table import build, sample
from tests.op_table import ROW_BY_NAME

JACOBIAN_ROWS = [("tanh", 2), ("matmul", 0), ("matmul", 1), ("softmax", 0), ("norm_axis", 0),
                 ("getitem_mask", 0), ("concat", 0), ("broadcast_to", 0), ("where", 1), ("max", 0),
                 ("divide", 2), ("power", 1), ("log_softmax", 0)]


def numeric_jacobian(sess, y, x, feed, eps=1e-6) -> np.ndarray:
    """Central differences, one input element at a time: shape y.shape + x.shape."""
    base = feed[x]
    columns = []
    for j in range(base.size):
        step = np.zeros(base.size)
        step[j] = eps
        step = step.reshape(base.shape)
        plus = sess.run(y, {**feed, x: base + step})
        minus = sess.run(y, {**feed, x: base - step})
        columns.append((np.asarray(plus) - np.asarray(minus)) / (2 * eps))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(columns[0]) + base.shape)


@pytest.mark.parametrize("name,case", JACOBIAN_ROWS, ids=[f"{n}-{c}" for n, c in JACOBIAN_ROWS])
def test_forward_and_reverse_jacobians_equal_finite_differences(name, case, rng):
    row = ROW_BY_NAME[name]
    shapes = row.cases[case]
    xs, y = build(row, shapes)
    feed = dict(zip(xs, sample(row, shapes, rng)))
    sess = sg.Session()
    for x in xs:
        fwd, rev = sess.run([sg.jacobian(y, x, mode="fwd"), sg.jacobian(y, x, mode="rev")], feed)
        assert np.shape(fwd) == y.shape + x.shape
        np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fwd, numeric_jacobian(sess, y, x, feed), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_the_notes_shape_table(mode):
    """scalar/scalar -> scalar, scalar/vector -> vector, vector/scalar -> vector, vector/vector -> matrix."""
    t = sg.placeholder(sg.float64, (), name="t")
    x = sg.placeholder(sg.float64, (2,), name="x")
    cases = [(t ** 2, t, (), 2 * 0.5),
             (x[0] ** 2 + 2 * x[1] ** 2, x, (2,), [2 * 1.0, 4 * 3.0]),
             (sg.stack([sg.sin(t), sg.cos(t)]), t, (2,), [np.cos(0.5), -np.sin(0.5)]),
             (x * 1.0, x, (2, 2), np.eye(2))]
    jacobians = [sg.jacobian(y, wrt, mode=mode) for y, wrt, _, _ in cases]
    values = sg.Session().run(jacobians, {t: 0.5, x: np.array([1.0, 3.0])})
    for (_, _, shape, closed), jac, value in zip(cases, jacobians, values):
        assert jac.shape == shape and np.shape(value) == shape
        np.testing.assert_allclose(value, closed, rtol=1e-12)


def test_matrix_input_and_output_shapes():
    w = sg.placeholder(sg.float64, (2, 3), name="w")
    y = sg.transpose(w) * 2.0
    expected = 2.0 * np.einsum("ad,bc->abcd", np.eye(3), np.eye(2))
    for mode in ("fwd", "rev"):
        jac = sg.jacobian(y, w, mode=mode)
        assert jac.shape == (3, 2, 2, 3)
        np.testing.assert_array_equal(sg.Session().run(jac, {w: np.ones((2, 3))}), expected)


def test_unconnected_x_gives_a_zero_jacobian():
    x = sg.placeholder(sg.float64, (2,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    for mode in ("fwd", "rev"):
        value = sg.Session().run(sg.jacobian(w * 2.0, x, mode=mode), {x: np.ones(2), w: np.ones(3)})
        np.testing.assert_array_equal(value, np.zeros((3, 2)))


def test_hessians_against_closed_forms():
    x = sg.placeholder(sg.float64, (2,), name="x")
    v = sg.placeholder(sg.float64, (3,), name="v")
    a = np.array([[1.0, 2.0, 0.0], [-1.0, 3.0, 1.0], [0.5, 0.0, 2.0]])
    quadratic = sg.hessian(x[0] ** 2 + 2 * x[1] ** 2, x)
    cubic = sg.hessian(sg.sum(v ** 3), v)
    form = sg.hessian(sg.dot(v, sg.constant(a) @ v), v)
    mixed = sg.hessian(sg.sin(x[0]) * x[1], x)
    x0, v0 = np.array([1.0, 3.0]), np.array([0.5, -1.0, 2.0])
    values = sg.Session().run([quadratic, cubic, form, mixed], {x: x0, v: v0})
    np.testing.assert_allclose(values[0], np.diag([2.0, 4.0]))
    np.testing.assert_allclose(values[1], np.diag(6 * v0))
    np.testing.assert_allclose(values[2], a + a.T)
    np.testing.assert_allclose(values[3], [[-np.sin(1.0) * 3.0, np.cos(1.0)], [np.cos(1.0), 0.0]])


def test_hessian_of_a_matrix_input_and_hvp_equals_hessian_times_v(rng):
    w = sg.placeholder(sg.float64, (2, 2), name="w")
    y = sg.sum(sg.tanh(w @ w))
    direction = rng.normal(size=(2, 2))
    hess, prod = sg.hessian(y, w), sg.hvp(y, w, direction)
    assert hess.shape == (2, 2, 2, 2) and prod.shape == (2, 2)
    h, p = sg.Session().run([hess, prod], {w: rng.normal(size=(2, 2))})
    np.testing.assert_allclose(h, h.transpose(2, 3, 0, 1), atol=1e-12)  # symmetric
    np.testing.assert_allclose(p, np.tensordot(h, direction, axes=2), atol=1e-12)


def test_hvp_with_unknown_dims_equals_known_dims(rng):
    """Forward-over-reverse through the run-time-shaped helpers (reshape_like, broadcast_like...)."""
    value, direction = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    results = []
    for shape in ((2, 3), (None, None)):
        sg.reset_default_graph()
        x = sg.placeholder(sg.float64, shape, name="x")
        y = sg.sum(sg.reshape(x, (-1,)) ** 3) + sg.sum(sg.softmax(x) * x[:, :2].sum(axis=1, keepdims=True))
        results.append(sg.Session().run(sg.hvp(y, x, direction), {x: value}))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def _tanh_layer_jacobian(n: int, mode: str):
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, (n,), name="x")
        a = sg.placeholder(sg.float64, (n, n), name="a")
        jac = sg.jacobian(sg.tanh(a @ x), x, mode=mode)
    return graph, x, a, jac


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_graph_does_not_grow_with_n(mode, rng):
    """tanh(A x) at n = 16 and n = 1024: the same nodes (the batch grows, not the graph), and
    the closed form diag(1 - tanh(A x)^2) A."""
    sizes = []
    for n in (16, 1024):
        graph, x, a, jac = _tanh_layer_jacobian(n, mode)
        sizes.append((len(graph), len(needed_nodes(graph, [jac.name], {x.name, a.name}))))
    assert sizes[0] == sizes[1]
    graph, x, a, jac = _tanh_layer_jacobian(16, mode)
    xv, av = rng.normal(size=16), rng.normal(size=(16, 16)) / 4
    with graph.as_default():
        got = sg.Session().run(jac, {x: xv, a: av})
    np.testing.assert_allclose(got, (1 - np.tanh(av @ xv) ** 2)[:, None] * av, rtol=1e-12)


def test_jacobian_and_hessian_of_structures(rng):
    """Lists (and dicts) of ys and xs give y's structure of x's structure, cross terms included."""
    u = sg.placeholder(sg.float64, (2,), name="u")
    w = sg.placeholder(sg.float64, (3,), name="w")
    uv, wv = rng.normal(size=2), rng.normal(size=3)
    feed = {u: uv, w: wv}
    sess = sg.Session()
    s = sg.sum(u) * sg.sum(w ** 2)
    for mode in ("fwd", "rev"):
        jac = sg.jacobian([u * 2.0, {"s": s}], (u, w), mode=mode)
        assert isinstance(jac, list) and isinstance(jac[0], tuple) and set(jac[1]) == {"s"}
        (duu, duw), dsd = sess.run(jac, feed)
        np.testing.assert_allclose(duu, 2 * np.eye(2))
        np.testing.assert_array_equal(duw, np.zeros((2, 3)))
        np.testing.assert_allclose(dsd["s"][0], np.full(2, (wv ** 2).sum()))
        np.testing.assert_allclose(dsd["s"][1], 2 * wv * uv.sum())
    [[huu, huw], [hwu, hww]] = sess.run(sg.hessian(s, [u, w]), feed)
    np.testing.assert_array_equal(huu, np.zeros((2, 2)))
    np.testing.assert_allclose(huw, np.tile(2 * wv, (2, 1)))
    np.testing.assert_allclose(hwu, huw.T)
    np.testing.assert_allclose(hww, 2 * uv.sum() * np.eye(3))
    h1, h2 = sess.run(sg.hessian([s, sg.sum(u ** 3)], u), feed)
    np.testing.assert_allclose(h2, np.diag(6 * uv))


def test_jacobian_through_a_while_loop_equals_finite_differences(rng):
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, sg.sin(v) * 1.5 + v[0]), (0, x))[1]
    feed = {x: rng.normal(size=3)}
    sess = sg.Session()
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(sess.run(sg.jacobian(y, x, mode=mode), feed),
                                   numeric_jacobian(sess, y, x, feed), rtol=1e-6, atol=1e-8)


def test_errors():
    x = sg.placeholder(sg.float64, (None,), name="x")
    k = sg.placeholder(sg.float64, (3,), name="k")
    with pytest.raises(errors.InvalidArgumentError, match=r"'x' must be fully known.*\(None,\)"):
        sg.jacobian(sg.sum(x), x)
    with pytest.raises(errors.InvalidArgumentError, match="mode must be one of"):
        sg.jacobian(k * 2, k, mode="backward")
    with pytest.raises(errors.InvalidArgumentError, match=r"scalar Tensor, got shape \(3,\)"):
        sg.hessian(k * 2, k)
    with pytest.raises(errors.InvalidArgumentError, match="scalar"):
        sg.hvp(k * 2, k, np.ones(3))
    with pytest.raises(errors.InvalidArgumentError, match="int64"):
        sg.jacobian(sg.argmax(k, 0), k)


def test_modes_command_prints_the_table_and_plots(tmp_path, capsys):
    assert cli.main(["modes", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "peak KiB" in printed and "layer n=16 m=4" in printed and "deep n=4 m=16" in printed
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed: no plot" in printed
        assert not (tmp_path / "modes.png").exists()
    else:
        assert (tmp_path / "modes.png").stat().st_size > 0


def test_jacobian_uses_the_draws_of_y_not_new_ones():
    """A random node between x and y is shared, not copied: y = x * r has Jacobian diag(r) for
    the r of the same run."""
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = x * sg.random_uniform(sg.shape(x), dtype=sg.float64)
    for mode in ("fwd", "rev"):
        value, jac = sg.Session().run([y, sg.jacobian(y, x, mode=mode)], {x: np.ones(4)})
        np.testing.assert_array_equal(jac, np.diag(value))


def test_hvp_of_a_batch_of_vectors_equals_the_hessian_times_each(rng):
    w = sg.placeholder(sg.float64, (2, 2), name="w")
    y = sg.sum(sg.tanh(w @ w))
    directions = rng.normal(size=(3, 2, 2))
    hess, prods = sg.hessian(y, w), sg.hvp(y, w, directions)
    assert prods.shape == (3, 2, 2)
    h, p = sg.Session().run([hess, prods], {w: rng.normal(size=(2, 2))})
    for direction, product in zip(directions, p):
        np.testing.assert_allclose(product, np.tensordot(h, direction, axes=2), atol=1e-12)
