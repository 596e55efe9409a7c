"""`Tensor.get_shape()`, `Tensor.shape`, `set_shape` and `tf.TensorShape` / `tf.Dimension` with
TF1's semantics (tensorflow/python/framework/tensor_shape_test.py, restated)."""
import pickle

import numpy as np
import pytest

import staticgraph as tf


def test_shape_is_a_tuple_with_tf1s_methods():
    x = tf.placeholder(tf.float32, [None, 784])
    s = x.get_shape()
    assert s == x.shape == (None, 784) and isinstance(s, tuple) and isinstance(s, tf.TensorShape)
    assert s.ndims == s.rank == 2 and len(s) == 2 and s.as_list() == [None, 784]
    assert s[1].value == 784 and s[1] == 784 and int(s[-1]) == 784 and s[0] is None
    assert [d if d is None else d.value for d in s] == [None, 784]
    assert s.dims == [None, 784] and s.dims[1].value == 784
    assert s[1:] == (784,) and isinstance(s[1:], tf.TensorShape)
    assert not s.is_fully_defined() and s.num_elements() is None
    assert tf.constant(np.zeros((2, 3))).get_shape().num_elements() == 6
    assert tf.TensorShape([]).num_elements() == 1 and tf.TensorShape([]).is_fully_defined()
    assert np.zeros(tf.TensorShape([2, 3])).shape == (2, 3)
    assert pickle.loads(pickle.dumps(s)) == s and hash(s) == hash((None, 784))


def test_dimension():
    assert tf.Dimension(3).value == 3 and tf.Dimension(3) == 3
    assert tf.Dimension(None) is None  # an unknown dim is None
    assert tf.dimension_value(tf.Dimension(4)) == 4 and tf.dimension_value(None) is None
    assert tf.Dimension(3).is_compatible_with(None) and not tf.Dimension(3).is_compatible_with(4)
    with pytest.raises(ValueError):
        tf.Dimension(-1)
    with pytest.raises(TypeError):
        tf.Dimension(2.5)


def test_unknown_rank():
    unknown = tf.TensorShape(None)
    assert unknown.ndims is None and unknown.dims is None and not unknown.is_fully_defined()
    assert unknown.num_elements() is None and unknown != () and unknown == tf.TensorShape(None)
    assert tf.TensorShape([]) != unknown and () != unknown
    for refused in (len, list, lambda s: s.as_list()):
        with pytest.raises(ValueError):
            refused(unknown)
    x = tf.placeholder(tf.float32)
    assert x.shape is None and x.get_shape() == unknown and repr(x.get_shape()) == "TensorShape(None)"
    assert pickle.loads(pickle.dumps(unknown)) == unknown


def test_compatibility_merge_and_concatenate():
    s = tf.TensorShape([None, 3])
    assert s.is_compatible_with([4, 3]) and s.is_compatible_with(tf.TensorShape(None))
    assert not s.is_compatible_with([4, 2]) and not s.is_compatible_with([3])
    assert s.merge_with([4, None]) == (4, 3)
    assert tf.TensorShape(None).merge_with(s) == s and s.merge_with(tf.TensorShape(None)) == s
    with pytest.raises(ValueError, match="incompatible"):
        s.merge_with([4, 2])
    with pytest.raises(ValueError, match="incompatible"):
        s.assert_is_compatible_with([1, 2, 3])
    s.assert_is_compatible_with([7, 3])
    assert s.concatenate([5]) == (None, 3, 5) and s + tf.TensorShape([1]) == (None, 3, 1)
    assert s.concatenate(tf.TensorShape(None)).ndims is None
    assert tf.TensorShape(3) == (3,)
    assert s.with_rank(2) == s and s.with_rank_at_least(1) == s
    with pytest.raises(ValueError):
        s.with_rank(3)
    assert s.most_specific_compatible_shape([4, 3]) == (None, 3)


def test_set_shape_refines_a_placeholder_and_feeds_are_checked():
    x = tf.placeholder(tf.float32)
    x.set_shape([None, 3])
    assert x.shape == (None, 3) and (x * 2.0).shape == (None, 3)
    x.set_shape(tf.TensorShape([2, None]))
    assert x.shape == (2, 3)
    with pytest.raises(ValueError, match="incompatible"):
        x.set_shape([2, 4])
    with tf.Session() as sess:
        assert sess.run(tf.reduce_sum(x), {x: np.ones((2, 3))}) == 6.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(x, {x: np.ones((3, 3))})
    y = tf.exp(tf.placeholder(tf.float32))
    y.set_shape(tf.TensorShape(None))  # claims nothing: fine
    with pytest.raises(tf.errors.UnimplementedError, match="reshape"):
        y.set_shape([3])


def test_shapes_given_as_tensor_shapes():
    x = tf.placeholder(tf.float32, tf.TensorShape([None, 4]))
    assert x.shape == (None, 4) and tf.placeholder(tf.float32, tf.TensorShape(None)).shape is None
    z = tf.zeros(tf.TensorShape([2, 4]))
    assert tf.reshape(z, [-1] + x.get_shape().as_list()[1:]).shape == (2, 4)
    assert tf.reshape(z, x.get_shape()[1:] + [2]).shape == (4, 2)
    assert tf.ones(x.get_shape()[1:]).shape == (4,)


def test_shape_invariants_as_tensor_shapes():
    i0, m0 = tf.constant(0), tf.ones([2, 2])
    _, m = tf.while_loop(lambda i, m: i < 3, lambda i, m: [i + 1, tf.concat([m, m], axis=0)],
                         [i0, m0], shape_invariants=[i0.get_shape(), tf.TensorShape([None, 2])])
    assert m.shape == (None, 2)
    v = tf.while_loop(lambda v: tf.size(v) < 8, lambda v: tf.concat([v, v], 0),
                      tf.constant([1.0]), shape_invariants=tf.TensorShape([None]))
    with tf.Session() as sess:
        assert sess.run(m).shape == (16, 2) and sess.run(v).shape == (8,)
