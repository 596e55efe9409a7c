"""TF1's functional `tf.layers` (subjects of TF1's layers/core_test.py, convolutional_test.py and
pooling_test.py): variable names and shapes, reuse, values against numpy, gradients, dropout."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph import errors


def _session():
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    return sess


def _names(variables):
    return [(v.name, tuple(v.shape)) for v in variables]


def test_dense_makes_kernel_and_bias_named_dense_dense_1_and_in_the_enclosing_scope():
    x = tf.placeholder(tf.float32, (None, 3))
    tf.layers.dense(x, 4)
    tf.layers.dense(x, 2, use_bias=False)
    with tf.variable_scope("block"):
        tf.layers.dense(x, 5)
    tf.layers.dense(x, 1, name="logits")
    assert _names(tf.trainable_variables()) == [
        ("dense/kernel", (3, 4)), ("dense/bias", (4,)), ("dense_1/kernel", (3, 2)),
        ("block/dense/kernel", (3, 5)), ("block/dense/bias", (5,)),
        ("logits/kernel", (3, 1)), ("logits/bias", (1,))]


def test_dense_reuse_shares_and_without_reuse_a_second_named_layer_is_refused():
    x = tf.placeholder(tf.float32, (None, 3))
    tf.layers.dense(x, 4, name="fc")
    tf.layers.dense(x, 4, name="fc", reuse=True)
    tf.layers.dense(x, 4, name="fc", reuse=tf.AUTO_REUSE)
    with tf.variable_scope("", reuse=True):
        tf.layers.dense(x, 4, name="fc")
    assert len(tf.trainable_variables()) == 2
    with pytest.raises(errors.InvalidArgumentError, match="fc/kernel already exists"):
        tf.layers.dense(x, 4, name="fc")
    with pytest.raises(errors.InvalidArgumentError, match="fc/kernel"):
        tf.layers.dense(x, 5, name="fc", reuse=True)            # another shape
    with pytest.raises(errors.InvalidArgumentError, match="other/kernel does not exist"):
        tf.layers.dense(x, 4, name="other", reuse=True)


def test_dense_values_are_the_hand_computation_with_its_variables_on_rank_2_and_3(rng):
    x = tf.placeholder(tf.float64, (None, 2, 3))
    y2 = tf.layers.dense(x[:, 0], 4, activation=tf.nn.relu, bias_initializer=tf.constant_initializer(0.1))
    y3 = tf.layers.dense(x, 4)
    assert y2.shape == (None, 4) and y3.shape == (None, 2, 4) and y3.dtype == np.float64
    sess = _session()
    xv = rng.normal(size=(5, 2, 3))
    (k2, b2, k3, b3), out2, out3 = (sess.run(tf.trainable_variables()),
                                    *sess.run([y2, y3], {x: xv}))
    np.testing.assert_allclose(b2, 0.1)
    np.testing.assert_allclose(b3, 0.0)
    np.testing.assert_allclose(out2, np.maximum(xv[:, 0] @ k2 + b2, 0))
    np.testing.assert_allclose(out3, xv @ k3 + b3)


def test_dense_kernel_is_glorot_uniform_by_default_and_takes_the_scope_initializer():
    x = tf.placeholder(tf.float32, (None, 300))
    tf.layers.dense(x, 200)
    with tf.variable_scope("s", initializer=tf.ones_initializer()):
        tf.layers.dense(x, 2)
    kernel, _, ones, _ = _session().run(tf.trainable_variables())
    limit = np.sqrt(6 / (300 + 200))
    assert kernel.dtype == np.float32 and np.abs(kernel).max() <= limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit
    np.testing.assert_array_equal(ones, 1.0)


def test_dense_refuses_unknown_last_dim_ints_and_constraints_and_trainable_false_is_kept_out():
    with pytest.raises(errors.InvalidArgumentError, match="last dimension"):
        tf.layers.dense(tf.placeholder(tf.float32, (2, None)), 3)
    with pytest.raises(errors.InvalidArgumentError, match="float"):
        tf.layers.dense(tf.placeholder(tf.int32, (2, 3)), 3)
    with pytest.raises(errors.UnimplementedError, match="kernel_constraint"):
        tf.layers.dense(tf.placeholder(tf.float32, (2, 3)), 3, kernel_constraint=lambda w: w)
    tf.layers.dense(tf.placeholder(tf.float32, (2, 3)), 3, trainable=False, name="frozen")
    assert tf.trainable_variables() == []
    assert [v.name for v in tf.global_variables()] == ["frozen/kernel", "frozen/bias"]


def test_regularizers_collect_their_losses():
    x = tf.placeholder(tf.float32, (None, 3))
    tf.layers.dense(x, 2, kernel_regularizer=lambda w: tf.reduce_sum(w * w),
                    activity_regularizer=lambda y: tf.reduce_sum(y))
    assert len(tf.get_default_graph().get_collection("regularization_losses")) == 2


def _conv_numpy(x, w, stride, same):
    kh, kw = w.shape[:2]
    if same:
        h, wd = x.shape[1:3]
        ph = max((-(-h // stride) - 1) * stride + kh - h, 0)
        pw = max((-(-wd // stride) - 1) * stride + kw - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 2), ("SAME", 1)])
def test_conv2d_names_shapes_and_values_are_the_hand_computation(rng, padding, stride):
    x = tf.placeholder(tf.float64, (None, 6, 5, 2))
    y = tf.layers.conv2d(x, 3, (3, 2), strides=stride, padding=padding, activation=tf.nn.relu,
                         bias_initializer=tf.random_normal_initializer())
    assert _names(tf.trainable_variables()) == [("conv2d/kernel", (3, 2, 2, 3)),
                                               ("conv2d/bias", (3,))]
    sess = _session()
    xv = rng.normal(size=(2, 6, 5, 2))
    (kernel, bias), out = sess.run(tf.trainable_variables()), sess.run(y, {x: xv})
    expected = np.maximum(_conv_numpy(xv, kernel, stride, padding.lower() == "same") + bias, 0)
    assert y.shape == (None,) + expected.shape[1:]
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_conv2d_refuses_channels_first_a_bad_padding_and_unknown_channels():
    x = tf.placeholder(tf.float32, (1, 4, 4, 2))
    with pytest.raises(errors.UnimplementedError, match="channels_last"):
        tf.layers.conv2d(x, 2, 3, data_format="channels_first")
    with pytest.raises(errors.InvalidArgumentError, match="padding"):
        tf.layers.conv2d(x, 2, 3, padding="full")
    with pytest.raises(errors.InvalidArgumentError, match="channel dimension"):
        tf.layers.conv2d(tf.placeholder(tf.float32, (1, 4, 4, None)), 2, 3)
    with pytest.raises(errors.InvalidArgumentError, match="4-D"):
        tf.layers.conv2d(tf.placeholder(tf.float32, (4, 4, 2)), 2, 3)
    assert tf.trainable_variables() == []


def test_gradients_through_conv2d_and_dense_match_finite_differences(rng):
    x = tf.placeholder(tf.float64, (2, 5, 5, 1))
    h = tf.layers.conv2d(x, 2, 3, padding="same", activation=tf.tanh)
    h = tf.layers.average_pooling2d(h, 2, 2)
    loss = tf.reduce_sum(tf.square(tf.layers.dense(tf.layers.flatten(h), 3)))
    variables = tf.trainable_variables()
    grads = tf.gradients(loss, variables)
    sess = _session()
    xv = rng.normal(size=(2, 5, 5, 1))
    values, analytic = sess.run(variables), sess.run(grads, {x: xv})
    eps = 1e-6
    for var, value, grad in zip(variables, values, analytic):
        for index in [(0,) * value.ndim, tuple(d - 1 for d in value.shape)]:
            shifted = []
            for sign in (1, -1):
                bumped = value.copy()
                bumped[index] += sign * eps
                sess.run(tf.assign(var, bumped))
                shifted.append(sess.run(loss, {x: xv}))
            sess.run(tf.assign(var, value))
            assert grad[index] == pytest.approx((shifted[0] - shifted[1]) / (2 * eps), rel=1e-5)


def test_pooling_and_flatten_values_shapes_and_names():
    x = tf.constant(np.arange(2 * 5 * 5 * 2, dtype=np.float32).reshape(2, 5, 5, 2))
    mx = tf.layers.max_pooling2d(x, 2, 2)
    av = tf.layers.average_pooling2d(x, (2, 2), (2, 2), padding="same")
    flat = tf.layers.flatten(mx)
    images = tf.placeholder(tf.float32, (4, None, 3))
    unknown = tf.layers.flatten(images)
    assert (mx.shape, av.shape, flat.shape, unknown.shape) == (
        (2, 2, 2, 2), (2, 3, 3, 2), (2, 8), (4, None))
    assert mx.name.startswith("max_pooling2d/") and flat.name.startswith("flatten/")
    xv = np.arange(2 * 5 * 5 * 2, dtype=np.float32).reshape(2, 5, 5, 2)
    sess = tf.Session()
    np.testing.assert_array_equal(sess.run(mx), xv[:, :4, :4].reshape(2, 2, 2, 2, 2, 2).max((2, 4)))
    np.testing.assert_allclose(sess.run(av)[:, 2, 2], xv[:, 4, 4])
    np.testing.assert_allclose(sess.run(av)[:, 0, 0], xv[:, :2, :2].mean((1, 2)))
    np.testing.assert_array_equal(sess.run(flat), sess.run(mx).reshape(2, -1))
    assert sess.run(unknown, {images: np.ones((4, 2, 3))}).shape == (4, 6)
    with pytest.raises(errors.UnimplementedError, match="channels_last"):
        tf.layers.max_pooling2d(x, 2, 2, data_format="channels_first")
    with pytest.raises(errors.UnimplementedError, match=r"flatten: .*\(None, None, 3\)"):
        tf.layers.flatten(tf.placeholder(tf.float32, (None, None, 3)))


def test_dropout_is_identity_unless_training_and_a_bool_tensor_chooses_at_each_run():
    x = tf.constant(np.ones((200, 50), np.float32))
    assert np.array_equal(tf.Session().run(tf.layers.dropout(x)), np.ones((200, 50)))
    training = tf.placeholder(tf.bool, ())
    y = tf.layers.dropout(x, rate=0.25, training=training)
    fixed = tf.layers.dropout(x, rate=0.25, training=True)
    sess = tf.Session()
    off, on, always = sess.run(y, {training: False}), sess.run(y, {training: True}), sess.run(fixed)
    np.testing.assert_array_equal(off, 1.0)
    for out in (on, always):
        assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
        assert abs((out == 0).mean() - 0.25) < 0.03
    rows = sess.run(tf.layers.dropout(x, 0.5, noise_shape=(None, 1), training=True))
    assert all(len(set(row)) == 1 for row in rows)
    with pytest.raises(errors.InvalidArgumentError, match="bool"):
        tf.layers.dropout(x, training=tf.placeholder(tf.float32, ()))


def _seeded_masks(graph_seed):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(graph_seed)
        y = tf.layers.dropout(tf.ones((6, 6)), 0.5, seed=7, training=True)
        sess = tf.Session()
        return sess.run(y), sess.run(y)


def test_seeded_dropout_replays_in_a_new_graph_and_each_run_draws_anew():
    first, second = _seeded_masks(3)
    again, _ = _seeded_masks(3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, _seeded_masks(4)[0])


def test_minimize_trains_the_layers_variables():
    x = tf.placeholder(tf.float32, (None, 2))
    loss = tf.reduce_mean(tf.square(tf.layers.dense(x, 1) - 3.0))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    sess = _session()
    feed = {x: np.eye(2, dtype=np.float32)}
    before = sess.run(loss, feed)
    for _ in range(20):
        sess.run(train, feed)
    assert sess.run(loss, feed) < 0.1 * before


def test_tf1_check_finds_the_layers_and_names_what_is_missing(tmp_path):
    from staticgraph.tf1_check import check_script
    script = tmp_path / "model.py"
    script.write_text("import tensorflow as tf\n"
                      "h = tf.layers.dense(tf.layers.flatten(x), 3)\n"
                      "h = tf.layers.dropout(tf.layers.max_pooling2d(tf.layers.conv2d(x, 2, 3), 2, 2))\n"
                      "h = tf.layers.batch_normalization(h)\n"
                      "h = tf.layers.conv2d_transpose(h, 2, 3)\n")
    report = check_script(script)
    assert sorted(report.missing) == ["layers.conv2d_transpose"]
    assert {"layers.dense", "layers.flatten", "layers.dropout", "layers.max_pooling2d",
            "layers.conv2d", "layers.batch_normalization"} <= set(report.found)


def test_docstring_examples():
    import doctest

    from staticgraph import layers
    result = doctest.testmod(layers)
    assert result.attempted >= 10 and result.failed == 0
