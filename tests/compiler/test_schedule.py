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
        gate, two = sg.no_op(name="gate"), sg.constant(2.0, sg.float64, name="two")
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


def test_each_update_runs_once_its_gradient_is_ready_and_its_weight_read_for_the_last_time():
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
    for i in range(4):
        # The update of layer i comes before anything that only the layers below need, but
        # after the last read of w_i (the cotangent of the layer below reads w_i transposed),
        # so that it may write w_i's array in place.
        update = f"update{i}"
        aliases = {f"w{i}"} | {n for n in compiled.consumers(f"w{i}")
                               if compiled.node(n)["op"] == "transpose"}
        readers = {c for a in aliases for c in compiled.consumers(a)} - aliases - {update}
        assert i == 0 or readers
        inputs = {n for n in compiled.inputs(update) if n in at}
        assert at[update] == max(at[n] for n in readers | inputs) + 1


def test_an_update_whose_variable_is_fetched_or_updated_twice_waits_for_no_reader():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        w = sg.Variable(np.ones(3), name="w")
        late = sg.exp(sg.sin(w * x, name="s"), name="late")
        early = w.assign_sub(x, name="early")
    for fetches in (["late", "early", "w"], ["late", "early"]):
        compiled = prune(g, fetches, ["x"])
        at = _position(schedule(compiled))
        # fetched, w's array must stay as it was read: the update need not wait for "late"
        assert (at["early"] < at["late"]) == ("w" in fetches)


def test_specialised_graphs_schedule_the_same_nodes():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        sg.sum(sg.exp(x) * x, name="y")
    compiled = prune(g, ["y"], ["x"])
    assert sorted(schedule(compiled)) == sorted(schedule(specialize(compiled, {"x": (5, 3)})))
