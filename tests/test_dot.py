"""DOT export: every node drawn, colours by kind, scopes as clusters, edge styles, filters, files."""
import html
import shutil

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.io.dot import nested_graphs
from staticgraph.io.dot_style import KIND_COLORS, LEGEND_NODE, STOP_COLOR

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def q(name):
    return f'"{name}"'


def node_attrs(dot, name):
    """The attributes of node `name`, wherever (which cluster) it is drawn."""
    for graph in [dot, *all_subgraphs(dot)]:
        found = graph.get_node(q(name))
        if found:
            return found[0].get_attributes()
    raise AssertionError(f"node {name!r} is not drawn")


def all_subgraphs(graph):
    for sub in graph.get_subgraph_list():
        yield sub
        yield from all_subgraphs(sub)


def drawn_nodes(dot):
    names = [n.get_name() for g in [dot, *all_subgraphs(dot)] for n in g.get_nodes()]
    return {n.strip('"') for n in names if n.strip('"') not in ("node", "edge", "graph", LEGEND_NODE)}


def edges(dot, u, v):
    return [e.get_attributes() for e in dot.get_edges()
            if e.get_source() == q(u) and e.get_destination() == q(v)]


@pytest.fixture
def model():
    """A small graph using every feature the drawing shows."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 4), name="x")
        with sg.name_scope("layer1"):
            w = sg.Variable(np.ones((4, 3)), name="w")
            with sg.name_scope("act"):
                h = sg.tanh(x @ w)
        loss = sg.sum(sg.stop_gradient(h) * h + h * h, name="loss")
        (dw,) = sg.gradients(loss, [w])
        with g.role_scope("update"):
            step = w.assign_sub(0.1 * dw, name="step")
        init = sg.global_variables_initializer()
        with sg.control_dependencies([step]):
            after = sg.identity(loss, name="after")
        with g.role_scope("tangent"):
            tangent = sg.sin(x, name="tangent_sin")
        with g.role_scope("recompute"):
            again = sg.tanh(x @ w, name="again")
    return dict(graph=g, x=x, w=w, h=h, loss=loss, dw=dw, step=step, init=init, after=after,
                tangent=tangent, again=again)


def test_every_node_and_edge_is_drawn(model):
    g = model["graph"]
    dot = sg.to_dot(g)
    assert drawn_nodes(dot) == set(g.nx.nodes)
    assert len(dot.get_edges()) == g.nx.number_of_edges()


def test_nodes_are_coloured_by_kind(model):
    dot = sg.to_dot(model["graph"])

    def colour(name):
        return node_attrs(dot, name)["fillcolor"].strip('"')

    assert colour("x") == KIND_COLORS["placeholder"]
    assert colour("layer1/w") == KIND_COLORS["variable"]
    assert colour("layer1/w/initial_value") == KIND_COLORS["constant"]
    assert colour("layer1/act/tanh") == KIND_COLORS["forward"]
    assert colour(model["dw"].name) == KIND_COLORS["gradient"]
    assert colour("step") == KIND_COLORS["update"]
    assert colour("layer1/w/Assign") == KIND_COLORS["init"]
    assert colour("tangent_sin") == KIND_COLORS["tangent"]
    assert colour("again") == KIND_COLORS["recompute"]
    assert len(set(KIND_COLORS.values())) == len(KIND_COLORS), "two kinds share a colour"


def test_legend_lists_the_kinds_drawn(model):
    dot = sg.to_dot(model["graph"], show=("forward",))
    label = node_attrs(dot, LEGEND_NODE)["label"]
    assert KIND_COLORS["placeholder"] in label and KIND_COLORS["gradient"] not in label
    assert "gradients stop here" in label, "the stop_gradient edge style is explained"
    assert not sg.to_dot(model["graph"], legend=False).get_node(q(LEGEND_NODE))


def test_labels_show_name_op_shape_and_source(model):
    label = node_attrs(sg.to_dot(model["graph"]), "layer1/act/tanh")["label"]
    assert "<B>tanh</B>" in label and "tanh (None, 3)" in label
    assert "test_dot.py:" in label  # the user line that built it


def test_small_constants_show_their_value_large_ones_only_their_shape():
    small = sg.constant([1.5, 2.0], name="small")
    large = sg.constant(np.zeros((10, 10)), name="large")
    dot = sg.to_dot(sg.get_default_graph())
    assert "= [1.5, 2. ]" in node_attrs(dot, "small")["label"]
    large_label = node_attrs(dot, "large")["label"]
    assert "constant (10, 10)" in large_label and "=" not in large_label.replace('="', "")
    assert small.shape == (2,) and large.shape == (10, 10)


def test_name_scopes_become_nested_clusters(model):
    dot = sg.to_dot(model["graph"])
    (layer1,) = dot.get_subgraph(q("cluster_layer1"))
    (act,) = layer1.get_subgraph(q("cluster_layer1/act"))
    assert act.get_node(q("layer1/act/tanh"))
    assert act.get_attributes()["label"].strip('"') == "act"
    assert not dot.get_node(q("layer1/act/tanh")), "a scoped node belongs in its cluster"
    assert dot.get_subgraph(q("cluster_gradients")), "gradient nodes are grouped under gradients/"


def test_data_edges_carry_the_source_shape_once_per_input():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = sg.dot(x * x, x, name="y")
    dot = sg.to_dot(y)
    square = edges(dot, "x", "multiply")
    assert len(square) == 2, "x * x is two edges"
    assert all(e["label"] == '"(4,)"' for e in square)
    assert edges(dot, "multiply", "y")[0]["label"] == '"(4,)"'
    assert y.shape == ()


def test_control_ref_and_stop_edges_have_their_own_styles(model):
    dot = sg.to_dot(model["graph"])
    (control,) = edges(dot, "step", "after")
    assert control["style"] == "dashed" and "label" not in control
    (ref,) = edges(dot, "layer1/w", "step")
    assert ref["style"] == "dotted"
    stop = node_attrs(dot, "stop_gradient")
    assert stop["color"].strip('"') == STOP_COLOR
    (cut,) = edges(dot, "stop_gradient", "multiply")
    assert cut["style"] == "dashed" and cut["color"].strip('"') == STOP_COLOR


def test_show_filters_by_role(model):
    g = model["graph"]
    dot = sg.to_dot(g, show=("forward",))
    forward = {n for n, d in g.nx.nodes(data=True) if d["role"] == "forward"}
    assert drawn_nodes(dot) == forward
    drawn = {q(n) for n in forward}
    assert all(e.get_source() in drawn and e.get_destination() in drawn for e in dot.get_edges())
    both = sg.to_dot(g, show="forward,gradient")
    assert model["dw"].name in drawn_nodes(both) and "step" not in drawn_nodes(both)
    with pytest.raises(sg.errors.InvalidArgumentError, match="unknown role"):
        sg.to_dot(g, show=("forwards",))


def test_fetches_draw_only_what_they_need(model):
    g = model["graph"]
    assert drawn_nodes(sg.to_dot(model["h"])) == {
        "x", "layer1/w", "layer1/act/matmul", "layer1/act/tanh"}
    # An assign brings its variable (ref edge) and what it waits for (control edges).
    after = drawn_nodes(sg.to_dot([model["after"], model["tangent"]]))
    assert {"after", "step", "layer1/w", "tangent_sin", model["dw"].name} <= after
    assert "layer1/w/Assign" not in after and "again" not in after
    assert after < set(g.nx.nodes)


def test_bad_targets_are_clear_errors(model):
    other = sg.Graph()
    with other.as_default():
        y = sg.placeholder(sg.float64, (), name="y")
    with pytest.raises(sg.errors.GraphError, match="different graphs"):
        sg.to_dot([model["x"], y])
    with pytest.raises(sg.errors.InvalidArgumentError, match="static Tensors"):
        sg.to_dot([])
    with pytest.raises(sg.errors.InvalidArgumentError, match="got int"):
        sg.to_dot(3)


def test_objects_holding_a_graph_are_drawn(model):
    class Executable:
        graph = model["graph"]

    class EagerTensor:
        def recorded_graph(self):
            return model["graph"]

    expected = set(model["graph"].nx.nodes)
    assert drawn_nodes(sg.to_dot(Executable())) == expected
    assert drawn_nodes(sg.to_dot(EagerTensor())) == expected


def test_plan_buffers_appear_in_labels(model):
    class Memory:
        buffers = {"layer1/act/tanh": 3}

    class Plan:
        memory = Memory()

    for plan in (Plan(), {"layer1/act/tanh": 3}):
        dot = sg.to_dot(model["graph"], plan=plan)
        assert "buffer 3" in node_attrs(dot, "layer1/act/tanh")["label"]
        assert "buffer" not in node_attrs(dot, "x")["label"]
    with pytest.raises(sg.errors.InvalidArgumentError, match="plan"):
        sg.to_dot(model["graph"], plan=[1, 2])


def test_an_executable_plan_labels_the_updates_it_makes_in_place():
    w = sg.Variable(np.ones(3), name="w")
    x = sg.placeholder(sg.float64, (3,), name="x")
    loss = sg.sum(sg.sin(w * x), name="loss")
    (dw,) = sg.gradients(loss, [w])
    exe = sg.compile([loss, w.assign_sub(0.1 * dw, name="step")])
    dot = sg.to_dot(exe.graph, plan=exe)
    assert "writes its variable&#x27;s array" in node_attrs(dot, "step")["label"]
    assert "writes its variable" not in node_attrs(dot, "loss")["label"]


def test_title_is_drawn_above():
    dot = sg.to_dot(sg.placeholder(sg.float32, (2,)), title='say "hi"')
    assert dot.get_attributes()["label"] == '"say \\"hi\\""'


def test_write_dot_writes_text(tmp_path, model):
    path = sg.write_dot(sg.to_dot(model["graph"]), tmp_path / "g.dot")
    text = path.read_text()
    assert text.startswith("digraph") and '"layer1/act/tanh"' in text
    assert sg.write_dot(model["h"], tmp_path / "h.gv", show="forward").read_text().startswith("digraph")
    with pytest.raises(sg.errors.InvalidArgumentError, match=".svg"):
        sg.write_dot(model["graph"], tmp_path / "g.txt")


@needs_graphviz
def test_write_dot_renders_images_even_for_awkward_names(tmp_path):
    for name in ("node", "edge", "graph", "a.b-c"):
        sg.placeholder(sg.float64, (2,), name=name)
    with sg.name_scope("subgraph"):
        sg.add(sg.get_default_graph().tensor("node"), sg.get_default_graph().tensor("edge"))
    svg = html.unescape(sg.write_dot(sg.get_default_graph(), tmp_path / "g.svg").read_text())
    for name in ("node", "edge", "graph", "a.b-c", "subgraph/add"):
        assert f"<title>{name}</title>" in svg
    assert sg.write_dot(sg.get_default_graph(), tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch, model):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    assert not sg.io.graphviz_available()
    with pytest.raises(sg.errors.FailedPreconditionError, match="apt-get install graphviz"):
        sg.write_dot(model["graph"], tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    assert sg.write_dot(model["graph"], tmp_path / "g.dot").exists(), ".dot needs no Graphviz"


def test_sub_graphs_held_by_nodes_are_drawn_as_clusters_tied_to_them():
    a = sg.placeholder(sg.float64, (), name="a")
    sg.cond(a > 0, lambda: a * 2.0, lambda: sg.sin(a))
    b = sg.while_loop(lambda b: b < 100.0, lambda b: b * 2.0, [a])
    g = sg.get_default_graph()
    dot = sg.to_dot(g)
    holders = [n for n, d in g.nx.nodes(data=True) if list(nested_graphs(d["attrs"]))]
    assert len(holders) == 2, "cond and while_loop each hold sub-graphs"
    drawn = drawn_nodes(dot)
    for owner in holders:
        inner = list(nested_graphs(g.node(owner)["attrs"]))
        assert len(inner) == 2, "two branches; a loop's cond and body"
        for key, sub in inner:
            assert {f"{owner} {key}/{n}" for n in sub.nx.nodes} <= drawn
            clusters = [s for s in all_subgraphs(dot) if s.get_name() == q(f"cluster_{owner} {key}/")]
            assert len(clusters) == 1
        ties = [e for e in dot.get_edges() if e.get_destination() == q(owner) and e.get("ltail")]
        assert len(ties) == 2
    assert drawn - set(g.nx.nodes) == {n for n in drawn if " " in n}


def test_an_eager_tensor_draws_the_graph_its_run_recorded():
    from staticgraph import eager
    x = eager.arange(4.0, requires_grad=True, name="x")
    recorded = drawn_nodes(sg.to_dot(2 * eager.dot(x, x)))
    x_static = sg.placeholder(sg.float64, (4,), name="x")
    static = drawn_nodes(sg.to_dot(2 * sg.dot(x_static, x_static)))
    assert static == {"x", "Const", "dot", "multiply"}
    assert recorded == {"x", "Const", "DotBackward0", "MulBackward0"}, "PyTorch's grad_fn names"


def test_a_gradient_node_is_never_shown_by_a_forward_node_name():
    import re
    x = sg.placeholder(sg.float64, (3,), name="x")
    z = sg.power(sg.reduce_sum(x * 2.0, name="s"), 2, name="z")  # a forward Const, and gradients/Const
    (dx,) = sg.gradients(z, [x])
    shown = {}
    for node_id, name in re.findall(r'"([^"]+)" \[label=<<B>([^<]+)</B>', sg.to_dot(dx).to_string()):
        shown.setdefault(name, []).append(node_id)
    assert "Const" in shown and "∂ Const" in shown
    graph = dx.graph
    roles = {name: {graph.node(n).get("role") == "gradient" for n in ids} for name, ids in shown.items()}
    assert all(len(r) == 1 for r in roles.values()), "one shown name, one kind of node"
