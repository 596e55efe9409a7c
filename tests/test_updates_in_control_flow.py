"""Variable updates built inside a cond branch or a loop body run only when that branch runs, once
per iteration, as in TF1 (they used to be built in the outer graph and run unconditionally)."""
import numpy as np
import pytest

import staticgraph as sg


def _graph():
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.float64(0.0), name="w")
        v = sg.Variable(np.float64(0.0), name="v")
        p = sg.placeholder(sg.bool_, (), name="p")
        n = sg.placeholder(sg.int64, (), name="n")
        out = sg.cond(p, lambda: w.assign_add(np.float64(1.0)), lambda: v.assign_add(np.float64(2.0)))

        def body(i):
            with sg.control_dependencies([w.assign_add(np.float64(10.0))]):
                return (i + np.int64(1),)
        loop = sg.while_loop(lambda i: i < n, body, (sg.constant(np.int64(0)),))
        init = sg.global_variables_initializer()
    return g, w, v, p, n, out, loop, init


@pytest.mark.parametrize("optimize", [True, False])
def test_only_the_taken_branch_updates_its_variable(optimize):
    g, w, v, p, n, out, loop, init = _graph()
    with sg.Session(graph=g, config={"optimize": optimize}) as sess:
        sess.run(init)
        assert sess.run(out, {p: True}) == 1.0 and sess.run([w, v]) == [1.0, 0.0]
        assert sess.run(out, {p: False}) == 2.0 and sess.run([w, v]) == [1.0, 2.0]
        assert sess.run(out, {p: False}) == 4.0 and sess.run([w, v]) == [1.0, 4.0]


@pytest.mark.parametrize("iterations", [0, 1, 3])
def test_an_update_in_a_loop_body_runs_once_per_iteration(iterations):
    g, w, v, p, n, out, loop, init = _graph()
    with sg.Session(graph=g) as sess:
        sess.run(init)
        sess.run(loop, {n: iterations})
        assert sess.run([w, v]) == [10.0 * iterations, 0.0]


def test_updates_in_branches_survive_a_graph_file(tmp_path):
    g, w, v, p, n, out, loop, init = _graph()
    sg.save_graph(g, tmp_path / "g.json")
    h = sg.load_graph(tmp_path / "g.json")
    with sg.Session(graph=h) as sess:
        sess.run(init.name)
        assert sess.run(out.name, {p.name: False}) == 2.0
        sess.run(loop.name if hasattr(loop, "name") else loop[0].name, {n.name: 2})
        assert sess.run([w.name, v.name]) == [20.0, 2.0]
