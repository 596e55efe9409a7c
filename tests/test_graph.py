"""Graph structure: node names and attributes, parallel edges, roles, scopes, control edges."""
import numpy as np
import pytest

import staticgraph as sg


def test_x_times_x_has_two_parallel_edges():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = x * x
    g = sg.get_default_graph()
    edges = sorted(d["index"] for _, _, d in g.nx.in_edges(y.name, data=True))
    assert edges == [0, 1]
    assert g.inputs(y.name) == ["x", "x"]


def test_node_attributes_and_unique_names():
    x = sg.placeholder(sg.float32, (None, 3), name="x")
    a = sg.sin(x)
    b = sg.sin(x)
    node = sg.get_default_graph().node(a.name)
    assert (a.name, b.name) == ("sin", "sin_1")
    assert node["op"] == "sin" and node["shape"] == (None, 3) and node["dtype"] == np.float32
    assert node["role"] == "forward" and node["attrs"] == {}
    assert node["source"].startswith("test_graph.py:")


def test_name_scopes_nest_and_absolute_scopes_replace():
    g = sg.Graph()
    with g.as_default():
        with sg.name_scope("layer1"):
            with sg.name_scope("inner"):
                a = sg.constant(1.0, name="a")
            with sg.name_scope("top/"):
                b = sg.constant(2.0, name="b")
    assert a.name == "layer1/inner/a" and b.name == "top/b"


def test_gradient_nodes_have_role_and_scope():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = 2 * sg.dot(x, x)
    (dx,) = sg.gradients(y, x)
    g = sg.get_default_graph()
    grads = [n for n, d in g.nx.nodes(data=True) if d["role"] == "gradient"]
    assert grads and all(n.startswith("gradients/") for n in grads)
    assert dx.role == "gradient"
    forward = {n for n, d in g.nx.nodes(data=True) if d["role"] == "forward"}
    assert forward == {"x", "Const", "dot", "multiply"}


def test_gradient_visits_only_nodes_between_xs_and_ys():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    side = sg.exp(w)  # depends on w only
    y = sg.sum(sg.sin(x) * side)
    before = len(sg.get_default_graph())
    sg.gradients(y, [x])
    g = sg.get_default_graph()
    new_ops = [g.node(n)["op"] for n in list(g.nx.nodes)[before:]]
    assert "exp" not in new_ops  # the exp node's vjp was never run
    assert new_ops.count("cos") == 1


def test_paths_meeting_are_summed_with_one_add_n():
    x = sg.placeholder(sg.float64, (), name="x")
    y = sg.sin(x) + sg.cos(x) + x * 3
    (dx,) = sg.gradients(y, x)
    assert dx.op == "add_n"
    assert len(sg.get_default_graph().inputs(dx.name)) == 3
    value = sg.Session().run(dx, {x: 0.7})
    np.testing.assert_allclose(value, np.cos(0.7) - np.sin(0.7) + 3)


def test_bool_of_a_tensor_explains_define_then_run():
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(TypeError, match="sg.cond.*sg.while_loop"):
        if x > 0:
            pass


def test_graphs_are_separate_and_default_restored():
    outer = sg.get_default_graph()
    g = sg.Graph()
    with g.as_default():
        assert sg.get_default_graph() is g
        sg.constant(1.0)
    assert sg.get_default_graph() is outer and len(g) == 1


def test_control_dependencies_add_control_edges():
    v = sg.Variable(0.0, name="v")
    inc = v.assign_add(1.0)
    with sg.control_dependencies([inc]):
        out = v.read_value()
    g = sg.get_default_graph()
    assert g.control_inputs(out.name) == [inc.name]
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        assert sess.run(out) == 1.0


def test_tensor_methods_build_the_right_ops():
    x = sg.placeholder(sg.float64, (2, 3), name="x")
    assert x.T.shape == (3, 2) and x.sum(axis=0).shape == (3,)
    assert x.mean().shape == () and x.reshape(3, 2).shape == (3, 2) and x.norm().op == "norm"
    assert (x[0] @ x.T).shape == (2,) and (-x).op == "negative" and (x ** 2).op == "power"
    assert (x < 1).dtype == np.bool_ and (x == x).dtype == np.bool_


def test_gradient_pass_leaves_no_unused_nodes():
    x = sg.placeholder(sg.float64, (4,), name="x")
    w = sg.placeholder(sg.float64, (4,), name="w")
    u = sg.stop_gradient(x * x)
    (dx,) = sg.gradients(sg.sum(u * x * w), [x])
    g = sg.get_default_graph()
    import networkx as nx
    needed = nx.ancestors(g.nx, dx.name) | {dx.name}
    unused = [n for n, d in g.nx.nodes(data=True) if d["role"] == "gradient" and n not in needed]
    assert unused == []
    np.testing.assert_array_equal(sg.Session().run(dx, {x: np.arange(4.0), w: np.ones(4)}), np.arange(4.0) ** 2)
