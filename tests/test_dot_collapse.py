"""Big graphs stay readable: folded name scopes, conds and loops as one box, merged edges with
their shapes, loop variables fed back by the body, captures tied to the outer tensors."""
import shutil

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import cli
from staticgraph.errors import InvalidArgumentError
from tests.test_dot import all_subgraphs, drawn_nodes, edges, node_attrs, q

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


@pytest.fixture
def mlp():
    """A two-layer MLP with a squared loss and its gradients, under name scopes."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 4), name="x")
        y = sg.placeholder(sg.float64, (None, 2), name="y")
        with sg.name_scope("layer1"):
            w1 = sg.Variable(np.ones((4, 8)), name="w")
            h = sg.nn.relu(x @ w1)
        with sg.name_scope("layer2"):
            w2 = sg.Variable(np.ones((8, 2)), name="w")
            out = h @ w2
        with sg.name_scope("loss"):
            loss = sg.reduce_mean(sg.square(out - y))
        sg.gradients(loss, [w1, w2])
    return g


def scope_of(name):
    return name.partition("/")[0] + "/" if "/" in name else name


def label(dot, name):
    return node_attrs(dot, name)["label"]


def test_collapse_true_folds_each_top_level_scope_into_one_box_with_its_count(mlp):
    dot = sg.to_dot(mlp, collapse=True)
    assert drawn_nodes(dot) == {"x", "y", "layer1/", "layer2/", "loss/", "gradients/"}
    for box in ("layer1/", "layer2/", "loss/", "gradients/"):
        count = sum(1 for n in mlp.nx.nodes if n.startswith(box))
        assert f"{count} nodes" in label(dot, box) and f"<B>{box}</B>" in label(dot, box)
        assert node_attrs(dot, box)["shape"] == "box3d"
    assert node_attrs(dot, "gradients/")["fillcolor"].strip('"') == "#f4a7a7", "drawn as gradient"
    assert node_attrs(dot, "layer1/")["fillcolor"].strip('"') == "#9fc5f8", "drawn as forward"


def test_edges_between_boxes_merge_and_carry_the_shapes_crossing(mlp):
    dot = sg.to_dot(mlp, collapse=True)
    pairs = {}
    for u, v, *_ in mlp.nx.edges:
        if scope_of(u) != scope_of(v):
            pairs.setdefault((scope_of(u), scope_of(v)), set()).add(u)
    drawn = [(e.get_source().strip('"'), e.get_destination().strip('"')) for e in dot.get_edges()]
    assert sorted(drawn) == sorted(pairs), "one edge per pair of boxes, none inside a box"
    (into_layer2,) = edges(dot, "layer1/", "layer2/")
    assert into_layer2["label"] == '"(None, 8)"'  # the relu's output, once
    (into_gradients,) = edges(dot, "layer2/", "gradients/")
    # The gradients read layer2's weight (8, 2) and its matmul (None, 2).
    assert sorted(pairs["layer2/", "gradients/"]) == ["layer2/matmul", "layer2/w"]
    assert into_gradients["label"] == '"(8, 2), (None, 2)"'
    (from_loss,) = edges(dot, "loss/", "gradients/")
    shapes = [mlp.node(u)["shape"] for u in pairs["loss/", "gradients/"]]
    assert shapes.count(()) == 2 and shapes.count((None, 2)) == 2
    assert from_loss["label"] == '"2× (None, 2), 2× ()"'


def test_a_list_folds_only_the_scopes_named(mlp):
    dot = sg.to_dot(mlp, collapse=["layer1", "gradients"])
    drawn = drawn_nodes(dot)
    assert {"layer1/", "gradients/"} <= drawn and "layer2/" not in drawn and "loss/" not in drawn
    assert not any(n.startswith(("layer1/", "gradients/")) and not n.endswith("/") for n in drawn)
    unfolded = {n for n in mlp.nx.nodes if not n.startswith(("layer1/", "gradients/"))}
    assert unfolded <= drawn and len(drawn) == len(unfolded) + 2
    # layer2 stays a cluster, and the box's edge goes straight into the matmul that reads it.
    assert q("cluster_layer2") in {s.get_name() for s in all_subgraphs(dot)}
    assert edges(dot, "layer1/", "layer2/matmul")[0]["label"] == '"(None, 8)"'


def test_nested_scopes_can_be_folded_alone():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        with sg.name_scope("model"):
            with sg.name_scope("inner"):
                y = sg.sin(sg.exp(x))
            sg.cos(y, name="out")
    dot = sg.to_dot(g, collapse=["model/inner"])
    assert drawn_nodes(dot) == {"x", "model/inner/", "model/out"}
    assert "2 nodes" in label(dot, "model/inner/")
    assert edges(dot, "model/inner/", "model/out")[0]["label"] == '"(3,)"'


def test_bad_collapse_is_a_clear_error(mlp):
    for bad in ([""], [3], 1.5):
        with pytest.raises(InvalidArgumentError, match="collapse"):
            sg.to_dot(mlp, collapse=bad)


@pytest.fixture
def control():
    g = sg.Graph()
    with g.as_default():
        a = sg.placeholder(sg.float64, (), name="a")
        w = sg.placeholder(sg.float64, (), name="w")
        c = sg.cond(a > 0, lambda: a * w, lambda: sg.sin(a), name="branch")
        i, b = sg.while_loop(lambda i, b: i < 5, lambda i, b: (i + 1, b * w),
                             (sg.constant(0, name="zero"), a), name="loop")
        total = sg.add(b, c, name="total")
    return dict(graph=g, a=a, w=w, c=c, b=b, total=total)


def test_folded_conds_and_loops_are_one_box_counting_their_sub_graphs(control):
    g = control["graph"]
    dot = sg.to_dot(g, collapse=True)
    assert drawn_nodes(dot) == {"a", "w", "Const", "greater", "zero", "branch", "loop", "total"}
    body = g.node("loop")["attrs"]["body_graph"]
    cond = g.node("loop")["attrs"]["cond_graph"]
    assert f"body: {len(body)} nodes" in label(dot, "loop") and f"cond: {len(cond)} nodes" in label(dot, "loop")
    assert "true: 3 nodes, false: 2 nodes" in label(dot, "branch")
    assert node_attrs(dot, "loop")["shape"] == "box3d"
    assert not [s for s in all_subgraphs(dot) if " " in s.get_name()], "no sub-graph drawn"
    # The tuple_get unpacking the results folds into the loop: its edge leaves the loop's box.
    assert edges(dot, "loop", "total")[0]["label"] == '"()"' and "loop_out1" not in drawn_nodes(dot)


def test_expanded_loops_draw_loop_carried_variables_fed_back_by_the_body(control):
    g = control["graph"]
    dot = sg.to_dot(g, collapse=False)
    body = g.node("loop")["attrs"]["body_graph"]
    prefix = "loop body_graph/"
    for k, (param, result) in enumerate(zip(body.params, body.outputs)):
        assert f"<B>loop variable {k}</B>" in label(dot, prefix + param.name)
        assert node_attrs(dot, prefix + param.name)["shape"] == "ellipse", "not a placeholder"
        (back,) = edges(dot, prefix + result.name, prefix + param.name)
        assert back["style"] == "dashed" and back["label"] == '"next iteration"'
        assert back["constraint"] == "false"
    assert "placeholder" not in label(dot, prefix + body.params[0].name)
    assert len([e for e in dot.get_edges() if e.get("label") == '"next iteration"']) == 2


def test_captures_are_drawn_as_captured_values_tied_to_the_outer_tensor(control):
    g = control["graph"]
    dot = sg.to_dot(g)
    true_branch = g.node("branch")["attrs"]["branches"][0][0]
    assert set(true_branch.captured) == {"a", "w"}
    for outer, (_, inner) in true_branch.captured.items():
        node_id = "branch branches.0.0/" + inner.name
        assert f"<B>captured {outer}</B>" in label(dot, node_id)
        (tie,) = edges(dot, outer, node_id)
        assert tie["style"] == "dotted"
    (_, inner_w) = g.node("loop")["attrs"]["body_graph"].captured["w"]
    assert edges(dot, "w", "loop body_graph/" + inner_w.name)
    legend = node_attrs(dot, "sg legend")["label"]
    assert "next iteration" in legend and "captured" in legend and "loop variable" in legend


def test_gradient_loops_fold_into_the_gradients_box(control):
    g = control["graph"]
    with g.as_default():
        (dw,) = sg.gradients(control["total"], [control["w"]])
    dot = sg.to_dot(g, collapse=True)
    grads = [n for n in g.nx.nodes if n.startswith("gradients/")]
    assert any(g.node(n)["op"] == "while_loop" for n in grads)
    assert f"{len(grads)} nodes" in label(dot, "gradients/")
    assert {"gradients/"} == {n for n in drawn_nodes(dot) if "/" in n}
    # What the gradient reads from the loop: its results and the stacked history (None,).
    assert "(None,)" in edges(dot, "loop", "gradients/")[0]["label"]


def test_cli_dot_collapse(tmp_path, capsys):
    script = tmp_path / "mlp.py"
    script.write_text(
        "import numpy as np, staticgraph as sg\n"
        "x = sg.placeholder(sg.float64, (None, 4), name='x')\n"
        "with sg.name_scope('layer1'):\n"
        "    h = sg.tanh(x @ sg.Variable(np.ones((4, 3)), name='w'))\n"
        "loss = sg.reduce_sum(h * h, name='loss')\n"
        "sg.gradients(loss, [x])\n", encoding="utf-8")
    every = tmp_path / "all.dot"
    assert cli.main(["dot", str(script), "-o", str(every), "--collapse"]) == 0
    text = every.read_text(encoding="utf-8")
    assert '"layer1/"' in text and '"gradients/"' in text and '"layer1/tanh" [' not in text
    some = tmp_path / "some.dot"
    assert cli.main(["dot", str(script), "-o", str(some), "--collapse", "gradients"]) == 0
    text = some.read_text(encoding="utf-8")
    assert '"gradients/"' in text and '"layer1/tanh" [' in text and '"layer1/"' not in text
    plain = tmp_path / "plain.dot"
    assert cli.main(["dot", str(script), "-o", str(plain)]) == 0
    assert '"gradients/"' not in plain.read_text(encoding="utf-8")
    capsys.readouterr()


@needs_graphviz
def test_a_collapsed_drawing_renders(mlp, tmp_path):
    path = sg.write_dot(sg.to_dot(mlp, collapse=True), tmp_path / "mlp.svg")
    svg = path.read_text(encoding="utf-8")
    assert "gradients/" in svg and "(None, 8)" in svg
