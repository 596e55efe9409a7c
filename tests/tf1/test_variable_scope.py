"""TF1's get_variable / variable_scope (subjects of TF1's variable_scope_test.py) and initializers."""
import math

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def _init(*variables):
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    return sess.run(list(variables))


def test_names_nest_and_ops_take_the_name_scope():
    with sg.name_scope("ns"):
        with sg.variable_scope("foo"):
            with sg.variable_scope("bar"):
                v = sg.get_variable("v", [1])
                y = v * 2.0
    assert v.name == "foo/bar/v" and y.name.startswith("ns/foo/bar/")
    assert sg.get_variable_scope().name == ""


def test_default_initializer_is_glorot_uniform_in_float32_and_zeros_for_integers():
    w = sg.get_variable("w", (40, 60))
    n = sg.get_variable("n", (3,), dtype=sg.int32)
    assert w.dtype == np.float32 and n.dtype == np.int32
    w_value, n_value = _init(w, n)
    limit = math.sqrt(6 / (40 + 60))
    assert np.abs(w_value).max() <= limit and np.abs(w_value).max() > 0.9 * limit
    np.testing.assert_allclose(w_value.var(), limit ** 2 / 3, rtol=0.15)
    np.testing.assert_array_equal(n_value, 0)


def test_reuse_true_shares_and_refuses_a_new_name():
    with sg.variable_scope("foo"):
        v = sg.get_variable("v", [2], initializer=sg.ones_initializer())
    with sg.variable_scope("foo", reuse=True):
        assert sg.get_variable("v") is v
        assert sg.get_variable("v", [2], dtype=sg.float32) is v
        with pytest.raises(ValueError, match="Variable foo/u does not exist, or was not created "
                                             r"with tf.get_variable\(\)"):
            sg.get_variable("u", [1])


def test_creating_twice_without_reuse_is_refused_with_the_first_definition():
    with sg.variable_scope("foo"):
        sg.get_variable("v", [1])
    with pytest.raises(errors.InvalidArgumentError) as info:
        with sg.variable_scope("foo"):
            sg.get_variable("v", [1])
    message = str(info.value)
    assert message.startswith("Variable foo/v already exists, disallowed. Did you mean to set "
                              "reuse=True or reuse=tf.AUTO_REUSE in VarScope?")
    assert "test_variable_scope.py" in message.split("Originally defined at:")[1]
    assert isinstance(info.value, ValueError)


def test_auto_reuse_creates_then_shares():
    def layer(x):
        with sg.variable_scope("dense", reuse=sg.AUTO_REUSE):
            w = sg.get_variable("w", (3, 2), dtype=sg.float64,
                                initializer=sg.constant_initializer(0.5, dtype=sg.float64))
            return sg.matmul(x, w), w
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    (y1, w1), (y2, w2) = layer(x), layer(x)
    assert w1 is w2 and len(sg.global_variables()) == 1
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    np.testing.assert_allclose(sess.run(y2, {x: np.ones((1, 3))}), [[1.5, 1.5]])


def test_reuse_is_inherited_by_inner_scopes():
    with sg.variable_scope("a"):
        with sg.variable_scope("b"):
            v = sg.get_variable("v", [1])
    with sg.variable_scope("a", reuse=True):
        with sg.variable_scope("b", reuse=False):
            assert sg.get_variable_scope().reuse is True
            assert sg.get_variable("v") is v


def test_scope_object_reentry_and_reuse_variables():
    with sg.variable_scope("model") as scope:
        v = sg.get_variable("v", [1])
        scope.reuse_variables()
        assert sg.get_variable("v") is v
    with sg.name_scope("elsewhere"):
        with sg.variable_scope(scope, reuse=True):
            assert sg.get_variable_scope().name == "model"
            assert sg.get_variable("v") is v
            assert (v + 1.0).name.startswith("model/")


def test_default_name_is_made_unique():
    names = []
    for _ in range(3):
        with sg.variable_scope(None, default_name="dense"):
            names.append(sg.get_variable("w", [1]).name)
    assert names == ["dense/w", "dense_1/w", "dense_2/w"]
    with pytest.raises(ValueError, match="If default_name is None then name_or_scope is required"):
        with sg.variable_scope(None):
            pass


def test_sharing_checks_shape_and_dtype():
    with sg.variable_scope("s"):
        sg.get_variable("v", (2, 3))
    with sg.variable_scope("s", reuse=True):
        with pytest.raises(ValueError, match=r"Trying to share variable s/v, but specified shape "
                                             r"\(3, 2\) and found shape \(2, 3\)"):
            sg.get_variable("v", (3, 2))
        with pytest.raises(ValueError, match="specified dtype float64 and found dtype float32"):
            sg.get_variable("v", (2, 3), dtype=sg.float64)


