"""TF1's names beside ours: reduce_* with old and new arguments, pow, arg_max, to_*, init."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph.errors import InvalidArgumentError

X = np.array([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]])


def _run(*fetches, feed=None):
    return tf.Session().run(list(fetches), feed)


@pytest.mark.parametrize("name,ref", [
    ("reduce_sum", np.sum), ("reduce_mean", np.mean), ("reduce_max", np.max),
    ("reduce_min", np.min), ("reduce_prod", np.prod)])
def test_reductions_take_axis_keepdims_and_the_old_names(name, ref):
    reduce = getattr(tf, name)
    x = tf.constant(X)
    got = _run(reduce(x), reduce(x, 1), reduce(x, axis=[0, 1]), reduce(x, 0, keepdims=True),
               reduce(x, reduction_indices=[1], keep_dims=True), reduce(x, -1, True))
    want = [ref(X), ref(X, axis=1), ref(X, axis=(0, 1)), ref(X, axis=0, keepdims=True),
            ref(X, axis=1, keepdims=True), ref(X, axis=-1, keepdims=True)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
        assert np.shape(g) == np.shape(w)


def test_old_and_new_argument_names_together_are_an_error():
    x = tf.constant(X)
    with pytest.raises(InvalidArgumentError, match="reduce_sum: give axis or reduction_indices"):
        tf.reduce_sum(x, axis=0, reduction_indices=0)
    with pytest.raises(InvalidArgumentError, match="reduce_max: give keepdims or keep_dims"):
        tf.reduce_max(x, keepdims=True, keep_dims=True)


def test_reduce_mean_of_integers_truncates_as_tf1():
    got = _run(tf.reduce_mean(tf.constant(np.array([1, 2, 4], np.int32))),
               tf.reduce_mean(tf.constant(np.array([[-1, -2], [3, 4]], np.int64)), 1))
    assert got[0] == 2 and got[0].dtype == np.int32
    np.testing.assert_array_equal(got[1], [-1, 3])  # -1.5 truncates toward zero, as TF1's C++


def test_reduce_any_and_all():
    b = np.array([[True, False], [True, True], [False, False]])
    got = _run(tf.reduce_any(b, 1), tf.reduce_all(b, 1), tf.reduce_any(b), tf.reduce_all(b, 0,
               keep_dims=True), tf.reduce_all(np.zeros((0, 2), bool), 0),
               tf.reduce_any(np.zeros((0, 2), bool), 0))
    want = [b.any(1), b.all(1), b.any(), b.all(0, keepdims=True), [True, True], [False, False]]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert np.asarray(g).dtype == bool
    with pytest.raises(InvalidArgumentError, match="reduce_any: needs a bool input"):
        tf.reduce_any(tf.constant(X))


def test_reduce_logsumexp_is_stable_and_its_gradient_is_softmax():
    big = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    with np.errstate(divide="ignore"):  # log(0) = -inf, the right answer for all -inf
        got = _run(tf.reduce_logsumexp(big, 1))[0]
    np.testing.assert_allclose(got, [1000 + np.log(2), -np.inf, np.inf])
    x = tf.placeholder(tf.float64, (2, 3))
    y = tf.reduce_logsumexp(x, axis=1, keepdims=True)
    (g,) = tf.gradients(tf.reduce_sum(y * [[1.0], [2.0]]), [x])
    value, grad = _run(y, g, feed={x: X})
    e = np.exp(X - X.max(1, keepdims=True))
    np.testing.assert_allclose(value, np.log(np.exp(X).sum(1, keepdims=True)), rtol=1e-12)
    np.testing.assert_allclose(grad, e / e.sum(1, keepdims=True) * [[1.0], [2.0]], rtol=1e-12)


@pytest.mark.parametrize("value", [
    [2.0, 0.0, 3.0, -1.0],      # one zero: only it gets a gradient (the product of the others)
    [2.0, 0.0, 3.0, 0.0],       # two zeros: no gradient at all
    [2.0, 0.5, 3.0, -1.0]])     # no zero: prod / x
def test_reduce_prod_gradient_at_zeros_matches_finite_differences(value):
    value = np.array(value)
    x = tf.placeholder(tf.float64, (4,))
    (g,) = tf.gradients(tf.reduce_prod(x), [x])
    grad = _run(g, feed={x: value})[0]
    want = [np.prod(np.delete(value, i)) for i in range(4)]
    np.testing.assert_allclose(grad, want, rtol=1e-12, atol=0)
    tf.testing.gradcheck(tf.reduce_prod(x), [x], {x: value})


def test_pow_arg_max_and_casts():
    m = np.array([[1, 9, 3], [7, 2, 8]])
    got = _run(tf.pow(tf.constant([2.0, 3.0]), 2.0), tf.arg_max(m, 1), tf.arg_min(m, 0),
               tf.arg_max(m, dimension=0), tf.argmax(m, dimension=1, output_type=tf.int32),
               tf.to_float(m), tf.to_double(m), tf.to_int32(np.array([1.7, -1.7])),
               tf.to_int64(np.array([2.5])))
    np.testing.assert_array_equal(got[0], [4.0, 9.0])
    np.testing.assert_array_equal(got[1], [1, 2])
    np.testing.assert_array_equal(got[2], [0, 1, 0])
    np.testing.assert_array_equal(got[3], [1, 0, 1])
    assert got[4].dtype == np.int32 and got[4].tolist() == [1, 2]
    assert got[5].dtype == np.float32 and got[6].dtype == np.float64
    assert got[7].dtype == np.int32 and got[7].tolist() == [1, -1]
    assert got[8].dtype == np.int64 and got[8].tolist() == [2]


def test_argmax_and_argmin_default_to_axis_0_as_tf1():
    m = np.array([[1.0, 9.0, 3.0], [7.0, 2.0, 8.0]])
    got = _run(tf.argmax(m), tf.argmin(m), tf.argmax(m, None), tf.argmax(m, 1))
    np.testing.assert_array_equal(got[0], m.argmax(0))
    np.testing.assert_array_equal(got[1], m.argmin(0))
    np.testing.assert_array_equal(got[2], m.argmax(0))
    np.testing.assert_array_equal(got[3], m.argmax(1))
    with pytest.raises(InvalidArgumentError, match="argmax: give axis or dimension"):
        tf.argmax(m, 0, dimension=1)


def test_initialize_all_variables_initialises_them():
    v = tf.Variable(np.array([1.0, 2.0]))
    w = tf.Variable(np.array(3.0))
    sess = tf.Session()
    sess.run([tf.initialize_all_variables(), tf.local_variables_initializer()])
    assert sess.run(v).tolist() == [1.0, 2.0] and sess.run(w) == 3.0
