"""Regressions for gradients that were silently wrong or wrongly refused (issue 15, items 1, 5,
6, 11, 16 and 18): each checks real values against closed forms or finite differences."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors
from staticgraph.testing.gradcheck import numeric_gradient


@pytest.fixture(autouse=True)
def graph():
    g = sg.Graph()
    with g.as_default():
        yield g


def _run(fetches, feed=None):
    return sg.Session().run(fetches, feed or {})


# ----- item 1: stop_gradients are partial derivatives, also where they are xs or ys -----------
def test_stop_gradients_overlapping_xs_give_partials():
    # TF1's docstring: every stop is held constant, also one that is itself an x.
    a = sg.constant(0.0)
    b = 2 * a
    assert [float(g) for g in _run(sg.gradients(a + b, [a, b], stop_gradients=[a, b]))] == [1.0, 1.0]
    # Without the stops the total derivative flows through b into a.
    assert [float(g) for g in _run(sg.gradients(a + b, [a, b]))] == [3.0, 1.0]
    # A stop that is an x but lies on no path past another x changes nothing for the others.
    assert [float(g) for g in _run(sg.gradients(a + b, [a, b], stop_gradients=[b]))] == [1.0, 1.0]
    assert [float(g) for g in _run(sg.gradients(a + b, [a, b], stop_gradients=[a]))] == [3.0, 1.0]


def test_stop_gradients_in_the_middle_of_a_chain():
    x = sg.placeholder(sg.float64, (3,), name="x")
    u = sg.sin(x)
    v = u * u
    y = sg.sum(v * x + u)
    xv = np.array([0.3, -1.2, 2.0])
    (dx,) = sg.gradients(y, [x], stop_gradients=[v])
    # v held constant: d/dx [v x + sin x] = v + cos x
    np.testing.assert_allclose(_run(dx, {x: xv}), np.sin(xv) ** 2 + np.cos(xv))
    # u held constant: v = u^2 is constant too, so only the explicit x remains
    (dx,) = sg.gradients(y, [x], stop_gradients=[u])
    np.testing.assert_allclose(_run(dx, {x: xv}), np.sin(xv) ** 2)
    # d/du with u held constant still reaches u itself: v'(u) x + 1 = 2 u x + 1
    du, dx = sg.gradients(y, [u, x], stop_gradients=[u])
    got_du, got_dx = _run([du, dx], {x: xv})
    np.testing.assert_allclose(got_du, 2 * np.sin(xv) * xv + 1)
    np.testing.assert_allclose(got_dx, np.sin(xv) ** 2)


def test_stop_gradients_on_ys():
    x = sg.placeholder(sg.float64, (), name="x")
    y = x * x
    # y held constant: nothing flows to x; y's own gradient is its seed.
    assert sg.gradients(y, [x], stop_gradients=[y]) == [None]
    dy, dx = sg.gradients(y, [y, x], stop_gradients=[y], unconnected_gradients="zero")
    assert _run([dy, dx], {x: 3.0}) == [1.0, 0.0]
    # A list of ys: the stopped one gives nothing, the other its full derivative.
    z = sg.sin(x)
    (dx,) = sg.gradients([y, z], [x], stop_gradients=[y])
    np.testing.assert_allclose(_run(dx, {x: 0.7}), np.cos(0.7))


def test_stop_gradients_with_grad_ys():
    x = sg.placeholder(sg.float64, (2,), name="x")
    h = 3 * x
    y = h * x  # 3 x^2
    w = np.array([2.0, -1.0])
    dx, dh = sg.gradients(y, [x, h], grad_ys=w, stop_gradients=[h])
    got_dx, got_dh = _run([dx, dh], {x: np.array([1.5, 4.0])})
    np.testing.assert_allclose(got_dx, w * 3 * np.array([1.5, 4.0]))  # w * h
    np.testing.assert_allclose(got_dh, w * np.array([1.5, 4.0]))  # w * x
    (dx,) = sg.gradients(y, [x], grad_ys=w)
    np.testing.assert_allclose(_run(dx, {x: np.array([1.5, 4.0])}), w * 6 * np.array([1.5, 4.0]))


def test_stop_gradients_partials_match_finite_differences():
    # f(x, s) = sum(sin(s) * x + s^2) with s = exp(x / 3): the partials in x and s with s held
    # constant are those of f as a function of two free arguments.
    x = sg.placeholder(sg.float64, (3,), name="x")
    s = sg.exp(x / 3)
    y = sg.sum(sg.sin(s) * x + s * s)
    dx, ds = sg.gradients(y, [x, s], stop_gradients=[s])
    xv = np.array([0.2, -0.5, 1.1])
    sv = np.exp(xv / 3)
    got_dx, got_ds = _run([dx, ds], {x: xv})

    def f(values):
        xx, ss = values
        return float(np.sum(np.sin(ss) * xx + ss * ss))

    want_dx, want_ds = numeric_gradient(f, [xv, sv])
    np.testing.assert_allclose(got_dx, want_dx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_ds, want_ds, rtol=1e-6, atol=1e-8)


# ----- item 5: grad_ys must have y's shape and dtype -------------------------------------------
def test_grad_ys_of_another_shape_are_refused():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.reshape(x * x * 10, (3,))
    with pytest.raises(errors.ShapeError, match=r"grad_ys for y .* shape \(3, 1\).* \(3,\)"):
        sg.gradients(y, [x], grad_ys=sg.constant(np.ones((3, 1))))
    with pytest.raises(errors.ShapeError, match="grad_ys for y"):
        sg.gradients(y, [x], grad_ys=np.ones((1, 3)))
    with pytest.raises(errors.ShapeError, match="grad_ys for y"):
        sg.gradients(y, [x], grad_ys=sg.constant(1.0, sg.float64))
    with pytest.raises(errors.InvalidArgumentError, match="grad_ys for y .* float32, y is float64"):
        sg.gradients(y, [x], grad_ys=sg.constant(np.ones(3), sg.float32))


def test_grad_ys_of_unknown_shape_are_checked_when_run():
    x = sg.placeholder(sg.float64, (None,), name="x")
    g = sg.placeholder(sg.float64, (None,), name="g")
    y = x * x
    (dx,) = sg.gradients(y, [x], grad_ys=g)
    np.testing.assert_allclose(_run(dx, {x: [1.0, 2.0], g: [3.0, -1.0]}), [6.0, -4.0])
    with pytest.raises(errors.ShapeError, match="grad_ys for y"):
        _run(dx, {x: [1.0, 2.0], g: [3.0]})  # would broadcast without the check
    # A fed cotangent of a y whose shape is known: the feed itself is checked too.
    z = sg.placeholder(sg.float64, (2,), name="z")
    (dz,) = sg.gradients(z * 3, [z], grad_ys=g)
    np.testing.assert_allclose(_run(dz, {z: [1.0, 2.0], g: [1.0, 2.0]}), [3.0, 6.0])
    with pytest.raises(errors.InvalidArgumentError):
        _run(dz, {z: [1.0, 2.0], g: [1.0]})


# ----- item 6: numpy on the left defers to the Tensor -----------------------------------------
def test_numpy_on_the_left_of_a_tensor_gives_tensors():
    x = sg.placeholder(sg.float64, (3,), name="x")
    xv = np.array([1.0, 5.0, 2.0])
    c = np.array([1.0, 2.0, 3.0])
    m = np.arange(9.0).reshape(3, 3)
    cases = [(c * x, c * xv), (x * c, xv * c), (c + x, c + xv), (c - x, c - xv), (c / x, c / xv),
             (c ** x, c ** xv), (m @ x, m @ xv), (np.eye(3) @ x, xv), (np.float64(2.0) * x, 2 * xv),
             (c < x, c < xv), (c >= x, c >= xv), (c == x, c == xv), (np.ones((2, 3)) + x, np.ones((2, 3)) + xv)]
    for built, want in cases:
        assert isinstance(built, sg.Tensor), type(built)
        got = _run(built, {x: xv})
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_numpy_grad_ys_and_numpy_operands_differentiate():
    x = sg.placeholder(sg.float64, (3,), name="x")
    m = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [2.0, 1.0, 1.0]])
    y = m @ sg.sin(x)
    w = np.array([1.0, -2.0, 0.5])
    (dx,) = sg.gradients(y, [x], grad_ys=w)
    xv = np.array([0.1, 0.7, -1.3])
    np.testing.assert_allclose(_run(dx, {x: xv}), np.cos(xv) * (m.T @ w))
    (dx,) = sg.gradients(y, [x], grad_ys=[[1.0, -2.0, 0.5]])
    np.testing.assert_allclose(_run(dx, {x: xv}), np.cos(xv) * (m.T @ w))


# ----- item 11: the gradient loop's invariants come from the forward loop's --------------------
def test_while_loop_gradient_with_a_none_invariant_and_a_known_cotangent():
    x = sg.placeholder(sg.float64, (3, 4), name="x")
    w = sg.placeholder(sg.float64, (4,), name="w")
    _, y = sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, sg.sin(v) * w), (0, x),
                         shape_invariants=[(), (None, 4)])
    assert y.shape == (None, 4)
    ct = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    gx, gw = sg.gradients(y, [x, w], grad_ys=sg.constant(ct))  # the cotangent knows dim 0
    rng = np.random.default_rng(0)
    xv, wv = rng.uniform(-1, 1, (3, 4)), rng.uniform(0.5, 1.5, 4)
    got_x, got_w = _run([gx, gw], {x: xv, w: wv})

    def f(values):
        v, ww = values
        for _ in range(3):
            v = np.sin(v) * ww
        return float(np.sum(ct * v))

    want_x, want_w = numeric_gradient(f, [xv, wv])
    np.testing.assert_allclose(got_x, want_x, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-6, atol=1e-8)


# ----- item 18: explain_gradient when y itself is the cut -------------------------------------
@pytest.mark.parametrize("make, kind", [
    (lambda x: sg.stop_gradient(x * x), "stopped"),
    (lambda x: sg.argmax(x), "not_differentiable"),
    (lambda x: sg.cast(x, sg.int32), "not_float"),
])
def test_explain_gradient_when_y_is_the_cut(make, kind):
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = make(x)
    answer = sg.explain_gradient(y, x, verbose=False)
    assert answer.kind == kind
    assert answer.culprits == (y.name,)
    assert sg.gradients(y, [x]) == [None]
    with pytest.raises(errors.InvalidArgumentError, match="every path"):
        sg.gradients(y, [x], unconnected_gradients="raise")


def test_explain_gradient_agrees_with_stop_gradients_on_xs():
    a = sg.constant(0.0)
    b = 2 * a
    assert sg.explain_gradient(a + b, a, [a, b], verbose=False).kind == "connected"
    assert sg.explain_gradient(b, a, [a, b], verbose=False).kind == "stopped"
    assert sg.explain_gradient(b, b, [a, b], verbose=False).kind == "connected"


# ----- items 16 and 18: optimizer hyperparameters ----------------------------------------------
@pytest.mark.parametrize("make, arg", [
    (lambda: sg.train.GradientDescentOptimizer("a"), "learning_rate"),
    (lambda: sg.train.GradientDescentOptimizer(-0.1), "learning_rate"),
    (lambda: sg.train.GradientDescentOptimizer(float("nan")), "learning_rate"),
    (lambda: sg.train.GradientDescentOptimizer(float("inf")), "learning_rate"),
    (lambda: sg.train.GradientDescentOptimizer(None), "learning_rate"),
    (lambda: sg.train.MomentumOptimizer(0.1, "0.9"), "momentum"),
    (lambda: sg.train.MomentumOptimizer(0.1, -0.5), "momentum"),
    (lambda: sg.train.AdamOptimizer(beta1=1.0), "beta1"),
    (lambda: sg.train.AdamOptimizer(beta2=float("nan")), "beta2"),
    (lambda: sg.train.AdamOptimizer(epsilon=-1e-8), "epsilon"),
    (lambda: sg.train.AdamOptimizer(epsilon=sg.constant([1e-8])), "epsilon"),
])
def test_optimizer_hyperparameters_are_checked(make, arg):
    with pytest.raises(errors.InvalidArgumentError, match=rf"Optimizer .*{arg}"):
        make()


def test_optimizer_hyperparameter_tensors_are_cast_to_the_variable_dtype():
    w = sg.Variable(np.array([1.0, -2.0], np.float32), name="w")
    lr, mom = sg.placeholder(sg.float64, (), name="lr"), sg.placeholder(sg.float64, (), name="mom")
    b1, b2, eps = (sg.constant(v, sg.float64) for v in (0.8, 0.99, 1e-3))
    loss = sg.sum(w * w)
    momentum = sg.train.MomentumOptimizer(lr, mom).minimize(loss)
    adam = sg.train.AdamOptimizer(lr, b1, b2, eps).minimize(loss)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    sess.run(momentum, {lr: 0.1, mom: 0.5})
    sess.run(momentum, {lr: 0.1, mom: 0.5})
    want, accum = np.array([1.0, -2.0], np.float32), np.zeros(2, np.float32)
    for _ in range(2):
        accum = np.float32(0.5) * accum + 2 * want
        want = want - np.float32(0.1) * accum
    np.testing.assert_allclose(sess.run(w), want, rtol=1e-6)
    sess.run(adam, {lr: 0.1})
    g = 2 * want
    m, v = (1 - 0.8) * g, (1 - 0.99) * g * g
    lr_t = 0.1 * np.sqrt(1 - 0.99) / (1 - 0.8)
    np.testing.assert_allclose(sess.run(w), want - lr_t * m / (np.sqrt(v) + 1e-3), rtol=1e-5)
    assert sess.run(w).dtype == np.float32


# ----- TF1's extra arguments to gradients ------------------------------------------------------
def test_gradients_accepts_tf1_arguments_without_effect():
    x = sg.placeholder(sg.float64, (2,), name="x")
    y = sg.sum(sg.sin(x) * x)
    (dx,) = sg.gradients(y, [x], aggregation_method=None, gate_gradients=True,
                         colocate_gradients_with_ops=True)
    xv = np.array([0.4, -2.0])
    np.testing.assert_allclose(_run(dx, {x: xv}), np.cos(xv) * xv + np.sin(xv))


def test_jvp_tangents_of_unknown_shape_are_checked_when_run():
    x = sg.placeholder(sg.float64, (None,), name="x")
    t = sg.placeholder(sg.float64, (None,), name="t")
    (ty,) = sg.jvp(sg.sin(x), [x], [t])
    np.testing.assert_allclose(_run(ty, {x: [0.0, 1.0], t: [2.0, 3.0]}), [2.0, 3.0 * np.cos(1.0)])
    with pytest.raises(errors.ShapeError, match="tangent for 'x'"):
        _run(ty, {x: [0.0, 1.0], t: [2.0]})  # would broadcast without the check
    with pytest.raises(errors.ShapeError, match="tangent for 'x'"):
        sg.jvp(sg.sin(x), [x], [np.ones((2, 1))])
