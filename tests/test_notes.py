"""The notes' §3.1-3.3 examples in the static style, against their closed forms."""
import numpy as np

import staticgraph as sg

X = np.arange(4.0)


def test_y_equals_2_xT_x_and_its_gradient_4x():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = 2 * sg.dot(x, x)
    (dx,) = sg.gradients(y, [x])
    y_val, dx_val = sg.Session().run([y, dx], {x: X})
    assert y_val == 28.0
    np.testing.assert_array_equal(dx_val, 4 * X)


def test_gradient_of_sum_is_ones():
    x = sg.placeholder(sg.float64, (4,), name="x")
    (dx,) = sg.gradients(sg.sum(x), [x])
    np.testing.assert_array_equal(sg.Session().run(dx, {x: X}), np.ones(4))


def test_non_scalar_y_with_ones_grad_ys_is_gradient_of_its_sum():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = x * x
    (explicit,) = sg.gradients(y, [x], grad_ys=sg.ones_like(y))
    (default,) = sg.gradients(y, [x])
    (of_sum,) = sg.gradients(sg.sum(y), [x])
    values = sg.Session().run([explicit, default, of_sum], {x: X})
    for v in values:
        np.testing.assert_array_equal(v, 2 * X)


def test_stop_gradient_treats_u_as_constant():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = x * x
    u = sg.stop_gradient(y)
    z = u * x
    (dz,) = sg.gradients(sg.sum(z), [x])
    (dy,) = sg.gradients(sg.sum(y), [x])
    dz_val, u_val, dy_val = sg.Session().run([dz, u, dy], {x: X})
    np.testing.assert_array_equal(dz_val, u_val)
    np.testing.assert_array_equal(dy_val, 2 * X)


def test_stop_gradients_argument_is_tf1_semantics():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = x * x
    z = y * x
    (dz,) = sg.gradients(sg.sum(z), [x], stop_gradients=[y])
    np.testing.assert_array_equal(sg.Session().run(dz, {x: X}), X * X)


def test_linear_regression_chain_rule():
    """z = (x.w - y)^2: dz/dw = 2b x with b = x.w - y (notes §1.4)."""
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    y = sg.placeholder(sg.float64, (), name="y")
    b = sg.dot(x, w) - y
    z = b ** 2
    dw, dx, dy = sg.gradients(z, [w, x, y])
    feed = {x: np.array([1.0, 2.0, 3.0]), w: np.array([0.5, -1.0, 2.0]), y: 1.5}
    b_val, dw_val, dx_val, dy_val = sg.Session().run([b, dw, dx, dy], feed)
    np.testing.assert_allclose(dw_val, 2 * b_val * feed[x])
    np.testing.assert_allclose(dx_val, 2 * b_val * feed[w])
    np.testing.assert_allclose(dy_val, -2 * b_val)


def test_gradients_of_gradients():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(x ** 3)
    (g,) = sg.gradients(y, x)
    (h,) = sg.gradients(sg.sum(g), x)
    (h3,) = sg.gradients(sg.sum(h), x)
    g_val, h_val, h3_val = sg.Session().run([g, h, h3], {x: X[:3] + 1})
    np.testing.assert_allclose(g_val, 3 * (X[:3] + 1) ** 2)
    np.testing.assert_allclose(h_val, 6 * (X[:3] + 1))
    np.testing.assert_allclose(h3_val, np.full(3, 6.0))


def test_unconnected_gradients():
    x = sg.placeholder(sg.float64, (2,), name="x")
    other = sg.placeholder(sg.float64, (2,), name="other")
    y = sg.sum(x * 2)
    assert sg.gradients(y, [other]) == [None]
    (zero,) = sg.gradients(y, [other], unconnected_gradients="zero")
    np.testing.assert_array_equal(sg.Session().run(zero, {other: [1.0, 2.0]}), [0.0, 0.0])


def test_list_of_ys_is_summed():
    x = sg.placeholder(sg.float64, (), name="x")
    (g,) = sg.gradients([x * x, sg.sin(x)], [x])
    np.testing.assert_allclose(sg.Session().run(g, {x: 0.3}), 0.6 + np.cos(0.3))


def test_kink_conventions():
    x = sg.placeholder(sg.float64, (3,), name="x")
    grads = sg.gradients([sg.sum(sg.relu(x)), sg.sum(sg.abs(x))], [x])
    assert np.array_equal(sg.Session().run(grads[0], {x: [0.0, 0.0, 0.0]}), [0.0, 0.0, 0.0])
    m = sg.placeholder(sg.float64, (4,), name="m")
    (dm,) = sg.gradients(sg.max(m), m)
    np.testing.assert_array_equal(sg.Session().run(dm, {m: [1.0, 3.0, 3.0, 2.0]}), [0, 0.5, 0.5, 0])
    a = sg.placeholder(sg.float64, (), name="a")
    da, = sg.gradients(sg.maximum(a, 2.0), a)
    assert sg.Session().run(da, {a: 2.0}) == 0.5
