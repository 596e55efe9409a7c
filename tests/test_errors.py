"""Every foundation error: its type, and a message naming the culprit and the user's line."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def test_build_time_shape_mismatch_names_op_shapes_and_line():
    a = sg.placeholder(sg.float32, (3, 4), name="a")
    b = sg.placeholder(sg.float32, (5, 6), name="b")
    with pytest.raises(errors.InvalidArgumentError) as info:
        sg.matmul(a, b)
    assert str(info.value).startswith("matmul: inner dims differ: (3, 4) @ (5, 6) at test_errors.py:")
    assert isinstance(info.value, ValueError)


def test_broadcast_and_dtype_mismatches():
    a = sg.placeholder(sg.float32, (3,), name="a")
    with pytest.raises(errors.InvalidArgumentError, match=r"add: shapes do not broadcast: \(3,\) vs \(4,\)"):
        a + sg.placeholder(sg.float32, (4,))
    with pytest.raises(errors.InvalidArgumentError, match="dtypes differ: float32 vs float64.*sg.cast"):
        a * sg.placeholder(sg.float64, (3,))
    with pytest.raises(errors.InvalidArgumentError, match="reshape: cannot reshape"):
        sg.reshape(a, (2, 2))


def test_missing_feed_names_placeholder_and_fetch():
    x = sg.placeholder(sg.float64, (2,), name="x")
    y = sg.sin(x)
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"placeholder 'x' \(created at test_errors.py:\d+\) must be fed: fetch 'sin'"):
        sg.Session().run(y)


def test_wrong_feed_shape_and_dtype():
    x = sg.placeholder(sg.float64, (None, 2), name="x")
    sess = sg.Session()
    with pytest.raises(errors.InvalidArgumentError, match=r"shape \(3,\) does not fit placeholder 'x'.*\(None, 2\)"):
        sess.run(x * 2, {x: np.ones(3)})
    i = sg.placeholder(sg.int32, (2,), name="i")
    with pytest.raises(errors.InvalidArgumentError, match="cannot feed a float64 value to placeholder 'i'"):
        sess.run(i + 1, {i: np.ones(2)})
    out = sess.run(x * 2, {x: [[1, 2]]})  # ints into a float placeholder are fine
    np.testing.assert_array_equal(out, [[2.0, 4.0]])


def test_unknown_feed_key_and_fetch_name():
    x = sg.placeholder(sg.float64, (), name="x")
    sess = sg.Session()
    with pytest.raises(errors.NotFoundError, match="feed key 'nope' names no node"):
        sess.run(x * 2, {"nope": 1.0})
    with pytest.raises(KeyError):
        sess.run("missing_node", {x: 1.0})
    assert sess.run("x:0", {"x": 3.0}) == 3.0


def test_tensor_of_another_graph():
    other = sg.Graph()
    with other.as_default():
        t = sg.constant(1.0)
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(errors.GraphError, match="another graph"):
        sg.Session().run(t)
    with pytest.raises(errors.GraphError, match="different graphs"):
        x + t


def test_uninitialised_variable_names_it():
    w = sg.Variable(np.ones(2), name="w")
    with pytest.raises(errors.FailedPreconditionError, match="variable 'w' is read before it is initialised"):
        sg.Session().run(w * 2)


def test_failed_run_changes_no_variable():
    w = sg.Variable(1.0, name="w")
    x = sg.placeholder(sg.float64, (), name="x")
    update = w.assign_add(10.0)
    with sg.control_dependencies([update]):
        checked = sg.check_numerics(sg.log(x), "log of x")
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    with pytest.raises(errors.InvalidArgumentError, match="log of x: found 1 NaN"), \
            np.errstate(invalid="ignore"):
        sess.run(checked, {x: -1.0})
    assert sess.run(w) == 1.0
    sess.run(checked, {x: 1.0})
    assert sess.run(w) == 11.0


def test_runtime_kernel_failure_names_node_and_source():
    a = sg.placeholder(sg.float64, (None,), name="a")
    b = sg.placeholder(sg.float64, (None,), name="b")
    c = a + b
    with pytest.raises(errors.InvalidArgumentError, match=r"add failed at node 'add' \(created at test_errors.py:\d+\)"):
        sg.Session().run(c, {a: np.ones(2), b: np.ones(3)})


def test_closed_session_refuses_runs():
    sess = sg.Session()
    sess.close()
    with pytest.raises(errors.FailedPreconditionError, match="closed"):
        sess.run(sg.constant(1.0))


def test_gradients_argument_errors():
    x = sg.placeholder(sg.float64, (), name="x")
    i = sg.placeholder(sg.int32, (), name="i")
    with pytest.raises(errors.InvalidArgumentError, match="only float"):
        sg.gradients(x * 2, [i])
    with pytest.raises(errors.InvalidArgumentError, match="unconnected_gradients"):
        sg.gradients(x * 2, [x], unconnected_gradients="maybe")
    other = sg.placeholder(sg.float64, (), name="other")
    with pytest.raises(errors.InvalidArgumentError, match="does not depend on 'other'"):
        sg.gradients(x * 2, [other], unconnected_gradients="raise")


def test_error_classes_are_builtins_too():
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.FailedPreconditionError, RuntimeError)
    assert issubclass(errors.NotFoundError, KeyError)
    assert str(errors.NotFoundError("plain text")) == "plain text"
