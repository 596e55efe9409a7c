"""Optimizers against numpy re-implementations of their update rules; Saver round trips and errors."""
import os

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors

W0 = np.array([0.5, -1.5, 2.0])
X = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 1.0], [2.0, 0.1, -0.4], [1.0, 1.0, 1.0]])
Y = np.array([1.0, -2.0, 0.5, 3.0])


def _problem():
    w = sg.Variable(W0.copy(), name="w")
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    y = sg.placeholder(sg.float64, (None,), name="y")
    loss = sg.mean((sg.matmul(x, w) - y) ** 2)
    return w, {x: X, y: Y}, loss


def _grad(w):
    return 2 * X.T @ (X @ w - Y) / len(Y)


def _run(optimizer, steps=5):
    w, feed, loss = _problem()
    step = optimizer.minimize(loss)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for _ in range(steps):
        sess.run(step, feed)
    return sess.run(w), step


def test_gradient_descent_matches_numpy():
    got, step = _run(sg.train.GradientDescentOptimizer(0.1))
    w = W0.copy()
    for _ in range(5):
        w -= 0.1 * _grad(w)
    np.testing.assert_allclose(got, w)
    g = step.graph
    assert any(d["role"] == "update" and d["op"] == "assign_sub" for _, d in g.nx.nodes(data=True))


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_numpy(nesterov):
    got, _ = _run(sg.train.MomentumOptimizer(0.05, 0.9, use_nesterov=nesterov))
    w, accum = W0.copy(), np.zeros(3)
    for _ in range(5):
        g = _grad(w)
        accum = 0.9 * accum + g
        w -= 0.05 * (g + 0.9 * accum if nesterov else accum)
    np.testing.assert_allclose(got, w)


def test_adam_matches_numpy():
    got, _ = _run(sg.train.AdamOptimizer(0.1), steps=6)
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 7):
        g = _grad(w)
        lr_t = 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(got, w)


def _gd(rates):
    w = W0.copy()
    for lr in rates:
        w -= lr * _grad(w)
    return w


def _nesterov(rates):
    w, accum = W0.copy(), np.zeros(3)
    for lr in rates:
        g = _grad(w)
        accum = 0.9 * accum + g
        w -= lr * (g + 0.9 * accum)
    return w


def _adam(rates):
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t, lr in enumerate(rates, start=1):
        g = _grad(w)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
    return w


@pytest.mark.parametrize("make, numpy_steps", [
    (lambda lr: sg.train.GradientDescentOptimizer(lr), _gd),
    (lambda lr: sg.train.MomentumOptimizer(lr, 0.9, use_nesterov=True), _nesterov),
    (lambda lr: sg.train.AdamOptimizer(lr), _adam),
])
def test_a_fed_learning_rate_changes_each_step(make, numpy_steps):
    """A 0-d float32 placeholder, cast to the float64 weights, fed a new rate each step."""
    rates = [float(np.float32(r)) for r in (0.1, 0.05, 0.025, 0.0125)]
    w, feed, loss = _problem()
    lr = sg.placeholder(sg.float32, (), name="lr")
    step = make(lr).minimize(loss)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for rate in rates:
        sess.run(step, {**feed, lr: np.float32(rate)})
    np.testing.assert_allclose(sess.run(w), numpy_steps(rates), rtol=1e-12)


def test_a_learning_rate_tensor_must_be_a_0d_float():
    for bad in (sg.placeholder(sg.float64, (2,), name="lrs"), sg.placeholder(sg.int64, (), name="n")):
        with pytest.raises(errors.InvalidArgumentError, match="must be a 0-d float, got"):
            sg.train.GradientDescentOptimizer(bad)


def test_minimize_converges_and_counts_global_step():
    w, feed, loss = _problem()
    step_var = sg.Variable(0, name="global_step", trainable=False)
    opt = sg.train.GradientDescentOptimizer(0.1)
    train = opt.minimize(loss, global_step=step_var)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for _ in range(300):
        sess.run(train, feed)
    best = np.linalg.lstsq(X, Y, rcond=None)[0]
    np.testing.assert_allclose(sess.run(w), best, atol=1e-6)
    assert sess.run(step_var) == 300


def test_compute_and_apply_gradients_and_var_list():
    w, feed, loss = _problem()
    b = sg.Variable(1.0, sg.float64, name="b")
    opt = sg.train.GradientDescentOptimizer(0.5)
    pairs = opt.compute_gradients(loss + 0 * b, var_list=[w])
    assert [v.name for _, v in pairs] == ["w"]
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    sess.run(opt.apply_gradients(pairs), feed)
    assert sess.run(b) == 1.0
    with pytest.raises(errors.InvalidArgumentError, match="learning_rate must be positive"):
        sg.train.GradientDescentOptimizer(0.0)


def test_saver_round_trip_and_errors(tmp_path):
    w = sg.Variable(np.arange(3.0), name="w")
    n = sg.Variable(np.int64(7), name="n")
    saver = sg.train.Saver()
    path = tmp_path / "ckpt.npz"
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    sess.run(w.assign([9.0, 8.0, 7.0]))
    saver.save(sess, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # nothing temporary left behind
    fresh = sg.Session()
    saver.restore(fresh, path)
    np.testing.assert_array_equal(fresh.run(w), [9.0, 8.0, 7.0])
    assert fresh.run(n) == 7

    sg.reset_default_graph()
    sg.Variable(np.zeros(4), name="w")
    sg.Variable(np.int64(0), name="n")
    other = sg.Session()
    other.run(sg.global_variables_initializer())
    with pytest.raises(errors.InvalidArgumentError, match=r"'w' is float64\(4,\) but the checkpoint holds float64\(3,\)"):
        sg.train.Saver().restore(other, path)
    np.testing.assert_array_equal(other.run("w"), np.zeros(4))  # nothing half-restored

    sg.reset_default_graph()
    sg.Variable(1.0, name="missing")
    with pytest.raises(errors.NotFoundError, match="no value for variable 'missing'"):
        sg.train.Saver().restore(sg.Session(), path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(errors.InvalidArgumentError, match="cannot read checkpoint"):
        sg.train.Saver().restore(sg.Session(), bad)


@pytest.mark.parametrize("make", [lambda: sg.train.GradientDescentOptimizer(0.1),
                                  lambda: sg.train.MomentumOptimizer(0.05, 0.9),
                                  lambda: sg.train.AdamOptimizer(0.1)],
                         ids=["sgd", "momentum", "adam"])
def test_updates_in_place_give_bit_for_bit_what_staged_updates_give(make):
    finals = []
    for staged in (False, True):  # check_numerics stages every update
        sg.reset_default_graph()
        w, feed, loss = _problem()
        step = make().minimize(loss)
        sess = sg.Session(config={"check_numerics": staged})
        sess.run(sg.global_variables_initializer())
        for _ in range(4):
            sess.run(step, feed)
        in_place = sess.executable(step, feed)._latest.program.touched is not None
        assert in_place != staged
        finals.append(sess.variable_values())
    assert finals[0].keys() == finals[1].keys()
    for name in finals[0]:
        np.testing.assert_array_equal(finals[0][name], finals[1][name])
