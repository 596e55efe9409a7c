"""The examples in TF1's docstrings of `tf.cond`, `tf.while_loop`, `tf.gradients` and
`tf.stop_gradient` (r1.15), run as written and checked against the values the docs state."""
import numpy as np

import staticgraph as tf


def test_cond_example():
    x, y = tf.constant(2), tf.constant(5)

    def f1():
        return tf.multiply(x, 17)

    def f2():
        return tf.add(y, 23)

    r = tf.cond(tf.less(x, y), f1, f2)
    with tf.Session() as sess:
        assert sess.run(r) == 34  # x < y: f1 runs


def test_while_loop_examples():
    i = tf.constant(0)
    c = lambda i: tf.less(i, 10)
    b = lambda i: tf.add(i, 1)
    r = tf.while_loop(c, b, [i])  # one loop variable: a bare tensor back, as in TF1

    n = 10
    x = tf.constant(list(range(n)))
    c2 = lambda i, x: i < n
    b2 = lambda i, x: (i + 1, x + 1)
    i2, out = tf.while_loop(c2, b2, (0, x))

    with tf.Session() as sess:
        assert sess.run(r) == 10
        final_i, final_x = sess.run([i2, out])
    assert final_i == 10
    np.testing.assert_array_equal(final_x, np.arange(n) + 10)


def test_while_loop_shape_invariants_example():
    i0 = tf.constant(0)
    m0 = tf.ones([2, 2])
    c = lambda i, m: i < 10
    b = lambda i, m: [i + 1, tf.concat([m, m], axis=0)]
    _, m = tf.while_loop(c, b, loop_vars=[i0, m0],
                         shape_invariants=[i0.get_shape(), tf.TensorShape([None, 2])])
    with tf.Session() as sess:
        assert sess.run(m).shape == (2 * 2 ** 10, 2)


def test_gradients_stop_gradients_example():
    a = tf.constant(0.)
    b = 2 * a
    g = tf.gradients(a + b, [a, b], stop_gradients=[a, b])
    with tf.Session() as sess:
        assert sess.run(g) == [1.0, 1.0]  # the total derivatives would be [3.0, 1.0]


def test_stop_gradient_example():
    a = tf.constant(0.)
    b = tf.stop_gradient(2 * a)
    g = tf.gradients(a + b, [a, b])
    with tf.Session() as sess:
        assert sess.run(g) == [1.0, 1.0]
