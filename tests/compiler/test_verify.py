"""verify: accepts well-formed graphs, names the culprit in malformed ones; rebuild copies faithfully."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import prune, rebuild, verify
from staticgraph.compiler.rewrite import Replace, add_constant
from staticgraph.errors import GraphError
from tests.compiler.helpers import assert_same_structure, structure


def _small_graph():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        w = sg.Variable(np.ones((3, 2)), name="w")
        y = sg.matmul(x, w, name="y")
        with sg.control_dependencies([y]):
            z = sg.sum(y * y, name="z")
        step = w.assign_sub(np.full((3, 2), 0.1), name="step")
    return g, x, y, z, step


def test_user_graphs_verify():
    g, *_ = _small_graph()
    assert verify(g) is g


def test_rebuild_copies_nodes_edges_and_leaves_the_input_alone():
    g, *_ = _small_graph()
    before = structure(g)
    copy = verify(rebuild(g))
    assert copy is not g and copy.nx is not g.nx
    assert_same_structure(copy, g)
    assert structure(g) == before
    assert copy.control_inputs("z") == ["y"]
    refs = [u for u, _, d in copy.nx.in_edges("step", data=True) if d.get("ref")]
    assert refs == ["w"]
    assert copy.node("z")["source"] == g.node("z")["source"]
    assert copy.tensor("z").graph is copy


def test_rebuild_aliases_and_replacements_follow_through_uses():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        a = sg.identity(x, name="a")
        b = sg.sin(a, name="b")

    def visit(new, name, node, inputs):
        if name == "a":
            return "x"
        if name == "b":
            return Replace("cos", tuple(inputs), {})
        return None

    new = verify(rebuild(g, visit))
    assert sorted(new.nx) == ["b", "x"]
    assert new.node("b")["op"] == "cos" and new.inputs("b") == ["x"]


def test_added_constants_never_take_a_name_still_to_come():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (), name="x")
        y = sg.sin(x, name="y")
        sg.identity(y, name="y_const")  # a later node with the name the helper tries first
    added = []

    def visit(new, name, node, inputs):
        if name == "y":
            added.append(add_constant(new, g, np.array(2.0), "y"))
            return Replace("multiply", (inputs[0], added[0]), {})
        return None

    new = verify(rebuild(g, visit))
    assert added == ["y_const_1"] and new.node("y_const")["op"] == "identity"
    assert new.inputs("y") == ["x", "y_const_1"]


def test_a_cycle_is_reported():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (), name="x")
        y = sg.sin(x, name="y")
    g.add_control_input("x", "y")
    with pytest.raises(GraphError, match="cycle"):
        verify(g)


def test_a_wrong_shape_names_the_node_and_its_source():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        sg.sin(x, name="y")
    g.nx.nodes["y"]["shape"] = (4,)
    with pytest.raises(GraphError, match=r"node 'y' \(sin, created at test_verify.py:\d+\).*\(4,\)"):
        verify(g)


def test_gaps_in_input_indices_and_missing_nodes_are_reported():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        sg.add(x, x, name="y")
    key = next(k for _, _, k, d in g.nx.in_edges("y", keys=True, data=True) if d["index"] == 0)
    g.nx.edges["x", "y", key]["index"] = 2
    with pytest.raises(GraphError, match=r"indices \[1, 2\]"):
        verify(g)
    g2 = sg.Graph()
    with g2.as_default():
        sg.placeholder(sg.float64, (3,), name="x")
    g2.nx.add_edge("ghost", "x", control=True)
    with pytest.raises(GraphError, match="'ghost' lacks"):
        verify(g2)


def test_unknown_fetches_are_reported():
    g, *_ = _small_graph()
    pruned = prune(g, ["z"], ["x"])
    pruned.add_to_collection("compiler.fetches", "nowhere")
    with pytest.raises(GraphError, match="'nowhere'"):
        verify(pruned)
