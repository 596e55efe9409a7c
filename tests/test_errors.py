"""Error behaviour beyond the message table: atomic failed runs, run-time kernel failures,
closed sessions, feed conversions, and the error classes themselves."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def test_feeds_convert_safely_and_names_may_end_in_colon_zero():
    x = sg.placeholder(sg.float64, (None, 2), name="x")
    sess = sg.Session()
    np.testing.assert_array_equal(sess.run(x * 2, {x: [[1, 2]]}), [[2.0, 4.0]])  # ints into floats
    assert sess.run("x:0", {"x": [[3.0, 4.0]]}).tolist() == [[3.0, 4.0]]


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


def test_bad_unconnected_gradients_argument():
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(errors.InvalidArgumentError, match="unconnected_gradients"):
        sg.gradients(x * 2, [x], unconnected_gradients="maybe")


def test_error_classes_are_builtins_too():
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.ShapeError, errors.InvalidArgumentError)
    assert issubclass(errors.FailedPreconditionError, RuntimeError)
    assert issubclass(errors.NotFoundError, KeyError)
    assert str(errors.NotFoundError("plain text")) == "plain text"


def test_a_check_survives_the_optimiser_even_when_its_value_is_unused():
    x = sg.placeholder(sg.float64, (), name="x")
    y = sg.check_numerics(sg.log(x), "log of x") * 0.0
    with pytest.raises(errors.NumericsError, match="log of x"), np.errstate(invalid="ignore"):
        sg.Session().run(y, {x: -1.0})


def test_add_n_reads_an_input_that_shares_its_output_buffer():
    from staticgraph.ops.math import add_n_
    a, b, c = np.ones(3), np.full(3, 2.0), np.full(3, 3.0)
    np.testing.assert_array_equal(add_n_.kernel(a, b, c, out=c), [6.0, 6.0, 6.0])
