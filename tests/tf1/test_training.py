"""TF1's training API: RMSProp and Adagrad against numpy re-implementations of TF1's kernels, slots,
the global step and exponential_decay."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors

W0 = np.array([0.5, -1.5, 2.0])
X = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 1.0], [2.0, 0.1, -0.4], [1.0, 1.0, 1.0]])
Y = np.array([1.0, -2.0, 0.5, 3.0])
DTYPES = [(np.float64, 1e-12), (np.float32, 2e-5)]


def _problem(dtype):
    w = sg.Variable(W0.astype(dtype), name="w")
    x = sg.placeholder(dtype, (None, 3), name="x")
    y = sg.placeholder(dtype, (None,), name="y")
    loss = sg.mean((sg.matmul(x, w) - y) ** 2)
    return w, {x: X.astype(dtype), y: Y.astype(dtype)}, loss


def _grad(w):
    x, y = X.astype(w.dtype), Y.astype(w.dtype)
    return (2 * x.T @ (x @ w - y) / w.dtype.type(len(y))).astype(w.dtype)


def _train(optimizer, dtype, steps, slots=()):
    """The variable and the named slots after `steps` steps, and the optimizer."""
    w, feed, loss = _problem(dtype)
    step = optimizer.minimize(loss)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for _ in range(steps):
        sess.run(step, feed)
    return sess.run(w), [sess.run(optimizer.get_slot(w, s)) for s in slots]


def _rmsprop_numpy(dtype, steps, lr, decay, momentum, eps, centered):
    c = dtype
    w, rms, mom, mg = W0.astype(c), np.ones(3, c), np.zeros(3, c), np.zeros(3, c)
    for _ in range(steps):
        g = _grad(w)
        rms = c(decay) * rms + c(1 - decay) * g * g
        denom = rms
        if centered:
            mg = c(decay) * mg + c(1 - decay) * g
            denom = rms - mg * mg
        mom = c(momentum) * mom + c(lr) * g / np.sqrt(denom + c(eps))
        w = w - mom
    return w, rms, mom, mg


@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.9, True)])
def test_rmsprop_matches_tf1_update(dtype, rtol, momentum, centered):
    opt = sg.train.RMSPropOptimizer(0.01, decay=0.8, momentum=momentum, epsilon=1e-6,
                                    centered=centered)
    names = ["rms", "momentum"] + (["mg"] if centered else [])
    got, slots = _train(opt, dtype, 6, names)
    w, rms, mom, mg = _rmsprop_numpy(dtype, 6, 0.01, 0.8, momentum, 1e-6, centered)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, w, rtol=rtol)
    np.testing.assert_allclose(slots[0], rms, rtol=rtol)
    np.testing.assert_allclose(slots[1], mom, rtol=rtol)
    if centered:
        np.testing.assert_allclose(slots[2], mg, rtol=rtol)
    assert opt.get_slot_names() == sorted(names)


def test_rmsprop_defaults_are_tf1s():
    opt = sg.train.RMSPropOptimizer(0.001)
    assert (opt.decay, opt.momentum, opt.epsilon, opt.centered, opt.name) == \
        (0.9, 0.0, 1e-10, False, "RMSProp")
    got, _ = _train(opt, np.float64, 3)
    np.testing.assert_allclose(got, _rmsprop_numpy(np.float64, 3, 0.001, 0.9, 0.0, 1e-10, False)[0])


@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("initial", [0.1, 2.5])
def test_adagrad_matches_tf1_update(dtype, rtol, initial):
    opt = sg.train.AdagradOptimizer(0.2, initial_accumulator_value=initial)
    got, (accumulator,) = _train(opt, dtype, 5, ["accumulator"])
    w, acc = W0.astype(dtype), np.full(3, initial, dtype)
    for _ in range(5):
        g = _grad(w)
        acc = acc + g * g
        w = w - dtype(0.2) * g / np.sqrt(acc)
    np.testing.assert_allclose(got, w, rtol=rtol)
    np.testing.assert_allclose(accumulator, acc, rtol=rtol)
    assert opt.get_slot_names() == ["accumulator"]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_adagrad_refuses_a_non_positive_accumulator(bad):
    with pytest.raises(errors.InvalidArgumentError, match="initial_accumulator_value must be positive"):
        sg.train.AdagradOptimizer(0.1, initial_accumulator_value=bad)


@pytest.mark.parametrize("kwargs", [{"decay": 1.5}, {"momentum": -0.1}, {"epsilon": -1.0}])
def test_rmsprop_refuses_hyperparameters_out_of_range(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(errors.InvalidArgumentError, match=name):
        sg.train.RMSPropOptimizer(0.1, **kwargs)


@pytest.mark.parametrize("dtype,rtol", DTYPES)
def test_momentum_and_adam_slots_hold_their_accumulators(dtype, rtol):
    mom_opt = sg.train.MomentumOptimizer(0.05, 0.9)
    got, (accum,) = _train(mom_opt, dtype, 4, ["momentum"])
    w, acc = W0.astype(dtype), np.zeros(3, dtype)
    for _ in range(4):
        acc = dtype(0.9) * acc + _grad(w)
        w = w - dtype(0.05) * acc
    np.testing.assert_allclose(accum, acc, rtol=rtol)
    assert mom_opt.get_slot_names() == ["momentum"]

    adam = sg.train.AdamOptimizer(0.1)
    got, (m_got, v_got) = _train(adam, dtype, 4, ["m", "v"])
    w, m, v = W0.astype(dtype), np.zeros(3, dtype), np.zeros(3, dtype)
    for t in range(1, 5):
        g = _grad(w)
        m, v = dtype(0.9) * m + dtype(0.1) * g, dtype(0.999) * v + dtype(0.001) * g * g
        lr_t = dtype(0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
        w = w - lr_t * m / (np.sqrt(v) + dtype(1e-8))
    np.testing.assert_allclose(got, w, rtol=rtol * 10)
    np.testing.assert_allclose(m_got, m, rtol=rtol * 10)
    np.testing.assert_allclose(v_got, v, rtol=rtol * 10)
    assert adam.get_slot_names() == ["m", "v"]


def test_get_slot_is_none_for_an_unknown_slot_or_variable():
    opt = sg.train.MomentumOptimizer(0.1, 0.9)
    w, feed, loss = _problem(np.float64)
    other = sg.Variable(1.0, name="other")
    assert opt.get_slot_names() == []
    opt.minimize(loss, var_list=[w])
    assert opt.get_slot(w, "nope") is None
    assert opt.get_slot(other, "momentum") is None
    assert opt.get_slot(w, "momentum").shape == (3,)


def test_global_step_counts_steps_after_the_update():
    w, feed, loss = _problem(np.float64)
    step_var = sg.train.get_or_create_global_step()
    assert step_var is sg.train.get_global_step() is sg.train.get_or_create_global_step()
    assert (step_var.name, step_var.dtype, step_var.shape, step_var.trainable) == \
        ("global_step", np.int64, (), False)
    train = sg.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step_var)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for i in range(1, 4):
        assert sess.run(train, feed) == i
    assert sess.run(step_var) == 3
    w_np = W0.copy()
    for _ in range(3):
        w_np -= 0.1 * _grad(w_np)
    np.testing.assert_allclose(sess.run(w), w_np)


def test_global_step_lookup_rules():
    assert sg.train.get_global_step() is None
    with sg.name_scope("scope"):
        step = sg.train.create_global_step()
    assert step.name == "global_step"
    with pytest.raises(errors.InvalidArgumentError, match="already exists"):
        sg.train.create_global_step()
    g = sg.Graph()
    with g.as_default():
        named = sg.Variable(sg.constant(0, sg.int64), name="global_step", trainable=False)
        assert sg.train.get_global_step() is named
    g = sg.Graph()
    with g.as_default():
        sg.Variable(0.5, name="global_step")
        with pytest.raises(errors.InvalidArgumentError, match="integer"):
            sg.train.get_global_step()


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_drives_the_learning_rate(staircase):
    w, feed, loss = _problem(np.float64)
    step_var = sg.train.get_or_create_global_step()
    lr = sg.train.exponential_decay(sg.constant(0.2, sg.float64), step_var, 3, 0.5,
                                    staircase=staircase)
    assert lr.dtype == np.float64 and lr.shape == ()
    train = sg.train.GradientDescentOptimizer(lr).minimize(loss, global_step=step_var)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    w_np = W0.copy()
    for t in range(7):
        exponent = t // 3 if staircase else t / 3
        np.testing.assert_allclose(sess.run(lr), 0.2 * 0.5 ** exponent)
        sess.run(train, feed)
        w_np -= 0.2 * 0.5 ** exponent * _grad(w_np)
    np.testing.assert_allclose(sess.run(w), w_np)


def test_exponential_decay_in_float32_with_tensor_arguments():
    step = sg.placeholder(sg.int32, (), name="step")
    rate = sg.placeholder(sg.float64, (), name="rate")
    lr = sg.train.exponential_decay(sg.constant(1.0, sg.float32), step, sg.constant(4, sg.int64), rate)
    assert lr.dtype == np.float32
    got = sg.Session().run(lr, {step: 6, rate: 0.25})
    np.testing.assert_allclose(got, np.float32(0.25 ** 1.5), rtol=1e-6)


def test_exponential_decay_needs_a_global_step():
    with pytest.raises(errors.InvalidArgumentError, match="global_step is required"):
        sg.train.exponential_decay(0.1, None, 10, 0.9)


def test_minimize_accepts_tf1_arguments():
    w, feed, loss = _problem(np.float64)
    opt = sg.train.GradientDescentOptimizer(0.1, False, "GD")
    train = opt.minimize(loss, gate_gradients=opt.GATE_NONE, aggregation_method=None,
                         colocate_gradients_with_ops=True, grad_loss=sg.constant(2.0, sg.float64))
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    sess.run(train, feed)
    np.testing.assert_allclose(sess.run(w), W0 - 0.1 * 2.0 * _grad(W0))
