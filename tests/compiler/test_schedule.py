"""schedule: a valid order over data, control and ref edges that frees memory early."""
import numpy as np

import staticgraph as sg
from staticgraph.compiler import PassManager, prune, schedule, specialize


def _position(order):
    return {name: i for i, name in enumerate(order)}


def test_every_edge_is_respected_and_fed_nodes_and_constants_do_not_run():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        w = sg.Variable(np.ones(3), name="w")
        gate, two = sg.no_op(name="gate"), sg.constant(2.0, name="two")
        with sg.control_dependencies([gate]):
            y = sg.multiply(x, two, name="y")
        read = sg.sum(w * y, name="read")
        write = w.assign(y, name="write")
    compiled = prune(g, ["read", "write"], ["x"])
    order = schedule(compiled)
    at = _position(order)
    assert set(order) == set(compiled.nx) - {"x", "two"}
    for u, v in compiled.nx.edges():
        if u in at and v in at:
            assert at[u] < at[v], (u, v)
    assert at["w"] < at["write"]  # the read happens before the write (ref edge)


def test_each_update_runs_as_soon_as_its_gradient_is_ready():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (64, 32), name="x")
        h, ws = x, []
        for i in range(4):
            w = sg.Variable(np.full((32, 32), 0.01, np.float32), name=f"w{i}")
            ws.append(w)
            h = sg.relu(sg.matmul(h, w))
        loss = sg.sum(h)
        grads = sg.gradients(loss, ws)
        updates = [w.assign_sub(0.1 * g_, name=f"update{i}") for i, (w, g_) in enumerate(zip(ws, grads))]
        step = sg.group(*updates, name="step")
    compiled, _ = PassManager().run(prune(g, ["step"], ["x"]))
    order = schedule(compiled)
    at = _position(order)
    for i, gradient in enumerate(grads):
        # The update of layer i comes before anything that only the layers below need.
        scale = compiled.inputs(f"update{i}")[0]
        assert at[f"update{i}"] == at[scale] + 1
    assert at["update3"] < at["update2"] < at["update1"] < at["update0"]


def test_specialised_graphs_schedule_the_same_nodes():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        sg.sum(sg.exp(x) * x, name="y")
    compiled = prune(g, ["y"], ["x"])
    assert sorted(schedule(compiled)) == sorted(schedule(specialize(compiled, {"x": (5, 3)})))
