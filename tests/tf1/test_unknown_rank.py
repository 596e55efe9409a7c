"""Placeholders of unknown rank (TF1's `tf.placeholder(tf.float32)`), sg.shape / size / rank,
and shapes given as tensors, through shape inference, the compiler and the memory plan."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph.compiler import specialize, prune, verify
from staticgraph.testing import gradcheck

RNG = np.random.default_rng(0)
VALUES = [RNG.uniform(0.5, 1.5, size=s) for s in [(), (3,), (2, 3), (2, 3, 4)]]


def test_a_placeholder_without_shape_has_unknown_rank():
    x = tf.placeholder(tf.float32)
    assert x.shape is None and x.ndim is None
    assert (x * 2.0).shape is None
    assert tf.reduce_sum(x).shape == ()
    w = tf.placeholder(tf.float32, (3, 4))
    assert tf.matmul(x, w).shape is None  # x may be a vector, a matrix or a batch of them
    assert tf.matmul(tf.reshape(x, (-1, 3)), w).shape == (None, 4)
    assert tf.reshape(x, (-1, 3)).shape == (None, 3)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: f"{v.ndim}d")
def test_elementwise_and_reductions_at_any_rank(value):
    x = tf.placeholder(tf.float64)
    y = tf.exp(x) * 2.0 + tf.sin(x)
    fetches = [y, tf.reduce_sum(y), tf.reduce_mean(x), tf.reduce_max(x, keepdims=True),
               tf.shape(x), tf.size(x), tf.rank(x)]
    with tf.Session() as sess:
        got = sess.run(fetches, {x: value})
    want_y = np.exp(value) * 2 + np.sin(value)
    np.testing.assert_allclose(got[0], want_y)
    np.testing.assert_allclose(got[1], want_y.sum())
    np.testing.assert_allclose(got[2], value.mean())
    np.testing.assert_allclose(got[3], value.max(keepdims=True))
    assert got[4].dtype == np.int32 and tuple(got[4]) == value.shape
    assert got[5] == value.size and got[6] == value.ndim


def test_reduction_over_a_given_axis_and_its_gradient():
    x = tf.placeholder(tf.float64)
    y = tf.reduce_sum(tf.square(x), axis=1)
    assert y.shape is None
    for value in VALUES[2:]:
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(y, {x: value}), (value ** 2).sum(axis=1))
        assert gradcheck(tf.reduce_sum(y * y), [x], {x: value})


def test_matmul_reshape_softmax_and_gradients_against_finite_differences():
    x = tf.placeholder(tf.float64)
    w = tf.placeholder(tf.float64, (3, 4))
    logits = tf.matmul(tf.reshape(x, (-1, 3)), w)
    loss = tf.reduce_sum(tf.nn.softmax(logits) * tf.log(tf.nn.softmax(logits) + 1.0))
    feed = {x: VALUES[3][:, :, :3].copy(), w: RNG.normal(size=(3, 4))}
    with tf.Session() as sess:
        flat = feed[x].reshape(-1, 3) @ feed[w]
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(sess.run(loss, feed), (p * np.log(p + 1)).sum())
    assert gradcheck(loss, [x, w], feed)
    assert gradcheck(tf.reduce_sum(x * x * tf.reduce_mean(x)), [x], {x: VALUES[2]})


def test_an_optimizer_step_with_inputs_of_unknown_rank():
    x, y = tf.placeholder(tf.float64), tf.placeholder(tf.float64)
    w = tf.Variable(np.array([[0.5], [-0.5]]), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    xs, ys = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step, {x: xs, y: ys})
        w0 = np.array([[0.5], [-0.5]])
        want = w0 - 0.1 * 2 * xs.T @ (xs @ w0 - ys) / 5
        np.testing.assert_allclose(sess.run(w), want)


def test_specialize_learns_the_rank_from_the_fed_shape():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, name="x")
        tf.reduce_sum(x * x, axis=0, name="y")
    generic = prune(g, ["y"], ["x"])
    assert generic.node("y")["shape"] is None
    special = verify(specialize(generic, {"x": (4, 3)}))
    assert special.node("x")["shape"] == (4, 3) and special.node("y")["shape"] == (3,)


def test_the_memory_plan_runs_two_ranks_in_turn():
    x = tf.placeholder(tf.float64, name="x")
    y = tf.reduce_sum(tf.tanh(x) * 3.0 + x, name="y")
    exe = tf.compile([y], [x])
    for value in (VALUES[2], VALUES[3], VALUES[1], VALUES[2]):
        (got,) = exe.run({x: value})
        np.testing.assert_allclose(got, (np.tanh(value) * 3 + value).sum())
        assert exe.memory is not None
    assert len(exe.variants) >= 3


def test_feeds_of_any_rank_and_the_dtype_still_checked():
    x = tf.placeholder(tf.int32)
    with tf.Session() as sess:
        assert sess.run(x + 1, {x: 4}) == 5
        with pytest.raises(tf.errors.InvalidArgumentError, match="cannot feed"):
            sess.run(x + 1, {x: np.array([1.5])})


def test_a_graph_file_round_trip_keeps_the_unknown_rank(tmp_path):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, name="x")
        tf.reduce_sum(x * 2.0, name="y")
    tf.save_graph(g, tmp_path / "g.json")
    loaded = tf.load_graph(tmp_path / "g.json")
    assert loaded.node("x")["shape"] is None and loaded.node("y")["shape"] == ()
    with tf.Session(graph=loaded) as sess:
        assert sess.run("y:0", {"x:0": np.ones((2, 2))}) == 8.0


def test_shapes_given_as_tensors():
    x = tf.placeholder(tf.float32)
    b = tf.placeholder(tf.float32, (None, 3))
    u = tf.random_uniform(tf.shape(x), seed=1)
    assert u.shape is None and tf.random_normal(tf.shape(b)).shape == (None, 3)
    assert tf.zeros(tf.shape(tf.constant(np.ones((2, 5))))).shape == (2, 5)
    fetches = [u, tf.zeros(tf.shape(x)), tf.ones(tf.shape(x), tf.int32), tf.fill(tf.shape(x), 2.5),
               tf.truncated_normal(tf.shape(x), seed=2)]
    with tf.Session() as sess:
        got = sess.run(fetches, {x: np.zeros((2, 3))})
        again = sess.run(u, {x: np.zeros((2, 3))})
        assert sess.run(u, {x: np.zeros(4)}).shape == (4,)
    assert all(v.shape == (2, 3) for v in got)
    assert ((0 <= got[0]) & (got[0] < 1)).all() and not np.array_equal(got[0], again)
    assert (got[1] == 0).all() and (got[2] == 1).all() and got[2].dtype == np.int32
    assert (got[3] == 2.5).all() and (np.abs(got[4]) <= 2).all()


def test_a_shape_tensor_must_be_a_1d_integer_tensor():
    with pytest.raises(tf.errors.InvalidArgumentError, match="1-D integer tensor"):
        tf.zeros(tf.placeholder(tf.float32, (2,)))


@pytest.mark.parametrize("value", VALUES[1:], ids=lambda v: f"{v.ndim}d")
def test_cond_and_while_loop_on_unknown_rank(value):
    x = tf.placeholder(tf.float64)
    c = tf.cond(tf.reduce_sum(x) > 0, lambda: x * x, lambda: tf.sin(x))
    w = tf.while_loop(lambda v: tf.reduce_sum(v) < 50.0, lambda v: v * 1.5, [x])
    i, grown = tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, tf.concat([v, v], 0)), [0, x])
    assert c.shape is None and w.shape is None and grown.shape is None
    expect_w = value.copy()
    while expect_w.sum() < 50.0:
        expect_w = expect_w * 1.5
    with tf.Session() as sess:
        got_c, got_w, got_grown = sess.run([c, w, grown], {x: value})
    np.testing.assert_allclose(got_c, value * value)
    np.testing.assert_allclose(got_w, expect_w)
    np.testing.assert_array_equal(got_grown, np.concatenate([value] * 4))
    for y in (c, w, grown):
        assert gradcheck(tf.reduce_sum(tf.sin(y)), [x], {x: value})


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (-1, True), ((0, 1), False)])
def test_reduce_logsumexp_on_unknown_rank(axis, keepdims):
    x = tf.placeholder(tf.float64)
    value = VALUES[3]
    y = tf.reduce_logsumexp(x, axis=axis, keepdims=keepdims)
    top = value.max(axis=axis, keepdims=True)
    expect = np.log(np.exp(value - top).sum(axis=axis, keepdims=True)) + top
    if not keepdims:
        expect = expect.squeeze(axis=axis) if axis is not None else expect.reshape(())
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: value}), expect)
    assert gradcheck(tf.reduce_sum(y * y), [x], {x: value})
