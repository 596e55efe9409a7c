"""TF1's gradients_test.py restated where staticgraph covers its subject: stop_gradients,
grad_ys, unconnected gradients, gradients of a sum of uses (aggregation) and of ops whose
gradient is stopped, with the values TF1's tests expect."""
import numpy as np
import pytest

import staticgraph as tf


def _run(*fetches):
    with tf.Session() as sess:
        return sess.run(list(fetches))


def test_stop_gradients_on_intermediate():
    a = tf.constant(1.0)
    b = tf.constant(1.0)
    c = tf.add(a, b)
    d = tf.add(a, c)
    # stopping at c: d's gradient reaches a only directly
    ga, = _run(*tf.gradients(d, [a], stop_gradients=[c]))
    assert ga == 1.0
    gb = tf.gradients(d, [b], stop_gradients=[c])
    assert gb == [None]


def test_stop_gradients_on_inputs_and_outputs():
    a = tf.constant(0.)
    b = 2 * a
    assert _run(*tf.gradients(a + b, [a, b], stop_gradients=[a, b])) == [1.0, 1.0]
    assert _run(*tf.gradients(a + b, [a, b])) == [3.0, 1.0]


def test_grad_ys():
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    y = x * x
    w = tf.constant([10.0, 100.0], dtype=tf.float64)
    g, = _run(*tf.gradients(y, [x], grad_ys=[w]))
    np.testing.assert_allclose(g, 2 * np.array([1.0, 2.0]) * [10.0, 100.0])


def test_grad_ys_of_wrong_shape_is_refused():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(Exception, match="shape|grad_ys"):
        tf.gradients(x * x, [x], grad_ys=[tf.constant([1.0, 2.0, 3.0])])


def test_unconnected_gradients():
    x, y = tf.constant(1.0), tf.constant(3.0)
    z = y * 2
    assert tf.gradients(z, [x]) == [None]
    zero, = _run(*tf.gradients(z, [x], unconnected_gradients="zero"))
    assert zero == 0.0


def test_aggregation_of_several_uses():
    x = tf.constant(3.0, dtype=tf.float64)
    y = x * x + tf.sin(x) + x
    g, = _run(*tf.gradients(y, [x], aggregation_method=None, gate_gradients=True))
    np.testing.assert_allclose(g, 2 * 3.0 + np.cos(3.0) + 1)


def test_gradients_of_several_ys_add_up():
    x = tf.constant(2.0, dtype=tf.float64)
    g, = _run(*tf.gradients([x * x, 3 * x], [x]))
    assert g == 2 * 2.0 + 3.0


def test_stop_gradient_op():
    x = tf.constant(2.0)
    y = x * tf.stop_gradient(x * 5)
    assert _run(*tf.gradients(y, [x])) == [10.0]


def test_gradient_of_integer_input_is_none():
    i = tf.constant(3)
    x = tf.constant(2.0)
    y = tf.cast(i, tf.float32) * x
    assert tf.gradients(y, [i]) == [None]


def test_gradients_do_not_flow_through_integers():
    # Since TF 1.9 tf.gradients stops at integer tensors: an integer x or y gives None, and a
    # float x reached only through an integer cast too; the float path beside them still works.
    i = tf.constant(3)
    x = tf.constant(2.0)
    y = tf.cast(tf.cast(x, tf.int32) * i, tf.float32) + x * x
    gi, gx = tf.gradients(y, [i, x])
    assert gi is None and _run(gx) == [4.0]
    assert tf.gradients(i * 2, [i]) == [None]
    assert tf.gradients(tf.cast(x, tf.int32), [x]) == [None]


def test_second_derivative():
    x = tf.constant(2.0, dtype=tf.float64)
    y = x ** 3
    dy, = tf.gradients(y, [x])
    d2y, = tf.gradients(dy, [x])
    assert _run(dy, d2y) == [12.0, 12.0]
    hess, = tf.hessians(tf.reduce_sum(tf.constant([1.0, 2.0], tf.float64) * x ** 2), [x])
    assert _run(hess)[0] == 6.0
