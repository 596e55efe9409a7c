"""AutoGraph's conversion: tensor conditions become graph ops, Python ones stay Python."""
import json

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import autograph, eager


def forward_ops(fn, *args) -> list:
    graph = fn.graph_for(*args)
    return [d["op"] for _, d in graph.nx.nodes(data=True) if d["role"] == "forward"]


def scale(x, flag, n):
    if flag:                                    # a Python bool: stays Python
        x = x * 2
    for _ in range(n):                          # a Python count: unrolled
        x = x + 1
    return x


def test_python_conditions_and_counts_stay_python():
    traced = sg.function(scale)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(traced(x, True, 3), [5.0, 7.0])
    np.testing.assert_array_equal(traced(x, False, 2), [3.0, 4.0])
    ops = forward_ops(traced, x, True, 3)
    assert "cond" not in ops and "while_loop" not in ops and ops.count("add") == 3


def doubling_count(x):
    i = 0
    while x < 100:
        x = x * 2
        i += 1
    return x, i


def test_a_tensor_while_carries_every_variable_it_assigns():
    traced = sg.function(doubling_count)
    for x0 in [3.0, 0.01, 150.0]:
        x, i = traced(np.float64(x0))
        expected_x, expected_i = doubling_count(x0)
        assert (float(x), int(i)) == (expected_x, expected_i)
    assert len(traced.traces) == 1 and "while_loop" in forward_ops(traced, np.float64(1.0))


def weighted_sum(x, n):
    s = x * 0.0
    for i in range(n):
        s = s + x * sg.cast(i, sg.float64)
    return s


def test_a_range_with_a_tensor_bound_is_a_graph_loop():
    traced = sg.function(weighted_sum)
    x = np.array([1.0, -2.0])
    for n in [0, 1, 4]:
        np.testing.assert_array_equal(traced(x, np.int64(n)), x * sum(range(n)))
    assert len(traced.traces) == 1
    np.testing.assert_array_equal(traced(x, 4), x * 6)  # a Python n unrolls


def sign_and_size(x):
    if x > 0:
        if x > 10:                              # nested in a tensor branch
            label = 2.0 * x
        else:
            label = x
    elif x < -10:
        label = -x
    else:
        label = x * 0.0
    return label


def test_nested_and_elif_branches():
    traced = sg.function(sign_and_size)
    for x in [20.0, 5.0, -20.0, -5.0]:
        assert float(traced(np.float64(x))) == sign_and_size(x)
    assert forward_ops(traced, np.float64(1.0)).count("cond") == 1  # the others are inside it


def helper(b):
    while b.norm() < 10:
        b = b * 3
    return b


class Model:
    def grow(self, b):
        return self.step(b) + 1

    def step(self, b):
        return helper(b)


def test_called_user_functions_and_methods_are_converted_once():
    traced = sg.function(Model().grow)
    np.testing.assert_array_equal(traced(np.float64(2.0)), 19.0)
    assert "while_loop" in forward_ops(traced, np.float64(2.0))
    assert autograph.convert(helper) is autograph.convert(helper)
    assert autograph.convert(autograph.convert(helper)) is autograph.convert(helper)


def test_library_code_is_not_converted():
    assert not autograph.is_user_code(json.dumps)
    assert not autograph.is_user_code(sg.function)
    assert autograph.is_user_code(helper)
    assert autograph.convert(json.dumps) is json.dumps


def test_a_converted_function_runs_eagerly_as_python():
    b = eager.tensor(np.float64(2.0), requires_grad=True)
    y = autograph.convert(helper)(b)
    y.backward()
    assert float(y) == 18.0 and float(b.grad) == 9.0


def test_closures_stay_live():
    factor = 2.0

    def times(x):
        if x > 0:
            x = x * factor
        return x
    converted = autograph.convert(times)
    factor = 5.0
    assert converted(3.0) == 15.0


def test_autograph_false_traces_as_written():
    assert sg.function(scale, autograph=False)(np.ones(2), True, 1).tolist() == [3.0, 3.0]
    traced = sg.function(helper, autograph=False)
    with pytest.raises(TypeError, match="sg.while_loop"):
        traced(np.float64(2.0))
