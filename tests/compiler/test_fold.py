"""fold_constants: constant subexpressions computed once; stateful, controlled or failing nodes kept."""
import numpy as np

import staticgraph as sg
from staticgraph.compiler import fold_constants, prune, verify
from staticgraph.compiler.fold import FOLD_LIMIT_BYTES
from tests.compiler.helpers import assert_same_structure, structure


def test_folds_a_constant_subexpression_into_one_constant():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (2,), name="x")
        c = sg.multiply(sg.constant([1.0, 2.0], name="a"), sg.constant(3.0, name="b"), name="c")
        sg.add(x, sg.exp(c, name="e"), name="y")
    folded = verify(fold_constants(prune(g, ["y"], ["x"])))
    expected = sg.Graph()
    with expected.as_default():
        x2 = sg.placeholder(sg.float32, (2,), name="x")
        sg.constant([1.0, 2.0], name="a")
        sg.constant(3.0, name="b")
        sg.constant([3.0, 6.0], name="c")
        sg.add(x2, sg.constant(np.exp(np.float32([3.0, 6.0])), name="e"), name="y")
    assert_same_structure(folded, expected)
    assert not folded.node("e")["attrs"]["value"].flags.writeable


def test_keeps_what_must_run_each_time():
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.ones(2), name="w")
        read = sg.multiply(w, 2.0, name="read")  # a variable is not a constant
        gate = sg.no_op(name="gate")
        with sg.control_dependencies([gate]):
            held = sg.multiply(sg.constant(2.0), 3.0, name="held")  # ordered after gate
        bad = sg.reshape(sg.constant(np.arange(6.0)), (2, 3), name="ok")
    folded = fold_constants(g)
    assert folded.node("read")["op"] == "multiply"
    assert folded.node("held")["op"] == "multiply"
    assert folded.node("ok")["op"] == "constant"
    assert structure(g)["read"][0] == "multiply"  # the input graph is untouched


def test_large_results_stay_computed():
    g = sg.Graph()
    n = FOLD_LIMIT_BYTES // 8 + 1
    with g.as_default():
        sg.zeros((n,), sg.float64, name="big")
        sg.zeros((4,), sg.float64, name="small")
    folded = fold_constants(g)
    assert folded.node("big")["op"] == "filled" and folded.node("small")["op"] == "constant"


def test_a_failing_kernel_is_left_for_the_run_to_report():
    g = sg.Graph()
    with g.as_default():
        c = sg.constant(np.arange(3.0), name="c")
        sg.getitem(c, 1, name="ok")
        node = g.node("ok")
        node["attrs"] = {"key": (7,)}  # out of range once evaluated
    folded = fold_constants(g)
    assert folded.node("ok")["op"] == "getitem"
