"""TF1's control_flow_ops_py_test.py restated where staticgraph covers its subject: cond and
while_loop basics, and gradients through them, with the values TF1's tests expect."""
import numpy as np
import pytest

import staticgraph as tf


def _run(*fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(list(fetches), feed)


def test_cond_basic():
    x = tf.constant(10)
    r = tf.cond(tf.less(1, 0), lambda: tf.add(x, 1), lambda: tf.subtract(x, 1))
    assert _run(r) == [9]


def test_cond_on_fed_predicate_and_gradient():
    p = tf.placeholder(tf.bool, [])
    x = tf.constant(10.0)
    r = tf.cond(p, lambda: tf.multiply(x, 2.0), lambda: tf.multiply(x, 3.0))
    g, = tf.gradients(r, [x])
    assert _run(r, g, feed={p: True}) == [20.0, 2.0]
    assert _run(r, g, feed={p: False}) == [30.0, 3.0]


def test_cond_gradient_of_variable():
    v = tf.Variable(7.0)
    r = tf.cond(tf.less(1, 0), lambda: v * v, lambda: v * 3.0)
    g, = tf.gradients(r, [v])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(g) == 3.0


def test_while_loop_sum_of_first_n():
    n = tf.constant(0)
    c = lambda x: tf.less(x, 10000)
    b = lambda x: tf.add(x, 1)
    assert _run(tf.while_loop(c, b, [n], parallel_iterations=20)) == [10000]


def test_while_loop_two_variables():
    i, s = tf.constant(0), tf.constant(0)
    _, total = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), [i, s])
    assert _run(total) == [0 + 1 + 2 + 3 + 4]


def test_while_loop_gradient_of_square():
    v = tf.constant(2.0, name="v")
    c = lambda v: tf.less(v, 100.0)
    b = tf.square
    r = tf.while_loop(c, b, [v], parallel_iterations=1)
    g, = tf.gradients(r, v)
    assert _run(r, g) == [256.0, 1024.0]  # v^8 and 8 v^7 at v = 2


def test_while_loop_gradient_of_mul_by_outer_tensor():
    v = tf.constant(2.0, name="v")
    x = tf.constant(3.0, name="x")
    r = tf.while_loop(lambda v: v < 50.0, lambda v: v * x, [v])
    gv, gx = tf.gradients(r, [v, x])
    # 2 -> 6 -> 18 -> 54: r = v x^3, dr/dv = x^3, dr/dx = 3 v x^2
    assert _run(r, gv, gx) == [54.0, 27.0, 54.0]


def _check_sine_loop(body_result):
    """sin applied four times in a loop over [i, y]; the body returns `body_result` of both."""
    x = tf.placeholder(tf.float64, [3])
    i0 = tf.constant(0)
    _, y = tf.while_loop(lambda i, y: i < 4, lambda i, y: body_result((i + 1, tf.sin(y))),
                         [i0, x])
    g, = tf.gradients(tf.reduce_sum(y), [x])
    xs = np.array([0.1, 0.5, 1.0])
    got_y, got_g = _run(y, g, feed={x: xs})
    ys, dys = xs.copy(), np.ones(3)
    for _ in range(4):
        dys, ys = dys * np.cos(ys), np.sin(ys)
    np.testing.assert_allclose(got_y, ys)
    np.testing.assert_allclose(got_g, dys)


def test_while_loop_gradient_with_fixed_trip_count():
    _check_sine_loop(list)


def test_while_loop_body_returning_a_tuple_for_a_list():
    _check_sine_loop(tuple)


def test_cond_inside_while_loop():
    r = tf.while_loop(lambda i: i < 10,
                      lambda i: tf.cond(tf.equal(i % 2, 0), lambda: i + 3, lambda: i + 1), [0])
    assert _run(r) == [11]  # 0 -> 3 -> 4 -> 7 -> 8 -> 11
