"""Seeing inside: explain_gradient, per-node gradient checks, and the where NaN trap."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors
from staticgraph.ops.shapes import same_as_input


@pytest.fixture
def x():
    return sg.placeholder(sg.float64, (3,), name="x")


def test_explain_each_reason(x, capsys):
    w = sg.placeholder(sg.float64, (3,), name="w")
    assert sg.explain_gradient(sg.sum(w * 2), x).kind == "no_path"
    stopped = sg.explain_gradient(sg.sum(sg.stop_gradient(x * x) * w), x)
    assert stopped.kind == "stopped" and stopped.culprits == ("stop_gradient",)
    argmax = sg.explain_gradient(sg.cast(sg.argmax(x), sg.float64), x)
    assert argmax.kind == "not_differentiable" and argmax.culprits == ("argmax",)
    cast = sg.explain_gradient(sg.cast(sg.cast(x, sg.int32, name="to_int"), sg.float64) * 2, x)
    assert cast.kind == "not_float" and cast.culprits == ("to_int",)
    assert sg.explain_gradient(sg.sum(x * x), x).kind == "connected"
    assert "passes an op with no derivative: 'argmax' (argmax, created at test_explain.py:" in capsys.readouterr().out


def test_explain_with_some_paths_open(x):
    y = sg.sum(sg.stop_gradient(x) * x)
    assert sg.explain_gradient(y, x, verbose=False).kind == "connected"
    assert sg.explain_gradient(y, x, stop_gradients=[x * 1], verbose=False).kind == "connected"


def test_unconnected_raise_uses_the_explanation(x):
    y = sg.sum(sg.stop_gradient(x * x))
    with pytest.raises(errors.InvalidArgumentError,
                       match="no gradient for 'x': every path from 'x' to 'sum' passes a stop_gradient"):
        sg.gradients(y, [x], unconnected_gradients="raise")


def test_per_node_check_finds_the_wrong_rule(x):
    wrong = sg.defop("user_cube_wrong", kernel=lambda a: a ** 3, shape_rule=same_as_input,
                     vjp=lambda ct, a, out: [ct * 2 * a * a])
    right = sg.defop("user_cube_right", kernel=lambda a: a ** 3, shape_rule=same_as_input,
                     vjp=lambda ct, a, out: [ct * 3 * a * a])
    feed = {x: np.array([0.3, -0.7, 1.1])}
    assert sg.testing.gradcheck(sg.sum(sg.sin(right(sg.tanh(x)))), [x], feed, per_node=True)
    with pytest.raises(sg.testing.GradcheckError,
                       match=r"the vjp of node 'user_cube_wrong' \(user_cube_wrong, created at test_explain.py:\d+, "
                             r"inputs \(3,\)\) disagrees"):
        sg.testing.gradcheck(sg.sum(sg.sin(wrong(sg.tanh(x)))), [x], feed, per_node=True)


def test_where_nan_trap_is_pinned_in_both_styles():
    from examples.where_nan_trap import main
    results = main()
    for grad in results["where(x > 0, log(x), 0)"]:
        assert np.isnan(grad[1]) and grad[0] == 0.0 and grad[2] == 0.5
    for grad in results["safe pattern"]:
        np.testing.assert_array_equal(grad, [0.0, 0.0, 0.5])