def test_constant_initializers_and_shape_rules():
    t = sg.get_variable("t", initializer=sg.constant(np.arange(4.0).reshape(2, 2)))
    a = sg.get_variable("a", initializer=np.array([1, 2, 3], np.int64))
    assert t.shape == (2, 2) and t.dtype == np.float64 and a.dtype == np.int64
    np.testing.assert_allclose(_init(t)[0], np.arange(4.0).reshape(2, 2))
    with pytest.raises(ValueError, match="If initializer is a constant, do not specify shape"):
        sg.get_variable("c", (2, 2), initializer=sg.constant(np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"Shape of a new variable \(u\) must be fully defined"):
        sg.get_variable("u")
    with pytest.raises(ValueError, match="must be fully defined"):
        sg.get_variable("u", (None, 3))


def test_scope_initializer_and_dtype_are_defaults_inner_ones_override():
    with sg.variable_scope("outer", initializer=sg.constant_initializer(0.3), dtype=sg.float64):
        a = sg.get_variable("a", [2])
        with sg.variable_scope("inner", initializer=sg.zeros_initializer()):
            b = sg.get_variable("b", [2])
            c = sg.get_variable("c", [2], initializer=sg.ones_initializer())
    assert a.dtype == b.dtype == c.dtype == np.float64
    a_value, b_value, c_value = _init(a, b, c)
    np.testing.assert_allclose(a_value, [0.3, 0.3])
    np.testing.assert_allclose(b_value, [0, 0])
    np.testing.assert_allclose(c_value, [1, 1])


def test_tf_variable_in_a_scope_is_not_shared_by_get_variable():
    with sg.variable_scope("m"):
        plain = sg.Variable(1.0, name="v")
    assert plain.name == "m/v"
    with sg.variable_scope("m", reuse=True):
        with pytest.raises(ValueError, match="does not exist, or was not created with"):
            sg.get_variable("v")


def test_trainable_collections_and_regularizer():
    with sg.variable_scope("r", regularizer=lambda w: 0.5 * sg.sum(w * w)):
        w = sg.get_variable("w", [3], initializer=sg.constant_initializer([1.0, 2.0, 3.0]))
        s = sg.get_variable("s", [], trainable=False, collections=["variables", "extra"])
    assert [v.name for v in sg.trainable_variables()] == ["r/w"]
    assert sg.get_default_graph().get_collection("extra") == [s]
    w_loss, s_loss = sg.get_default_graph().get_collection("regularization_losses")
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    np.testing.assert_allclose(sess.run(w_loss), 7.0)
    np.testing.assert_allclose(sess.run(s_loss), 0.5 * sess.run(s) ** 2)


def test_a_model_built_with_get_variable_trains_as_numpy():
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    y = sg.placeholder(sg.float64, (None, 1), name="y")
    with sg.variable_scope("linear", dtype=sg.float64):
        w = sg.get_variable("w", (3, 1), initializer=sg.random_normal_initializer(seed=3,
                                                                                  dtype=sg.float64))
        b = sg.get_variable("b", (1,), initializer=sg.zeros_initializer(dtype=sg.float64))
    loss = sg.mean((sg.matmul(x, w) + b - y) ** 2)
    step = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    w_np, b_np = sess.run([w, b])
    for _ in range(5):
        sess.run(step, {x: xs, y: ys})
        r = xs @ w_np + b_np - ys
        w_np, b_np = w_np - 0.1 * 2 * xs.T @ r / 8, b_np - 0.1 * 2 * r.mean(0)
    np.testing.assert_allclose(sess.run(w), w_np)
    np.testing.assert_allclose(sess.run(b), b_np)


def test_constant_initializer_completes_with_the_last_element_and_refuses_too_many():
    np.testing.assert_array_equal(sg.Session().run(sg.constant_initializer([1, 2])((2, 2))),
                                  [[1, 2], [2, 2]])
    with pytest.raises(ValueError, match="Too many elements provided. Needed at most 2, but "
                                         "received 3"):
        sg.constant_initializer([1, 2, 3])((2,))


def test_random_initializers_have_their_distributions_and_seeds():
    sess = sg.Session()
    normal = sess.run(sg.random_normal_initializer(1.0, 2.0, seed=1, dtype=sg.float64)((20000,)))
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 2.0) < 0.05
    truncated = sess.run(sg.truncated_normal_initializer(0.0, 0.5, seed=2)((20000,)))
    assert truncated.dtype == np.float32 and np.abs(truncated).max() <= 1.0
    assert abs(truncated.std() - 0.5 * 0.87962566) < 0.01
    uniform = sess.run(sg.random_uniform_initializer(-1.0, 3.0, seed=3)((20000,)))
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.05
    again = sess.run(sg.random_normal_initializer(seed=7)((5,)))
    np.testing.assert_array_equal(again, sess.run(sg.random_normal_initializer(seed=7)((5,))))


def test_glorot_uses_tf1s_fans_for_convolution_kernels():
    kernel = sg.Session().run(sg.glorot_uniform_initializer(seed=0)((3, 3, 16, 32)))
    limit = math.sqrt(6 / (3 * 3 * 16 + 3 * 3 * 32))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    with pytest.raises(ValueError, match="dtype must be float"):
        sg.glorot_uniform_initializer(dtype=sg.int32)
