"""The recorded (dynamic) graph: static graphs' node attributes, only what ran, new each run."""
from collections import Counter

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from tests.eager.test_semantics import notes_f


def _ops(graph) -> Counter:
    return Counter(op for _, op in graph.nx.nodes(data="op"))


def _sink(graph) -> str:
    (name,) = [n for n in graph.nx if graph.nx.out_degree(n) == 0]
    return name


def test_dot_product_graph_has_static_attributes():
    x = eager.arange(4.0, requires_grad=True, name="x")
    y = 2 * eager.dot(x, x)
    graph = y.recorded_graph()
    assert isinstance(graph, sg.Graph)
    assert _ops(graph) == Counter({"placeholder": 1, "constant": 1, "dot": 1, "multiply": 1})
    assert {d["role"] for _, d in graph.nx.nodes(data=True)} == {"forward"}
    assert graph.node("x")["shape"] == (4,) and graph.node("x")["dtype"] == sg.float32
    assert graph.inputs("DotBackward0") == ["x", "x"], "x . x is two parallel edges, as in " \
        "static graphs"
    assert graph.inputs("MulBackward0") == ["DotBackward0", "Const"], "2 * t is t.mul(2)"
    assert graph.node("MulBackward0")["op"] == "multiply", "named as PyTorch, the op that ran"
    assert graph.node("MulBackward0")["source"].startswith("test_recorded_graph.py:")
    assert graph.node("Const")["attrs"]["value"] == 2


def test_recorded_graph_replays_in_a_session():
    x = eager.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    y = eager.softmax(eager.sin(x) * x)[1:].sum()
    graph = eager.recorded_graph(y)
    with sg.Session(graph) as sess:
        value = sess.run(_sink(graph), {"AccumulateGrad": x.detach().numpy()})
    assert value == pytest.approx(float(y), rel=1e-12)


def _expected_multiplies(a: float) -> tuple[int, bool]:
    """Loop iterations of notes_f and whether it takes the else branch, in float32 numpy."""
    b, steps = np.float32(a) * np.float32(2), 0
    while abs(b) < 1000:
        b, steps = b * np.float32(2), steps + 1
    return steps, not b > 0


@pytest.mark.parametrize("a", [0.37, -0.05, 3.0, -120.0])
def test_holds_the_branch_taken_and_the_loop_unrolled(a):
    steps, took_else = _expected_multiplies(a)
    graph = eager.recorded_graph(notes_f(eager.tensor(a, requires_grad=True, name="a")))
    ops = _ops(graph)
    assert ops["multiply"] == 1 + steps + took_else
    assert ops["constant"] == 1 + steps + took_else
    assert set(ops) == {"placeholder", "constant", "multiply"}, "norm, sum and the comparisons " \
        "decided the control flow but are not part of c's history"
    hundreds = [n for n, d in graph.nx.nodes(data=True) if np.all(d["attrs"].get("value") == 100)]
    assert bool(hundreds) == took_else


def test_a_new_graph_is_recorded_on_every_call():
    a = eager.tensor(0.37, requires_grad=True)
    first, second = notes_f(a), notes_f(a)
    g1, g2, g3 = first.recorded_graph(), second.recorded_graph(), notes_f(a * 1000).recorded_graph()
    assert g1 is not g2 and len(g1) == len(g2)
    assert len(g3) < len(g1), "a larger input needs fewer doublings, so a shorter unrolled loop"


def test_create_graph_records_gradient_nodes():
    x = eager.tensor([0.5, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    roles = Counter(role for _, role in x.grad.recorded_graph().nx.nodes(data="role"))
    assert roles["gradient"] > 0 and roles["forward"] > 0


def test_leaves_and_detached_values_are_inputs():
    x = eager.arange(3.0, requires_grad=True, name="x")
    u = (x * x).detach()
    graph = (u * x).recorded_graph()
    assert _ops(graph) == Counter({"placeholder": 1, "constant": 1, "multiply": 1})
    assert _ops(eager.recorded_graph(x)) == Counter({"placeholder": 1})


def test_to_dot_draws_an_eager_tensor():
    a = eager.tensor(0.37, requires_grad=True, name="a")
    dot = sg.to_dot(notes_f(a)).to_string()
    assert '"a"' in dot and "multiply" in dot


def test_in_place_updates_of_views_draw_as_copy_slices_scopes_and_replay():
    x = eager.tensor(np.array([0.3, -1.2, 2.0, 0.7]), requires_grad=True)
    c = x.sin()
    c[1:3] *= x[0]
    c.mul_(2)
    y = (c * x).sum()
    graph = y.recorded_graph()
    scopes = {n.rpartition("/")[0] for n in graph.nx if "/" in n}
    assert scopes == {"CopySlices", "CopySlices_1"}, "the view's update and the item assignment"
    assert {"SinBackward0", "SumBackward0", "AccumulateGrad"} <= set(graph.nx)
    with sg.Session(graph) as sess:
        value = sess.run(_sink(graph), {"AccumulateGrad": x.detach().numpy()})
    assert value == pytest.approx(float(y), rel=1e-12)
    assert 'cluster_CopySlices' in sg.to_dot(y).to_string()
