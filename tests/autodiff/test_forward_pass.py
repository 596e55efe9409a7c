"""The sg.jvp graph pass: what it adds, where, the arguments it takes, and its errors."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors

X = np.array([0.5, -1.0, 2.0])


def _snapshot(graph):
    return {n: (d["op"], d["role"], graph.inputs(n)) for n, d in graph.nx.nodes(data=True)}


def test_tangent_nodes_join_the_same_graph_in_their_scope_and_role():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(sg.sin(x) * x, name="y")
    graph = x.graph
    before = _snapshot(graph)
    (ty,) = sg.jvp(y, x, np.ones(3))
    after = _snapshot(graph)
    assert {n: after[n] for n in before} == before, "the pass must not change existing nodes"
    added = set(after) - set(before)
    assert added and all(n.startswith("jvp/") for n in added)
    assert {graph.node(n)["role"] for n in added} == {"tangent"}
    assert ty.name in added and ty.shape == () and ty.dtype == sg.float64


def test_only_nodes_between_xs_and_ys_get_tangents():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    unrelated = sg.exp(w, name="unrelated")            # on no path from x
    dead_end = sg.cos(x, name="dead_end")               # does not reach y
    y = sg.sum(sg.sin(x) * unrelated, name="y")
    before = set(x.graph.nx)
    sg.jvp(y, x, np.ones(3))
    added_ops = [x.graph.node(n)["op"] for n in set(x.graph.nx) - before]
    # sin's tangent needs cos(x); nothing comes from exp (unrelated) or from the dead end.
    assert sorted(added_ops) == ["constant", "cos", "multiply", "multiply", "sum"]
    assert not any(dead_end.name in x.graph.inputs(n) for n in set(x.graph.nx) - before)


def test_values_are_the_directional_derivative():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    y = sg.sum(sg.sin(x) * w)
    u = np.array([1.0, 2.0, -1.0])
    tx, tw = sg.jvp([y, sg.sin(x)], [x, w], [u, np.zeros(3)])
    wv = np.array([2.0, 0.5, 1.0])
    values = sg.Session().run([tx, tw], {x: X, w: wv})
    np.testing.assert_allclose(values[0], np.sum(np.cos(X) * wv * u))
    np.testing.assert_allclose(values[1], np.cos(X) * u)


def test_notes_linear_regression_forward_mode():
    """The notes' z = (x w - y)^2 (§2.2): dz/dx = 2 b w with b = x w - y, one input at a time."""
    x, w, y = (sg.placeholder(sg.float64, (), name=n) for n in ("x", "w", "y"))
    z = (x * w - y) ** 2
    dz_dx, dz_dw = sg.jvp(z, x)[0], sg.jvp(z, w)[0]
    values = sg.Session().run([dz_dx, dz_dw], {x: 1.5, w: -2.0, y: 0.25})
    b = 1.5 * -2.0 - 0.25
    np.testing.assert_allclose(values, [2 * b * -2.0, 2 * b * 1.5])


def test_single_tensors_and_default_tangents_of_ones():
    x = sg.placeholder(sg.float64, (), name="x")
    result = sg.jvp(x ** 3, x)
    assert isinstance(result, list) and len(result) == 1
    assert sg.Session().run(result[0], {x: 2.0}) == pytest.approx(12.0)


def test_unconnected_and_integer_ys_get_zeros():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (2,), name="w")
    stopped = sg.stop_gradient(x) * 2
    counted = sg.argmax(x, 0)
    tangents = sg.jvp([w * 2, stopped, counted], x, np.ones(3))
    values = sg.Session().run(tangents, {x: X, w: np.ones(2)})
    np.testing.assert_array_equal(values[0], np.zeros(2))
    np.testing.assert_array_equal(values[1], np.zeros(3))
    assert values[2] == 0 and tangents[2].dtype == sg.int64


def test_a_y_that_is_an_x_gets_its_own_tangent_and_repeated_xs_add():
    x = sg.placeholder(sg.float64, (3,), name="x")
    (tx,) = sg.jvp(x, x, np.full(3, 2.0))
    (twice,) = sg.jvp(x * 3, [x, x], [np.ones(3), np.ones(3)])
    values = sg.Session().run([tx, twice], {x: X})
    np.testing.assert_array_equal(values[0], np.full(3, 2.0))
    np.testing.assert_array_equal(values[1], np.full(3, 6.0))


def test_float32_tangents_stay_float32():
    x = sg.placeholder(sg.float32, (3,), name="x")
    (ty,) = sg.jvp(sg.tanh(x) * 2.0, x, np.ones(3))
    assert ty.dtype == sg.float32
    value = sg.Session().run(ty, {x: X.astype(np.float32)})
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, 2 * (1 - np.tanh(X) ** 2), rtol=1e-6)


def test_variables_can_be_xs():
    v = sg.Variable(np.array([1.0, 2.0]), name="v")
    (tv,) = sg.jvp(sg.sum(v * v), v, np.array([1.0, 0.0]))
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        assert sess.run(tv) == pytest.approx(2.0)


def test_errors_name_the_culprit():
    x = sg.placeholder(sg.float64, (3,), name="x")
    n = sg.placeholder(sg.int64, (3,), name="n")
    y = sg.sum(x)
    with pytest.raises(errors.InvalidArgumentError, match="'n' is int64"):
        sg.jvp(y, n, np.ones(3, np.int64))
    with pytest.raises(errors.InvalidArgumentError, match=r"shape \(2,\), x has \(3,\)"):
        sg.jvp(y, x, np.ones(2))
    with pytest.raises(errors.InvalidArgumentError, match="float32, x is float64"):
        sg.jvp(y, x, sg.constant(np.ones(3), dtype=sg.float32))
    with pytest.raises(errors.InvalidArgumentError, match="2 tangents for 1 xs"):
        sg.jvp(y, [x], [np.ones(3), np.ones(3)])
    with pytest.raises(errors.InvalidArgumentError, match="static Tensors"):
        sg.jvp(y, np.ones(3), np.ones(3))
    other = sg.Graph()
    with other.as_default():
        z = sg.placeholder(sg.float64, (3,), name="z")
    with pytest.raises(errors.GraphError, match="another graph"):
        sg.jvp(y, z, np.ones(3))


def test_jvp_of_jvp_gives_second_directional_derivatives():
    x = sg.placeholder(sg.float64, (), name="x")
    (first,) = sg.jvp(sg.sin(x) * x, x)
    (second,) = sg.jvp(first, x)
    value = sg.Session().run(second, {x: 0.8})
    assert value == pytest.approx(2 * np.cos(0.8) - 0.8 * np.sin(0.8))
