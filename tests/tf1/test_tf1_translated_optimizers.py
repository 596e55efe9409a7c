"""TF1's optimizer unit tests restated (python/training/gradient_descent_test.py, momentum_test.py,
adam_test.py, rmsprop_test.py, adagrad_test.py): var0 = [1, 2] and var1 = [3, 4] with constant
gradients [0.1, 0.1] and [0.01, 0.01], stepped with `apply_gradients`, against the values those
tests expect (their closed forms, or their numpy update rules)."""
import numpy as np
import pytest

import staticgraph as tf

GRADS = (np.array([0.1, 0.1]), np.array([0.01, 0.01]))


def _run(optimizer, steps, dtype=np.float32):
    var0 = tf.Variable(np.array([1.0, 2.0], dtype))
    var1 = tf.Variable(np.array([3.0, 4.0], dtype))
    grads = [tf.constant(g.astype(dtype)) for g in GRADS]
    update = optimizer.apply_gradients(zip(grads, [var0, var1]))
    history = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(update)
            history.append(sess.run([var0, var1]))
    return history


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_descent_basic(dtype):
    (v0, v1), = _run(tf.train.GradientDescentOptimizer(3.0), 1, dtype)
    np.testing.assert_allclose(v0, [1.0 - 3.0 * 0.1, 2.0 - 3.0 * 0.1], rtol=1e-6)
    np.testing.assert_allclose(v1, [3.0 - 3.0 * 0.01, 4.0 - 3.0 * 0.01], rtol=1e-6)
    assert v0.dtype == dtype


def test_gradient_descent_minimize_with_global_step():
    var0 = tf.Variable([[1.0, 2.0]], dtype=tf.float64)
    var1 = tf.Variable([3.0], dtype=tf.float64)
    x = tf.constant([[4.0], [5.0]], dtype=tf.float64)
    loss = tf.matmul(var0, x) + var1
    global_step = tf.Variable(0, trainable=False)
    step = tf.train.GradientDescentOptimizer(1.0).minimize(loss, global_step=global_step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        np.testing.assert_allclose(sess.run(var0), [[1.0 - 4.0, 2.0 - 5.0]])
        np.testing.assert_allclose(sess.run(var1), [3.0 - 1.0])
        assert sess.run(global_step) == 1


def test_momentum_basic():
    (a0, a1), (b0, b1) = _run(tf.train.MomentumOptimizer(learning_rate=2.0, momentum=0.9), 2)
    np.testing.assert_allclose(a0, [1.0 - 0.1 * 2.0, 2.0 - 0.1 * 2.0], rtol=1e-6)
    np.testing.assert_allclose(a1, [3.0 - 0.01 * 2.0, 4.0 - 0.01 * 2.0], rtol=1e-6)
    np.testing.assert_allclose(b0, [1.0 - 0.1 * 2.0 - (0.9 * 0.1 + 0.1) * 2.0,
                                    2.0 - 0.1 * 2.0 - (0.9 * 0.1 + 0.1) * 2.0], rtol=1e-6)
    np.testing.assert_allclose(b1, [2.98 - (0.9 * 0.01 + 0.01) * 2.0,
                                    3.98 - (0.9 * 0.01 + 0.01) * 2.0], rtol=1e-6)


def test_momentum_nesterov():
    var, accum, history = np.array([1.0, 2.0]), np.zeros(2), []
    for _ in range(3):  # momentum_test's _update_nesterov_momentum_numpy
        accum = accum * 0.9 + GRADS[0]
        var = var - 2.0 * (GRADS[0] + 0.9 * accum)
        history.append(var)
    got = _run(tf.train.MomentumOptimizer(2.0, 0.9, use_nesterov=True), 3, np.float64)
    np.testing.assert_allclose([h[0] for h in got], history, rtol=1e-6)


def _adam_numpy(param, g, t, m, v, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return param - lr_t * m / (np.sqrt(v) + epsilon), m, v


def test_adam_basic():
    got = _run(tf.train.AdamOptimizer(), 3, np.float64)
    expected, state = [], [(np.array([1.0, 2.0]), 0, 0), (np.array([3.0, 4.0]), 0, 0)]
    for t in range(1, 4):
        state = [_adam_numpy(p, g, t, m, v) for (p, m, v), g in zip(state, GRADS)]
        expected.append([s[0] for s in state])
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-6)


def test_adam_slots():
    var0 = tf.Variable([1.0, 2.0])
    opt = tf.train.AdamOptimizer()
    opt.apply_gradients([(tf.constant([0.1, 0.1]), var0)])
    assert set(opt.get_slot_names()) == {"m", "v"}
    assert opt.get_slot(var0, "m").shape == (2,)


def test_rmsprop_basic():
    # rmsprop_test's numpy rule; TF1 starts the mean square at ones
    lr, decay, momentum, epsilon = 2.0, 0.9, 0.0, 1e-10
    state = [(np.array([1.0, 2.0]), np.ones(2), np.zeros(2)),
             (np.array([3.0, 4.0]), np.ones(2), np.zeros(2))]
    expected = []
    for _ in range(4):
        new = []
        for (p, ms, mom), g in zip(state, GRADS):
            ms = ms * decay + g * g * (1 - decay)
            mom = mom * momentum + lr * g / np.sqrt(ms + epsilon)
            new.append((p - mom, ms, mom))
        state = new
        expected.append([s[0] for s in state])
    got = _run(tf.train.RMSPropOptimizer(lr, decay=decay, momentum=momentum, epsilon=epsilon),
               4, np.float64)
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-6)


def test_adagrad_basic():
    got = _run(tf.train.AdagradOptimizer(3.0, initial_accumulator_value=0.1), 3)
    np.testing.assert_allclose(got[-1][0], [-1.6026098728179932, -0.6026098728179932],
                               rtol=1e-5)
    np.testing.assert_allclose(got[-1][1], [2.715679168701172, 3.715679168701172], rtol=1e-5)
