"""`%`, `//`, tf.floormod / mod / floordiv / truncatemod: TF1's values, errors and gradients."""
import numpy as np
import pytest

import staticgraph as tf

X = np.array([7, -7, 7, -7, 0, 5])
Y = np.array([3, 3, -3, -3, 4, 5])


def _run(*fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(list(fetches), feed)


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64, tf.float32, tf.float64])
def test_floor_mod_and_div_follow_python(dtype):
    x, y = tf.constant(X, dtype), tf.constant(Y, dtype)
    mod, floordiv, trunc = _run(x % y, x // y, tf.truncatemod(x, y))
    assert mod.dtype == dtype and floordiv.dtype == dtype
    np.testing.assert_array_equal(mod, [a % b for a, b in zip(X, Y)])       # sign of y
    np.testing.assert_array_equal(floordiv, [a // b for a, b in zip(X, Y)])
    np.testing.assert_array_equal(trunc, [np.fmod(a, b) for a, b in zip(X, Y)])  # sign of x


def test_tf1_names_and_python_numbers():
    assert tf.mod is tf.floormod and tf.math.floormod is tf.floormod and tf.math.mod is tf.mod
    assert tf.floor_div is tf.floordiv
    x = tf.constant(7)
    assert _run(x % 4, 9 % x, tf.math.floormod(x, -2), 15 // x) == [3, 2, -1, 2]
    assert _run(tf.constant(5.5) % 2.0) == [1.5]


def test_integer_division_by_zero_fails_the_run():
    i = tf.placeholder(tf.int32, [2], name="i")
    for result in (7 % i, 7 // i, tf.truncatemod(7, i)):
        with pytest.raises(tf.errors.InvalidArgumentError, match="integer division by zero"):
            _run(result, feed={i: [1, 0]})
    with np.errstate(invalid="ignore"):
        assert np.isnan(_run(tf.constant(1.0) % 0.0)[0])  # floats give NaN, as numpy and TF1


def test_floormod_gradient_is_tf1s():
    # d(x mod y)/dx = 1, d(x mod y)/dy = -floor(x / y); // and truncatemod have none.
    xs, ys = np.array([7.5, -7.5, 2.0]), np.array([2.0, 2.0, -0.75])
    x, y = tf.constant(xs), tf.constant(ys)
    gx, gy = tf.gradients(tf.reduce_sum(x % y), [x, y])
    got_x, got_y = _run(gx, gy)
    np.testing.assert_array_equal(got_x, np.ones(3))
    np.testing.assert_array_equal(got_y, -np.floor(xs / ys))
    assert tf.gradients(x // y + tf.truncatemod(x, y), [x, y]) == [None, None]
    (tangent,) = _run(tf.jvp([x % y], [x, y], [np.ones(3), np.ones(3)])[0])
    np.testing.assert_array_equal(tangent, 1 - np.floor(xs / ys))


def test_floormod_batches_elementwise():
    xs = np.array([[5.0, -5.0], [7.5, -1.0]])
    batched = tf.vmap(lambda row: row % tf.constant([2.0, 3.0], tf.float64))(tf.constant(xs))
    np.testing.assert_array_equal(_run(batched)[0], np.remainder(xs, [2.0, 3.0]))
