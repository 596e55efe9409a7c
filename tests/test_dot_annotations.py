"""Seeing inside: derivative annotations, values from one run, and cuts (stop_gradient / detach)."""
import html
import re
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.annotate import derivative_rows, value_text
from staticgraph.io.dot_style import STOP_COLOR

from tests.test_dot import edges, node_attrs

DOCS = Path(__file__).resolve().parents[1] / "docs"
LR_FEED = {"x": np.array([1.0, 2.0, 3.0]), "w": np.array([0.5, -1.0, 2.0]), "y": 1.0}


def rows(dot, name):
    """The annotation rows of node `name` (the blue ones), as plain text."""
    label = node_attrs(dot, name)["label"]
    return [html.unescape(r) for r in re.findall(r'<FONT COLOR="#1c4587">(.*?)</FONT>', label)]


@pytest.fixture
def regression():
    """The notes' linear regression z = (x·w − y)², named as in the notes, and its gradients."""
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    y = sg.placeholder(sg.float64, (), name="y")
    a = sg.dot(x, w, name="a")
    b = sg.subtract(a, y, name="b")
    z = sg.power(b, 2, name="z")
    dx, dw = sg.gradients(z, [x, w])
    return dict(x=x, w=w, y=y, a=a, b=b, z=z, dx=dx, dw=dw,
                feed={x: LR_FEED["x"], w: LR_FEED["w"], y: LR_FEED["y"]})


def test_the_regression_reads_like_the_notes_reverse_mode(regression):
    dot = sg.to_dot([regression["dx"], regression["dw"]], annotate="derivatives")
    text = dot.to_string()
    for formula in ("∂z/∂z = 1", "∂z/∂b = 2b", "∂b/∂a = 1", "∂a/∂x = w", "ct · w", "∂a/∂w = x"):
        assert formula in text
    assert rows(dot, regression["dx"].name) == ["∂a/∂x = w", "ct · w"]
    assert rows(dot, regression["dw"].name) == ["∂a/∂w = x", "ct · x"]
    # the node both ∂z/∂b and ∂b/∂a describe: the cotangent of b passes unchanged to a
    (shared,) = [n for n in regression["x"].graph.nx if "∂z/∂b = 2b" in rows(dot, n)]
    assert rows(dot, shared) == ["∂z/∂b = 2b", "ct · 2b", "∂b/∂a = 1", "ct"]


def test_without_annotate_no_formula_is_drawn(regression):
    text = sg.to_dot([regression["dx"]]).to_string()
    assert "/∂" not in text and "ct ·" not in text
    with pytest.raises(InvalidArgumentError, match="annotate"):
        sg.to_dot(regression["dx"], annotate="formulas")


def test_gradient_nodes_know_the_forward_node_and_input_they_serve(regression):
    graph = regression["x"].graph
    assert graph.node(regression["dx"].name)["cotangent_of"] == (("a", 0),)
    assert graph.node(regression["dw"].name)["cotangent_of"] == (("a", 1),)
    built_by = {d["grad_of"] for _, d in graph.nx.nodes(data=True) if "grad_of" in d}
    assert built_by == {"z", "a"}, "b's vjp passes the cotangent through: it builds no node"
    forward = [n for n, d in graph.nx.nodes(data=True) if d["role"] == "forward"]
    assert all(derivative_rows(graph, n) == [] for n in forward)


# op builder -> (forward node name, input position, the row expected on that input's cotangent)
TABLE_CASES = [
    (lambda x, w: sg.sin(x, name="s"), 0, "∂s/∂x = cos x"),
    (lambda x, w: sg.log(x, name="l"), 0, "∂l/∂x = 1/x"),
    (lambda x, w: sg.tanh(x, name="t"), 0, "∂t/∂x = 1 − t²"),
    (lambda x, w: sg.exp(x, name="e"), 0, "∂e/∂x = e"),
    (lambda x, w: sg.divide(x, w, name="q"), 1, "∂q/∂w = −q/w"),
    (lambda x, w: sg.power(x, w, name="p"), 1, "∂p/∂w = ln(x)·p"),
    (lambda x, w: sg.power(x, w, name="p"), 0, "∂p/∂x = w·x^(w−1)"),
    (lambda x, w: sg.power(x, 3.0, name="p"), 0, "∂p/∂x = 3x^2"),
    (lambda x, w: sg.subtract(x, w, name="d"), 1, "∂d/∂w = −1"),
    (lambda x, w: sg.square(x, name="sq"), 0, "∂sq/∂x = 2x"),
]


