"""tf.nn: values against numpy, gradients against finite differences in float64, TF1's errors."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(5)
Z = RNG.uniform(-3, 3, (4, 5))
ONE_HOT = np.eye(5)[[0, 3, 4, 1]]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _check(build, ref, value=Z):
    """build(x) equals ref(value), and its gradient matches finite differences, in float64."""
    x = tf.placeholder(tf.float64, value.shape, name="x")
    y = build(x)
    np.testing.assert_allclose(tf.Session().run(y, {x: value}), ref(value), rtol=1e-10, atol=1e-12)
    tf.testing.gradcheck(y, [x], {x: value})


@pytest.mark.parametrize("name,ref", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("relu6", lambda x: np.clip(x, 0, 6)),
    ("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    ("softplus", lambda x: np.log1p(np.exp(x))),
    ("sigmoid", _sigmoid),
    ("tanh", np.tanh),
    ("softmax", _softmax),
    ("log_softmax", lambda x: np.log(_softmax(x)))])
def test_activations(name, ref):
    _check(getattr(tf.nn, name), ref, Z * 3)


def test_softmax_takes_axis_and_the_old_dim():
    _check(lambda x: tf.nn.softmax(x, dim=0), lambda x: _softmax(x, 0))
    _check(lambda x: tf.nn.log_softmax(x, axis=0), lambda x: np.log(_softmax(x, 0)))


def test_activation_derivatives_at_their_kinks_are_tf1s():
    x = tf.placeholder(tf.float64, (5,))
    at = np.array([0.0, 6.0, -1.0, 3.0, 7.0])
    fetches = [tf.gradients(tf.reduce_sum(f(x)), [x])[0] for f in (tf.nn.relu, tf.nn.relu6, tf.nn.elu)]
    relu, relu6, elu = tf.Session().run(fetches, {x: at})
    np.testing.assert_array_equal(relu, [0, 1, 0, 1, 1])
    np.testing.assert_array_equal(relu6, [0, 0, 0, 1, 0])     # 1 only on (0, 6)
    np.testing.assert_allclose(elu, [1, 1, np.exp(-1), 1, 1])  # elu'(0) = 1


def test_elu_and_softplus_do_not_overflow():
    got = tf.Session().run([tf.nn.elu(np.array([800.0, -800.0])), tf.nn.softplus(np.array([800.0, -800.0]))])
    np.testing.assert_allclose(got[0], [800.0, -1.0])
    np.testing.assert_allclose(got[1], [800.0, 0.0])


def test_softmax_cross_entropy_v2_differentiates_labels_too():
    labels = _softmax(RNG.normal(size=Z.shape))
    ref = lambda l, z: -(l * np.log(_softmax(z))).sum(-1)  # noqa: E731
    _check(lambda z: tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=z),
           lambda z: ref(labels, z))
    _check(lambda l: tf.nn.softmax_cross_entropy_with_logits_v2(labels=l, logits=Z),
           lambda l: ref(l, Z), labels)
    _check(lambda z: tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels.T, logits=z, dim=0),
           lambda z: -(labels.T * np.log(_softmax(z, 0))).sum(0), Z.T)


def test_softmax_cross_entropy_v1_holds_labels_constant():
    l = tf.placeholder(tf.float64, Z.shape)
    z = tf.placeholder(tf.float64, Z.shape)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=l, logits=z))
    g_l, g_z = tf.gradients(loss, [l, z])
    assert g_l is None
    value, grad = tf.Session().run([loss, g_z], {l: ONE_HOT, z: Z})
    np.testing.assert_allclose(value, -(ONE_HOT * np.log(_softmax(Z))).sum(-1).mean(), rtol=1e-12)
    np.testing.assert_allclose(grad, (_softmax(Z) - ONE_HOT) / 4, rtol=1e-10)


@pytest.mark.parametrize("fn", [tf.nn.softmax_cross_entropy_with_logits,
                                tf.nn.sparse_softmax_cross_entropy_with_logits,
                                tf.nn.sigmoid_cross_entropy_with_logits])
def test_losses_need_named_labels_and_logits(fn):
    with pytest.raises(InvalidArgumentError, match="Only call .* with named arguments"):
        fn(ONE_HOT, Z)
    with pytest.raises(InvalidArgumentError, match="both labels and logits must be provided"):
        fn(logits=Z)


def test_sparse_softmax_cross_entropy():
    labels = np.array([0, 3, 4, 1])
    _check(lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z),
           lambda z: -np.log(_softmax(z))[np.arange(4), labels])
    with pytest.raises(ShapeError, match="labels of shape"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ONE_HOT.astype(int), logits=tf.constant(Z))


def test_sigmoid_cross_entropy_is_stable_and_exact_at_zero():
    labels = RNG.uniform(0, 1, Z.shape)
    naive = lambda x: -labels * np.log(_sigmoid(x)) - (1 - labels) * np.log(1 - _sigmoid(x))  # noqa: E731
    _check(lambda x: tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x), naive)
    x = tf.placeholder(tf.float64, (4,))
    z = np.array([0.0, 1.0, 1.0, 0.0])
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    (g,) = tf.gradients(tf.reduce_sum(loss), [x])
    value, grad = tf.Session().run([loss, g], {x: np.array([0.0, 0.0, -1000.0, 1000.0])})
    np.testing.assert_allclose(value, [np.log(2), np.log(2), 1000.0, 1000.0])
    np.testing.assert_allclose(grad, [0.5, -0.5, -1.0, 1.0])  # sigmoid(x) - z, also at x = 0
    with pytest.raises(InvalidArgumentError, match="must have the same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=np.ones(3), logits=tf.constant(np.ones((1, 3))))


def test_l2_loss_and_l2_normalize():
    _check(tf.nn.l2_loss, lambda x: (x ** 2).sum() / 2)
    _check(lambda x: tf.nn.l2_normalize(x, axis=1),
           lambda x: x / np.sqrt((x ** 2).sum(1, keepdims=True)))


def test_bias_add():
    bias = RNG.normal(size=5)
    _check(lambda x: tf.nn.bias_add(x, bias), lambda x: x + bias)
    b = tf.placeholder(tf.float64, (3,))
    value = RNG.normal(size=(2, 3, 4, 4))
    _check(lambda v: tf.nn.bias_add(v, bias[:3], data_format="NCHW"),
           lambda v: v + bias[:3, None, None], value)
    with pytest.raises(InvalidArgumentError, match=r"bias_add: needs a 1-D bias .* \(4, 5\) and bias \(3,\)"):
        tf.nn.bias_add(tf.constant(Z), b)


def test_embedding_lookup():
    _check(lambda p: tf.nn.embedding_lookup(p, [3, 0, 3]), lambda p: p[[3, 0, 3]])


def test_dropout_keeps_with_keep_prob_and_scales_by_its_inverse():
    x = tf.placeholder(tf.float32, (None, 1000))
    keep = tf.placeholder(tf.float32, ())
    d = tf.nn.dropout(x, keep, seed=3)
    sess = tf.Session()
    ones = np.ones((20, 1000), np.float32)
    out = sess.run(d, {x: ones, keep: 0.25})
    assert set(np.unique(out)) <= {0.0, 4.0}
    assert abs((out != 0).mean() - 0.25) < 0.01 and abs(out.mean() - 1.0) < 0.04
    np.testing.assert_array_equal(sess.run(d, {x: ones, keep: 1.0}), ones)  # test time
    (g,) = tf.gradients(tf.reduce_sum(d), [x])
    mask, grad = sess.run([d, g], {x: ones, keep: 0.5})
    assert set(np.unique(grad)) <= {0.0, 2.0}  # the gradient is the scaled mask of that run
    np.testing.assert_array_equal(grad, mask)


def test_dropout_with_a_keep_prob_of_unknown_rank_keeps_x_shape():
    # TF1 programs feed keep_prob to tf.placeholder(tf.float32), of unknown rank.
    x = tf.placeholder(tf.float32, (None, 4))
    keep = tf.placeholder(tf.float32)
    d = tf.nn.dropout(x, keep)
    assert d.shape == (None, 4)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(d, {x: np.ones((2, 4)), keep: 1.0}), np.ones((2, 4)))
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(d, {x: np.ones((2, 4)), keep: [1.0, 1.0]})
    with pytest.raises(tf.errors.InvalidArgumentError, match="keep_prob must be a scalar"):
        tf.nn.dropout(x, tf.placeholder(tf.float32, (2,)))


def test_dropout_rate_noise_shape_and_seeds():
    tf.set_random_seed(7)
    x = tf.constant(np.ones((6, 500)))
    rows = tf.nn.dropout(x, rate=0.5, noise_shape=(6, 1))
    both = tf.nn.dropout(x, keep_prob=0.5)
    first, second = tf.Session().run([rows, both]), tf.Session().run([rows, both])
    np.testing.assert_array_equal(first[0], second[0])  # graph seed: the same in a new session
    np.testing.assert_array_equal(first[1], second[1])
    assert all(len(np.unique(r)) == 1 for r in first[0])  # whole rows kept or dropped
    with pytest.raises(InvalidArgumentError, match="give exactly one of keep_prob and rate"):
        tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(InvalidArgumentError, match=r"rate must be in \[0, 1\)"):
        tf.nn.dropout(x, keep_prob=0.0)
