"""prune: only what the fetches need, fed nodes as placeholders, the input graph untouched."""
import numpy as np

import staticgraph as sg
from staticgraph.compiler import feeds_of, fetches_of, prune, verify
from tests.compiler.helpers import assert_same_structure, run_compiled_graph, structure


def test_keeps_the_ancestors_of_the_fetches_only():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        y = sg.sin(x, name="y")
        sg.cos(x, name="unused")
        z = sg.exp(y, name="z")
    before = structure(g)
    pruned = verify(prune(g, ["z"], ["x"]))
    expected = sg.Graph()
    with expected.as_default():
        x2 = sg.placeholder(sg.float64, (3,), name="x")
        sg.exp(sg.sin(x2, name="y"), name="z")
    assert_same_structure(pruned, expected)
    assert structure(g) == before
    assert fetches_of(pruned) == ["z"] and feeds_of(pruned) == ["x"]


def test_a_fed_intermediate_becomes_a_placeholder_and_its_inputs_go():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        y = sg.sin(x, name="y")
        z = sg.exp(y, name="z")
    pruned = verify(prune(g, ["z"], ["y"]))
    assert sorted(pruned.nx) == ["y", "z"]
    assert pruned.node("y")["op"] == "placeholder" and pruned.node("y")["shape"] == (3,)
    (value,) = run_compiled_graph(pruned, {"y": np.zeros(3)})
    np.testing.assert_array_equal(value, np.ones(3))


def test_control_dependencies_are_kept_and_refs_alone_do_not_keep_a_variable():
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.zeros(2), name="w")
        init = sg.global_variables_initializer()
        log = sg.no_op(name="log")
        with sg.control_dependencies([log]):
            y = sg.identity(sg.constant([1.0, 2.0], name="c"), name="y")
    pruned = verify(prune(g, [y.name, init.name], []))
    assert "log" in pruned and pruned.control_inputs("y") == ["log"]
    assert "w" not in pruned  # the initializer writes w; it does not read it
    assert "w/Assign" in pruned and "w/initial_value" in pruned


def test_repeated_fetches_keep_their_order():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (), name="x")
        y = sg.sin(x, name="y")
    assert fetches_of(prune(g, ["y", "x", "y"], ["x"])) == ["y", "x", "y"]
