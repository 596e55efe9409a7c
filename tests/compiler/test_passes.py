"""The pass manager, specialisation to fed shapes, and every pass's output drawn before and after."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import (DEFAULT_PASSES, PassManager, fetches_of, prune, specialize,
                                  verify)
from staticgraph.errors import GraphError, ShapeError
from tests.compiler.helpers import reference_values, run_compiled_graph


def _model():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        w = sg.constant(np.arange(6.0).reshape(3, 2) / 10, name="w")
        y = sg.sum(sg.tanh(sg.matmul(x, w * 1.0) + sg.zeros((2,), sg.float64)), name="y")
        (dx,) = sg.gradients(y, [x])
    return g, x, y, dx


def test_the_manager_runs_the_passes_in_order_and_records_node_counts():
    g, x, y, dx = _model()
    pruned = prune(g, [y.name, dx.name], ["x"])
    graph, records = PassManager(check=True).run(pruned)
    names = [r.name for r in records]
    rounds, left = divmod(len(names), len(DEFAULT_PASSES))
    assert names[:len(DEFAULT_PASSES)] == [p.__name__ for p in DEFAULT_PASSES]
    assert left == 0 and rounds <= 3
    for before, after in zip(records, records[1:]):
        assert after.nodes_before == before.nodes_after
    assert records[-1].graph is graph and records[0].nodes_before == len(pruned)
    assert len(graph) < len(pruned)
    feed = {"x": np.array([[0.1, -0.2, 0.3], [1.0, 2.0, -1.0]])}
    for got, want in zip(run_compiled_graph(graph, feed), reference_values(g, [y.name, dx.name], feed)):
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_check_mode_stops_at_a_pass_that_breaks_the_graph():
    def breaks(graph):
        out = prune(graph, fetches_of(graph), ["x"])
        out.nx.nodes["y"]["shape"] = (7,)
        return out

    g, x, y, dx = _model()
    with pytest.raises(GraphError, match="'y'"):
        PassManager([breaks], check=True).run(prune(g, [y.name], ["x"]))


def test_specialize_fills_in_the_fed_dims_and_rejects_contradictions():
    g, x, y, dx = _model()
    special = verify(specialize(prune(g, [dx.name], ["x"]), {"x": (5, 3)}))
    assert special.node("x")["shape"] == (5, 3) and special.node(dx.name)["shape"] == (5, 3)
    assert g.node("x")["shape"] == (None, 3)
    with pytest.raises(ShapeError, match="matmul"):
        specialize(prune(g, [dx.name], ["x"]), {"x": (5, 4)})


def test_each_pass_output_can_be_drawn_with_and_without_a_plan():
    g, x, y, dx = _model()
    exe = sg.compile([y, dx], feeds=[x], graph=g)
    exe.run({x: np.ones((2, 3))})
    for record in exe.passes:
        dot = sg.to_dot(record.graph)
        assert dot.to_string().count("->") >= 1, record.name
    labelled = sg.to_dot(exe.graph, plan=exe).to_string()
    some_buffer = next(iter(exe.memory.buffers.values()))
    assert f"buffer {some_buffer}" in labelled


@pytest.mark.parametrize("name", ["fold_constants", "eliminate_common_subexpressions",
                                  "fuse_updates", "eliminate_dead_code"])
def test_a_pass_with_nothing_to_change_hands_back_its_input(name):
    apply = next(p for p in DEFAULT_PASSES if p.__name__ == name)
    g, x, y, dx = _model()
    graph, _ = PassManager(check=True).run(prune(g, [y.name, dx.name], ["x"]))
    assert apply(graph) is graph  # optimised already: nothing left for any pass
    changed = {"fold_constants": lambda: sg.add(sg.constant(1.0), sg.constant(2.0), name="s"),
               "eliminate_common_subexpressions": lambda: sg.add(sg.sin(x), sg.sin(x), name="s"),
               "fuse_updates": lambda: sg.Variable(np.zeros((3, 3)), name="v").assign_sub(
                   sg.matmul(sg.transpose(x), x), name="s"),
               "eliminate_dead_code": lambda: sg.sin(x, name="s")}
    with g.as_default():
        changed[name]()
    fetches = [y.name] + (["s"] if name != "eliminate_dead_code" else [])
    pruned = prune(g, fetches, ["x"])
    if name == "eliminate_dead_code":
        pruned = sg.compiler.rebuild(g)  # keeps the dead node 's'
    out = apply(pruned) if name != "fuse_updates" else apply(pruned, min_elements=1)
    assert out is not pruned
