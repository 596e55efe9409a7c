"""The default session as TF1's: InteractiveSession, as_default, `with Session()`, eval and run."""
import threading

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.errors import InvalidArgumentError


def test_no_default_session_at_start():
    assert tf.get_default_session() is None


def test_interactive_session_installs_itself_and_close_removes_it():
    sess = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is sess
        a, b = tf.constant(5.0), tf.constant(6.0)
        assert (a * b).eval() == 30.0
    finally:
        sess.close()
    assert tf.get_default_session() is None
    with pytest.raises(InvalidArgumentError, match="No default session is registered"):
        (a * b).eval()


def test_interactive_session_trains_with_op_run():
    x = tf.placeholder(tf.float64, shape=(None,), name="x")
    w = tf.Variable(np.float64(0.0), name="w")
    loss = tf.sum(tf.square(w - x))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    sess = tf.InteractiveSession()
    try:
        assert tf.global_variables_initializer().run() is None
        for _ in range(3):
            assert step.run(feed_dict={x: np.array([1.0, 3.0])}) is None
        # Each step: w -= 0.1 * 2 * sum(w - x) = w - 0.4 * (w - 2).
        expected = 0.0
        for _ in range(3):
            expected -= 0.4 * (expected - 2.0)
        np.testing.assert_allclose(w.eval(), expected)
        np.testing.assert_allclose(loss.eval({x: np.array([2.0])}), (expected - 2.0) ** 2)
    finally:
        sess.close()


def test_interactive_session_makes_its_graph_the_default():
    g = tf.Graph()
    sess = tf.InteractiveSession(graph=g)
    try:
        c = tf.constant(2.0)
        assert c.graph is g
        assert c.eval() == 2.0
    finally:
        sess.close()
    assert tf.get_default_graph() is not g


def test_as_default_nests_and_does_not_close():
    c = tf.constant(1.5) + 1.0
    outer, inner = tf.Session(), tf.Session()
    with outer.as_default():
        assert tf.get_default_session() is outer
        with inner.as_default():
            assert tf.get_default_session() is inner
            assert c.eval() == 2.5
        assert tf.get_default_session() is outer
    assert tf.get_default_session() is None
    assert outer.run(c) == 2.5 and inner.run(c) == 2.5  # still open
    outer.close()
    inner.close()


def test_with_session_is_default_and_makes_graph_default_then_closes():
    g = tf.Graph()
    with tf.Session(graph=g) as sess:
        assert tf.get_default_session() is sess
        assert tf.get_default_graph() is g
        v = tf.Variable(np.array([1.0, 2.0]), name="v")  # built in g, as TF1
        tf.global_variables_initializer().run()
        np.testing.assert_array_equal(v.eval(), [1.0, 2.0])
        np.testing.assert_array_equal((v * 2.0).eval(session=sess), [2.0, 4.0])
    assert v.graph is g
    assert tf.get_default_session() is None
    assert tf.get_default_graph() is not g
    with pytest.raises(tf.errors.FailedPreconditionError, match="closed"):
        sess.run(v)


def test_eval_with_explicit_session_needs_no_default():
    x = tf.placeholder(tf.float32, shape=(2,), name="x")
    y = x * 3.0
    sess = tf.Session()
    out = y.eval(feed_dict={x: np.array([1.0, 2.0], np.float32)}, session=sess)
    np.testing.assert_array_equal(out, np.array([3.0, 6.0], np.float32))
    assert out.dtype == np.float32
    assert tf.get_default_session() is None
    sess.close()


def test_no_default_session_errors_are_tf1s():
    c = tf.constant(1.0)
    op = tf.no_op()
    with pytest.raises(InvalidArgumentError) as exc:
        c.eval()
    assert ("Cannot evaluate tensor using `eval()`: No default session is registered. Use "
            "`with sess.as_default()` or pass an explicit session to `eval(session=sess)`"
            in str(exc.value))
    with pytest.raises(ValueError, match=r"Cannot execute operation using `run\(\)`: No default"):
        op.run()


def test_session_of_another_graph_is_refused():
    g = tf.Graph()
    with g.as_default():
        other = tf.constant(1.0)
    mine = tf.constant(2.0)
    with tf.Session() as sess:
        with pytest.raises(InvalidArgumentError, match="Cannot use the default session to "
                                                       "evaluate tensor: the tensor's graph"):
            other.eval()
        with pytest.raises(InvalidArgumentError, match="Cannot use the default session to "
                                                       "execute operation"):
            other.run()
        assert mine.eval() == 2.0
    sess_g = tf.Session(graph=g)
    with pytest.raises(InvalidArgumentError, match="Cannot use the given session"):
        mine.eval(session=sess_g)
    assert other.eval(session=sess_g) == 1.0
    sess_g.close()


def test_default_session_is_per_thread():
    c = tf.constant(4.0)
    seen = {}

    def worker():
        seen["default"] = tf.get_default_session()
        with tf.Session() as own:
            seen["own"] = own
            seen["value"] = float(c.eval())
        seen["after"] = tf.get_default_session()

    with tf.Session() as sess:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert tf.get_default_session() is sess
    assert seen["default"] is None and seen["after"] is None
    assert seen["own"] is not sess and seen["value"] == 4.0


def test_interactive_session_closed_out_of_nesting_order():
    """Closing an InteractiveSession inside another session's block removes only itself."""
    interactive = tf.InteractiveSession()
    with tf.Session() as sess:
        interactive.close()
        assert tf.get_default_session() is sess
    assert tf.get_default_session() is None


def test_interactive_session_closed_in_another_thread():
    sess = tf.InteractiveSession()
    thread = threading.Thread(target=sess.close)
    thread.start()
    thread.join()
    assert tf.get_default_session() is None
    tf.reset_default_graph()  # the graph stack is empty again


def test_docstring_examples():
    import doctest

    from staticgraph.runtime import default_session
    result = doctest.testmod(default_session)
    assert result.attempted > 0 and result.failed == 0
