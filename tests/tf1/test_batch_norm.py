"""TF1's batch normalization: `tf.nn.moments`, `tf.nn.batch_normalization`,
`tf.layers.batch_normalization` with `tf.GraphKeys.UPDATE_OPS`, and `tf.GraphKeys` itself.
Values against numpy and torch, moving averages against their closed form, gradients against
finite differences."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph import errors
from staticgraph.testing import gradcheck

RNG = np.random.default_rng(7)


def _session():
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    return sess


def _numpy_bn(x, axes, gamma, beta, eps):
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


# ----- tf.GraphKeys and the collections ------------------------------------------------------
def test_graph_keys_are_tf1s_strings_and_the_collections_staticgraph_fills():
    assert (tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES,
            tf.GraphKeys.UPDATE_OPS, tf.GraphKeys.REGULARIZATION_LOSSES, tf.GraphKeys.SUMMARIES,
            tf.GraphKeys.LOSSES, tf.GraphKeys.MOVING_AVERAGE_VARIABLES,
            tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.GLOBAL_STEP) == (
        "variables", "trainable_variables", "update_ops", "regularization_losses", "summaries",
        "losses", "moving_average_variables", "local_variables", "global_step")
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="scope/b", trainable=False)
    with tf.variable_scope("reg", regularizer=lambda v: 0.5 * tf.reduce_sum(v * v)):
        w = tf.get_variable("w", (2,))
    step = tf.train.get_or_create_global_step()
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == tf.trainable_variables()
    assert [v.name for v in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)] == ["a", "reg/w"]
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == tf.global_variables()
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="scope") == [b]
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
    tf.summary.scalar("a", a)
    assert len(tf.get_collection(tf.GraphKeys.SUMMARIES)) == 1


def test_add_to_collection_and_add_to_collections_append_to_the_default_graph():
    x = tf.constant(1.0, name="x")
    tf.add_to_collection(tf.GraphKeys.LOSSES, x)
    tf.add_to_collections(["mine", "mine", tf.GraphKeys.LOSSES], x)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [x, x]
    assert tf.get_collection("mine") == [x]
    assert tf.get_collection("absent") == []
    listed = tf.get_collection("mine")
    listed.append(None)
    assert tf.get_collection("mine") == [x]


# ----- tf.nn.moments / tf.nn.batch_normalization --------------------------------------------
@pytest.mark.parametrize("axes", [[0], [0, 1, 2], [1]])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_moments_are_the_mean_and_the_biased_variance(axes, keep_dims):
    data = RNG.normal(size=(4, 3, 2, 5))
    mean, variance = tf.nn.moments(tf.constant(data), axes, keep_dims=keep_dims)
    got_mean, got_var = tf.Session().run([mean, variance])
    np.testing.assert_allclose(got_mean, data.mean(axis=tuple(axes), keepdims=keep_dims))
    np.testing.assert_allclose(got_var, data.var(axis=tuple(axes), keepdims=keep_dims))
    assert mean.shape == got_mean.shape and variance.shape == got_var.shape


def test_nn_batch_normalization_matches_numpy_with_and_without_offset_and_scale():
    data = RNG.normal(size=(6, 3))
    mean, var = data.mean(0), data.var(0)
    gamma, beta = np.array([0.5, 2.0, -1.0]), np.array([1.0, 0.0, 3.0])
    x = tf.constant(data)
    got = tf.Session().run([
        tf.nn.batch_normalization(x, tf.constant(mean), tf.constant(var), tf.constant(beta),
                                  tf.constant(gamma), 1e-3),
        tf.nn.batch_normalization(x, tf.constant(mean), tf.constant(var), None, None, 1e-3)])
    np.testing.assert_allclose(got[0], gamma * (data - mean) / np.sqrt(var + 1e-3) + beta)
    np.testing.assert_allclose(got[1], (data - mean) / np.sqrt(var + 1e-3))


def test_moments_then_batch_normalization_gradients_match_finite_differences():
    x = tf.placeholder(tf.float64, (5, 3), name="x")
    gamma = tf.placeholder(tf.float64, (3,), name="gamma")
    beta = tf.placeholder(tf.float64, (3,), name="beta")
    mean, variance = tf.nn.moments(x, [0])
    y = tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-3)
    feed = {x: RNG.normal(size=(5, 3)), gamma: RNG.normal(size=3), beta: RNG.normal(size=3)}
    assert gradcheck(y, [x, gamma, beta], feed)
    assert gradcheck(tf.reduce_sum(tf.sin(variance)) + tf.reduce_sum(mean ** 2), [x], feed)


# ----- tf.layers.batch_normalization ---------------------------------------------------------
def test_layer_variables_are_named_as_tf1_and_only_gamma_and_beta_are_trainable():
    x = tf.placeholder(tf.float32, (None, 4))
    tf.layers.batch_normalization(x)
    tf.layers.batch_normalization(x, center=False, name="bn")
    with tf.variable_scope("block"):
        tf.layers.batch_normalization(x, scale=False)
    tf.layers.batch_normalization(x, name="bn", reuse=True, center=False)
    names = [(v.name, tuple(v.shape)) for v in tf.global_variables()]
    assert names == [
        ("batch_normalization/gamma", (4,)), ("batch_normalization/beta", (4,)),
        ("batch_normalization/moving_mean", (4,)), ("batch_normalization/moving_variance", (4,)),
        ("bn/gamma", (4,)), ("bn/moving_mean", (4,)), ("bn/moving_variance", (4,)),
        ("block/batch_normalization/beta", (4,)),
        ("block/batch_normalization/moving_mean", (4,)),
        ("block/batch_normalization/moving_variance", (4,))]
    assert [v.name for v in tf.trainable_variables()] == [
        "batch_normalization/gamma", "batch_normalization/beta", "bn/gamma",
        "block/batch_normalization/beta"]
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []  # training=False: no updates
    with pytest.raises(errors.InvalidArgumentError, match="bn/gamma already exists"):
        tf.layers.batch_normalization(x, name="bn")


def test_layer_training_normalises_by_the_batch_and_inference_by_the_moving_averages():
    data = RNG.normal(loc=3.0, scale=2.0, size=(8, 3))
    x = tf.placeholder(tf.float64, (None, 3))
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    kwargs = dict(gamma_initializer=tf.constant_initializer(gamma),
                  beta_initializer=tf.constant_initializer(beta), name="bn")
    train = tf.layers.batch_normalization(x, training=True, **kwargs)
    infer = tf.layers.batch_normalization(x, training=False, reuse=True, **kwargs)
    sess = _session()
    np.testing.assert_allclose(sess.run(train, {x: data}),
                               _numpy_bn(data, (0,), gamma, beta, 1e-3), rtol=1e-12)
    # fresh moving averages: mean 0, variance 1
    np.testing.assert_allclose(sess.run(infer, {x: data}),
                               gamma * data / np.sqrt(1 + 1e-3) + beta, rtol=1e-12)
    sess.run(tf.global_variables()[2].assign(np.array([1.0, 2.0, 3.0])))
    sess.run(tf.global_variables()[3].assign(np.array([4.0, 0.25, 1.0])))
    np.testing.assert_allclose(
        sess.run(infer, {x: data}),
        gamma * (data - [1.0, 2.0, 3.0]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-3) + beta)


def test_layer_on_images_normalises_each_channel_and_another_axis_each_row():
    images = RNG.normal(size=(2, 3, 3, 4))
    y = tf.layers.batch_normalization(tf.constant(images), training=True, epsilon=1e-5)
    z = tf.layers.batch_normalization(tf.constant(images), axis=1, training=True, epsilon=1e-5)
    assert [tuple(v.shape) for v in tf.global_variables()[4:]] == [(3,)] * 4
    got_y, got_z = _session().run([y, z])
    np.testing.assert_allclose(got_y, _numpy_bn(images, (0, 1, 2), 1.0, 0.0, 1e-5), atol=1e-12)
    np.testing.assert_allclose(got_z, _numpy_bn(images, (0, 2, 3), 1.0, 0.0, 1e-5), atol=1e-12)


def test_moving_averages_after_n_updates_follow_the_closed_form():
    momentum, steps = 0.9, 5
    batches = [RNG.normal(loc=i, scale=1 + i, size=(6, 2)) for i in range(steps)]
    x = tf.placeholder(tf.float64, (None, 2))
    tf.layers.batch_normalization(x, momentum=momentum, training=True, name="bn")
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    sess = _session()
    for batch in batches:
        sess.run(updates, {x: batch})
    moving_mean, moving_var = sess.run(tf.global_variables()[2:])
    # m_n = momentum^n m_0 + (1 - momentum) sum_i momentum^(n-1-i) batch_i, m_0 = 0, v_0 = 1
    weights = [(1 - momentum) * momentum ** (steps - 1 - i) for i in range(steps)]
    np.testing.assert_allclose(moving_mean, sum(w * b.mean(0) for w, b in zip(weights, batches)))
    np.testing.assert_allclose(moving_var, momentum ** steps + sum(
        w * b.var(0) for w, b in zip(weights, batches)))  # TF1's biased batch variance


def test_a_bool_tensor_training_chooses_at_each_run_and_updates_only_when_true():
    data = RNG.normal(loc=2.0, size=(5, 3))
    x = tf.placeholder(tf.float64, (None, 3))
    training = tf.placeholder(tf.bool, ())
    y = tf.layers.batch_normalization(x, momentum=0.5, training=training, epsilon=0.0)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess = _session()
    moving = tf.global_variables()[2:]
    np.testing.assert_allclose(sess.run(y, {x: data, training: False}), data)
    sess.run(updates, {x: data, training: False})
    np.testing.assert_allclose(sess.run(moving), [np.zeros(3), np.ones(3)])
    np.testing.assert_allclose(sess.run(y, {x: data, training: True}),
                               _numpy_bn(data, (0,), 1.0, 0.0, 0.0), atol=1e-12)
    sess.run(updates, {x: data, training: True})
    np.testing.assert_allclose(sess.run(moving), [0.5 * data.mean(0), 0.5 + 0.5 * data.var(0)])
    with pytest.raises(errors.InvalidArgumentError, match="training must be a bool"):
        tf.layers.batch_normalization(x, training=tf.constant(1.0))


def test_layer_gradients_are_those_of_moments_and_batch_normalization():
    data = RNG.normal(size=(5, 3))
    gamma = np.array([0.5, 2.0, -1.0])
    x = tf.placeholder(tf.float64, (5, 3), name="x")
    y = tf.layers.batch_normalization(x, training=True,
                                      gamma_initializer=tf.constant_initializer(gamma))
    weights = RNG.normal(size=(5, 3))
    loss = tf.reduce_sum(tf.constant(weights) * y)
    grads = tf.gradients(loss, [x] + tf.trainable_variables())
    sess = _session()
    got = sess.run(grads, {x: data})
    # d loss / d x by central differences of the numpy layer
    def f(d):
        return np.sum(weights * _numpy_bn(d, (0,), gamma, 0.0, 1e-3))
    eps = 1e-6
    numeric = np.zeros_like(data)
    for i in np.ndindex(data.shape):
        step = np.zeros_like(data)
        step[i] = eps
        numeric[i] = (f(data + step) - f(data - step)) / (2 * eps)
    np.testing.assert_allclose(got[0], numeric, rtol=1e-5, atol=1e-7)
    normalised = _numpy_bn(data, (0,), 1.0, 0.0, 1e-3)
    np.testing.assert_allclose(got[1], np.sum(weights * normalised, 0))
    np.testing.assert_allclose(got[2], np.sum(weights, 0))


def test_update_ops_idiom_trains_a_small_net_and_moves_the_statistics():
    tf.set_random_seed(1)
    data = RNG.normal(loc=1.0, scale=3.0, size=(32, 4))
    target = (data @ np.array([[1.0], [-2.0], [0.5], [0.0]]) > 0).astype(np.float64)
    x = tf.placeholder(tf.float64, (None, 4))
    labels = tf.placeholder(tf.float64, (None, 1))
    training = tf.placeholder(tf.bool, ())
    hidden = tf.layers.dense(x, 8, use_bias=False)
    hidden = tf.nn.relu(tf.layers.batch_normalization(hidden, training=training, momentum=0.8))
    logits = tf.layers.dense(hidden, 1)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(0.05).minimize(loss)
    assert len(tf.trainable_variables()) == 5  # kernel, gamma, beta, kernel, bias
    sess = _session()
    moving_mean = [v for v in tf.global_variables() if v.name.endswith("moving_mean")][0]
    feed = {x: data, labels: target, training: True}
    first = sess.run(loss, feed)
    for _ in range(40):
        sess.run(train_op, feed)
    assert sess.run(loss, feed) < 0.5 * first
    assert np.abs(sess.run(moving_mean)).max() > 0.1
    # inference after training uses the moving statistics and still fits
    assert sess.run(loss, {x: data, labels: target, training: False}) < first


def test_bad_inputs_raise_naming_the_layer():
    with pytest.raises(errors.InvalidArgumentError, match="batch_normalization: axis"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, (2, 3)), axis=2)
    with pytest.raises(errors.InvalidArgumentError, match="axis 1 of the inputs should be"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, (2, None)))
    with pytest.raises(errors.InvalidArgumentError, match="must be a float"):
        tf.layers.batch_normalization(tf.placeholder(tf.int32, (2, 3)))
    with pytest.raises(errors.UnimplementedError, match="renorm"):
        tf.layers.batch_normalization(tf.placeholder(tf.float32, (2, 3)), renorm=True)
    assert tf.global_variables() == []


# ----- against torch -------------------------------------------------------------------------
def test_training_and_running_stats_match_torch_batch_norm():
    torch = pytest.importorskip("torch")
    momentum, eps, steps = 0.9, 1e-3, 3
    batches = [RNG.normal(loc=i, size=(2, 3, 3, 4)) for i in range(steps)]
    gamma, beta = RNG.normal(size=4), RNG.normal(size=4)
    x = tf.placeholder(tf.float64, (None, 3, 3, 4))
    y = tf.layers.batch_normalization(x, momentum=momentum, epsilon=eps, training=True,
                                      gamma_initializer=tf.constant_initializer(gamma),
                                      beta_initializer=tf.constant_initializer(beta))
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess = _session()
    running_mean, running_var = torch.zeros(4, dtype=torch.float64), torch.ones(4,
                                                                             dtype=torch.float64)
    for batch in batches:
        got, _ = sess.run([y, updates], {x: batch})
        nchw = torch.from_numpy(batch).permute(0, 3, 1, 2)
        # torch's momentum is the weight of the new batch (TF1's 1 - momentum), and torch's
        # running variance takes the unbiased batch variance, TF1's (non-fused) the biased one
        expected = torch.nn.functional.batch_norm(
            nchw, running_mean, running_var, torch.from_numpy(gamma), torch.from_numpy(beta),
            training=True, momentum=1 - momentum, eps=eps).permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    n = batches[0].size // 4
    unbiased_to_biased = sum((1 - momentum) * momentum ** (steps - 1 - i) * b.var((0, 1, 2))
                             * (1 - n / (n - 1)) for i, b in enumerate(batches))
    moving_mean, moving_var = sess.run(tf.global_variables()[2:])
    np.testing.assert_allclose(moving_mean, running_mean.numpy())
    np.testing.assert_allclose(moving_var, running_var.numpy() + unbiased_to_biased)
    inference = tf.layers.batch_normalization(x, epsilon=eps, name="batch_normalization",
                                              reuse=True)
    expected = torch.nn.functional.batch_norm(
        torch.from_numpy(batches[0]).permute(0, 3, 1, 2), torch.from_numpy(moving_mean),
        torch.from_numpy(moving_var), torch.from_numpy(gamma), torch.from_numpy(beta),
        training=False, eps=eps).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(sess.run(inference, {x: batches[0]}), expected, rtol=1e-10)


def test_docstring_examples():
    import doctest

    from staticgraph import graph_keys, nn
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    tests = finder.find(graph_keys) + [t for t in finder.find(nn) if t.name.endswith(
        ("nn.moments", "nn.batch_normalization"))]
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 8
    assert runner.summarize(verbose=False).failed == 0