@pytest.mark.parametrize("build,index,expected", TABLE_CASES)
def test_each_op_shows_its_local_derivative(build, index, expected):
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    grads = sg.gradients(sg.sum(build(x, w)), [x, w])
    assert expected in derivative_rows(x.graph, grads[index].name)


def test_matrix_products_keep_the_order_of_the_chain_rule():
    a = sg.placeholder(sg.float64, (2, 3), name="A")
    b = sg.placeholder(sg.float64, (3, 4), name="B")
    da, db = sg.gradients(sg.sum(sg.matmul(a, b, name="C")), [a, b])
    assert derivative_rows(a.graph, da.name) == ["∂C/∂A = Bᵀ", "ct @ Bᵀ"]
    assert derivative_rows(a.graph, db.name) == ["∂C/∂B = Aᵀ", "Aᵀ @ ct"]


def test_fan_in_sums_are_marked_where_paths_meet():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(sg.multiply(x, x, name="sq") + sg.sin(x, name="s"))
    (dx,) = sg.gradients(y, [x])
    assert dx.op == "add_n" and dx.node["paths_meet_at"] == "x"
    dot = sg.to_dot(dx, annotate="derivatives")
    drawn = node_attrs(dot, dx.name)
    assert drawn["peripheries"] == "2" and rows(dot, dx.name) == ["Σ: paths meet at x"]
    assert "where gradient paths meet" in node_attrs(dot, "sg legend")["label"]
    # x * x: each input position has its own cotangent, ct · x
    parts = [n for n in x.graph.inputs(dx.name) if x.graph.node(n).get("grad_of") == "sq"]
    assert sorted(derivative_rows(x.graph, p)[0] for p in parts) == ["∂sq/∂x = x", "∂sq/∂x = x"]
    assert "peripheries" not in node_attrs(sg.to_dot(dx), dx.name), "only when annotating"
    np.testing.assert_allclose(sg.Session().run(dx, {x: np.array([0.0, 1.0, 2.0])}),
                               2 * np.array([0.0, 1.0, 2.0]) + np.cos([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("convention,formula", [
    ("zero", "∂r/∂x = [x > 0]"), ("half", "∂r/∂x = [x > 0] + ½[x = 0]"), ("left", "∂r/∂x = [x > 0]")])
def test_kink_formulas_name_the_convention_the_gradient_was_built_under(convention, formula):
    x = sg.placeholder(sg.float64, (3,), name="x")
    with sg.kink_convention(convention):
        (dx,) = sg.gradients(sg.sum(sg.relu(x, name="r")), [x])
    found = derivative_rows(x.graph, dx.name)
    assert formula in found and f"kink convention {convention!r}" in found


def test_maximum_formulas_follow_the_convention():
    a = sg.placeholder(sg.float64, (), name="a")
    b = sg.placeholder(sg.float64, (), name="b")
    with sg.kink_convention("left"):
        da_left, db_left = sg.gradients(sg.maximum(a, b, name="m"), [a, b])
    da, db = sg.gradients(sg.maximum(a, b, name="n"), [a, b])
    assert "∂m/∂a = [a ≥ b]" in derivative_rows(a.graph, da_left.name)
    assert "∂m/∂b = [b > a]" in derivative_rows(a.graph, db_left.name)
    assert "∂n/∂a = [a > b] + ½[a = b]" in derivative_rows(a.graph, da.name)


def test_values_equal_a_session_run(regression):
    fetches = [regression[k] for k in ("a", "b", "z", "dx", "dw")]
    dot = sg.to_dot(fetches, values=regression["feed"])
    got = sg.Session().run(fetches, regression["feed"])
    for tensor, value in zip(fetches, got):
        assert rows(dot, tensor.name)[-1] == value_text(value)
    assert rows(dot, "z") == ["= 12.25"]  # (4.5 - 1)^2
    assert rows(dot, regression["dx"].name) == ["= [3.5, -7, 14]"]  # 2b · w
    assert rows(dot, "x") == ["= [1, 2, 3]"]


def test_values_and_derivatives_together_in_that_order(regression):
    dot = sg.to_dot(regression["dx"], annotate="derivatives", values=regression["feed"])
    assert rows(dot, regression["dx"].name) == ["∂a/∂x = w", "ct · w", "= [3.5, -7, 14]"]


def test_values_skip_what_unfed_placeholders_feed():
    x = sg.placeholder(sg.float64, (2,), name="x")
    u = sg.placeholder(sg.float64, (2,), name="u")
    sg.exp(x, name="ex")
    sg.add(x, u, name="xu")
    dot = sg.to_dot(sg.get_default_graph(), values={"x": np.array([0.0, 1.0])})
    assert rows(dot, "ex") == ["= [1, 2.718]"]
    assert rows(dot, "u") == [] and rows(dot, "xu") == []


def test_values_use_initial_variables_or_a_given_session_and_write_nothing():
    v = sg.Variable(np.array([1.0, 2.0]), name="v")
    doubled = sg.multiply(v, 2.0, name="doubled")
    step = v.assign_add(np.array([10.0, 10.0]), name="step")
    dot = sg.to_dot(sg.get_default_graph(), values={})
    assert rows(dot, "doubled") == ["= [2, 4]"] and rows(dot, "step") == []
    with sg.Session() as sess:
        sess.run(v.initializer)
        sess.run(step)
        dot = sg.to_dot([doubled], values={}, session=sess)
        assert rows(dot, "doubled") == ["= [22, 24]"]
        np.testing.assert_array_equal(sess.run(v), [11.0, 12.0])  # drawing ran no update


def test_value_text_prints_small_values_and_summarises_large_ones():
    assert value_text(np.float64(2.0)) == "= 2"
    assert value_text(np.array([True, False])) == "= [True, False]"
    assert value_text(np.arange(12.0).reshape(3, 4) - 5) == "(3, 4) in [-5, 6]"
    assert value_text(np.arange(10) > 6) == "(10,) 3 true"
    big = np.full(8, 1.5)
    big[[2, 5]] = [np.nan, np.inf]
    assert value_text(big) == "(8,) in [1.5, 1.5], 2 not finite"


def test_values_show_the_where_nan_trap():
    from examples.where_nan_trap import X, unsafe
    x = sg.placeholder(sg.float64, X.shape, name="x")
    (dx,) = sg.gradients(sg.sum(unsafe(x)), [x])
    with np.errstate(divide="ignore", invalid="ignore"):
        dot = sg.to_dot(dx, values={x: X})
    assert rows(dot, dx.name) == ["= [0, nan, 0.5]"]


def test_values_report_a_failed_run_clearly():
    x = sg.placeholder(sg.float64, (2,), name="x")
    sg.exp(x, name="ex")
    with pytest.raises(InvalidArgumentError, match="to_dot\\(values=...\\)"):
        sg.to_dot(sg.get_default_graph(), values={"x": np.zeros(3)})


def test_stop_gradient_and_detach_are_the_same_red_cut_in_both_styles():
    """The notes' §3.3: u = y.detach(); z = u * x, drawn in the static and the eager style."""
    xs = sg.placeholder(sg.float64, (4,), name="x")
    us = sg.stop_gradient(xs * xs, name="detach")
    static = sg.to_dot(sg.multiply(us, xs, name="z"))
    xe = eager.arange(4.0, requires_grad=True, name="x")
    ye = xe * xe
    ue = ye.detach()
    recorded = (ue * xe).recorded_graph()
    dynamic = sg.to_dot(ue * xe)
    assert recorded.node("detach")["op"] == "stop_gradient"
    assert recorded.inputs("detach") == ["MulBackward0"], "the cut hangs on what it was cut from"
    for dot, product, consumer in ((static, "multiply", "z"),
                                   (dynamic, "MulBackward0", "MulBackward0_1")):
        (cut,) = edges(dot, "detach", consumer)
        assert cut["style"] == "dashed" and cut["color"].strip('"') == STOP_COLOR
        assert node_attrs(dot, "detach")["color"].strip('"') == STOP_COLOR
        (into,) = edges(dot, product, "detach")
        assert "style" not in into, "the edge into the cut is an ordinary data edge"


def test_a_detached_value_whose_origin_is_gone_is_still_drawn_as_a_cut():
    x = eager.arange(3.0, requires_grad=True, name="x")
    u = (x * x).detach()  # the product is freed at once; only its value lives on in u
    z = u * x
    graph = z.recorded_graph()
    assert graph.node("detach")["op"] == "constant" and graph.node("detach")["detached"]
    np.testing.assert_array_equal(graph.node("detach")["attrs"]["value"], [0.0, 1.0, 4.0])
    (cut,) = edges(sg.to_dot(z), "detach", "MulBackward0")
    assert cut["color"].strip('"') == STOP_COLOR
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 4.0])  # x.grad == u, as in the notes


def test_a_detached_tensor_drawn_alone_shows_where_it_was_cut_from():
    x = eager.arange(3.0, requires_grad=True, name="x")
    y = sg.exp(x)
    u = y.detach()
    graph = u.recorded_graph()
    assert sorted(graph.nx.nodes) == ["ExpBackward0", "detach", "x"]
    assert graph.inputs("detach") == ["ExpBackward0"]
    assert not u.requires_grad and u.is_leaf, "detach still makes a leaf"


def test_nested_cuts_are_all_drawn():
    x = eager.arange(3.0, requires_grad=True, name="x")
    y = x * 2.0
    u = y.detach()
    v = sg.exp(u * x)
    w = v.detach()
    graph = (w + x).recorded_graph()
    assert sorted(n for n, op in graph.nx.nodes(data="op") if op == "stop_gradient") == \
        ["detach", "detach_1"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_the_readme_picture_is_drawn_by_its_script(tmp_path):
    script = runpy.run_path(str(DOCS / "make_pictures.py"))
    svg = html.unescape(script["main"](tmp_path).read_text(encoding="utf-8"))
    committed = html.unescape((DOCS / "seeing_inside.svg").read_text(encoding="utf-8"))
    for text in (svg, committed):
        for formula in ("∂z/∂b = 2b", "∂b/∂a = 1", "∂a/∂x = w", "∂a/∂w = x", "= [7, 14, 21]"):
            assert formula in text


def test_detaching_what_needs_no_gradient_cuts_nothing():
    x = eager.arange(3.0, requires_grad=True, name="x")
    (x * x).sum().backward()  # backward stores x.grad through a detach of its own
    assert [op for _, op in x.grad.recorded_graph().nx.nodes(data="op")] == ["constant"]
    plain = eager.arange(3.0).detach()
    assert not plain.recorded_graph().node("Const").get("detached")


def test_only_the_kink_ops_entry_names_the_convention():
    x = sg.placeholder(sg.float64, (2,), name="x")
    c = sg.placeholder(sg.float64, (2,), name="c")
    with sg.kink_convention("half"):
        (dx,) = sg.gradients(sg.sum(sg.add(sg.relu(x, name="r"), c, name="s")), [x])
    graph = x.graph
    (shared,) = [n for n, d in graph.nx.nodes(data=True) if ("s", 0) in d.get("cotangent_of", ())]
    found = derivative_rows(graph, shared)
    assert "∂s/∂r = 1" in found and not any("convention" in row for row in found)
    assert derivative_rows(graph, dx.name) == [
        "∂r/∂x = [x > 0] + ½[x = 0]", "ct · ([x > 0] + ½[x = 0])", "kink convention 'half'"]
