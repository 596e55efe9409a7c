"""sg.debugprint: one line per node in run order, with op, inputs, dtype[shape] and role."""
import doctest
import io

import numpy as np
import pytest

import staticgraph as sg
import staticgraph.io.listing as listing


def rows(text):
    """node name -> (step, call, value, role, buffer) parsed back from a listing."""
    parsed = {}
    for line in text.splitlines()[1:]:
        if line.startswith("fetch: "):
            continue
        left, _, right = line.partition(" = ")
        step, name = left.split()
        call, *rest = right.split()
        parsed[name] = (step, call, *rest)
    return parsed


@pytest.fixture
def step_graph():
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    w = sg.Variable(np.ones((3,)), name="w")
    loss = sg.sum(sg.square(x @ w, name="sq"), name="loss")
    (dw,) = sg.gradients(loss, [w])
    with sg.get_default_graph().role_scope("update"):
        step = w.assign_sub(0.5 * dw, name="step")
    with sg.control_dependencies([step]):
        after = sg.identity(loss, name="after")
    return dict(x=x, w=w, loss=loss, dw=dw, step=step, after=after)


def test_the_docstring_example_prints_what_it_shows():
    result = doctest.testmod(listing)
    assert result.attempted > 0 and result.failed == 0


def test_a_graph_lists_every_node_once_inputs_first(step_graph, capsys):
    g = sg.get_default_graph()
    text = sg.debugprint(g)
    assert capsys.readouterr().out == text + "\n", "prints exactly what it returns"
    parsed = rows(text)
    assert set(parsed) == set(g.nx.nodes) and len(text.splitlines()) == len(g) + 1
    position = {name: int(row[0]) for name, row in parsed.items()}
    for u, v, _ in g.nx.edges:
        assert position[u] < position[v], f"{u} must be listed before {v}"
    assert parsed["x"][1:] == ("placeholder()", "float64[?,3]", "forward")
    assert parsed["sq"][1:] == ("square(matmul)", "float64[?]", "forward")
    assert parsed["loss"][2:] == ("float64[]", "forward")
    assert parsed[step_graph["dw"].name][-1] == "gradient"
    assert parsed["step"][-1] == "update"
    assert parsed["after"][1] == "identity(loss,", "control inputs follow as ^name"
    assert parsed["after"][2] == "^step)"
    assert "step  = assign_sub(multiply, ref w)" in " ".join(text.split()).replace("step =", "step  =")


def test_fetches_list_only_what_computing_them_needs(step_graph):
    parsed = rows(sg.debugprint(step_graph["loss"], file=None))
    assert set(parsed) == {"x", "w", "matmul", "sq", "loss"} | {
        n for n in parsed if n.startswith("w/") or n.startswith("reduce_sum")}
    assert "step" not in parsed and "after" not in parsed
    text = sg.debugprint([step_graph["loss"], step_graph["dw"]], file=None)
    assert text.splitlines()[-1] == f"fetch: loss, {step_graph['dw'].name}"


def test_an_executable_lists_its_schedule_with_buffers():
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    (dx,) = sg.gradients(sg.sum(sg.exp(sg.sin(x)) * x), [x])
    exe = sg.compile(dx)
    exe.run({x: np.arange(6.0).reshape(2, 3)})
    out = io.StringIO()
    parsed = rows(sg.debugprint(exe, file=out))
    ran = [name for name, row in sorted(parsed.items(), key=lambda kv: kv[1][0]) if row[0] != "-"]
    assert sorted(ran, key=lambda n: int(parsed[n][0])) == list(exe.schedule)
    for name, buffer in exe.memory.buffers.items():
        assert parsed[name][-2:] == ("buffer", str(buffer))
    assert parsed["x"][0] == "-", "fed values do not run"
    assert out.getvalue().startswith("step  node")


def test_small_constants_show_their_value_and_listing_shows_once_in_a_notebook():
    x = sg.placeholder(sg.float32, (2,), name="x")
    y = sg.multiply(x, np.array([1.5, -2.0], np.float32), name="y")
    text = sg.debugprint(y, file=None)
    assert "= constant([ 1.5, -2. ])" in text
    assert "float32[2]" in rows(text)["y"]
    assert text._ipython_display_() is None and repr(text).startswith("<sg listing")
    assert str(text) == text


def test_bad_targets_are_clear_errors():
    with pytest.raises(sg.errors.InvalidArgumentError, match="debugprint: expected a Graph"):
        sg.debugprint(3.0)
    with pytest.raises(sg.errors.InvalidArgumentError, match="static Tensors"):
        sg.debugprint([])
    a = sg.placeholder(sg.float64, (), name="a")
    other = sg.Graph()
    with other.as_default():
        b = sg.placeholder(sg.float64, (), name="b")
    with pytest.raises(sg.errors.GraphError, match="different graphs"):
        sg.debugprint([a, b])


def test_counts_read_as_english():
    from staticgraph.text import counted
    assert [counted(1, "step"), counted(2, "step"), counted(1, "fetch", "fetches"),
            counted(0, "fetch", "fetches")] == ["1 step", "2 steps", "1 fetch", "0 fetches"]
    x = sg.placeholder(sg.float64, (2,), name="x")
    exe = sg.compile(sg.sin(x))
    assert repr(exe) == "<sg.Executable 1 fetch, 1 step, memory=plan>"
    assert exe.report().startswith("compiled 1 fetch ['sin'], ") and "schedule: 1 step\n" in exe.report()
