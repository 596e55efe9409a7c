"""Graph files: exact round trips, and every kind of bad file rejected with the project's error."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.graph_json import loads_graph


def _model():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        w = sg.Variable(np.arange(6.0).reshape(3, 2) / 10, name="w")
        with sg.name_scope("layer"):
            h = sg.tanh(x @ w)[:, ::-1]
        loss = sg.mean(sg.cond(sg.sum(h) > 0, lambda: h * 2, lambda: -h))
        _, z = sg.while_loop(lambda i, z: i < 3, lambda i, z: (i + 1, z * 1.5), (0, loss))
        (dw,) = sg.gradients(z, [w])
        step = w.assign_sub(0.1 * dw)
    return g, x, z, dw, step


def _structure(g):
    nodes = {n: (d["op"], d["shape"], d["dtype"], d["role"], d["source"]) for n, d in g.nx.nodes(data=True)}
    edges = sorted((u, v, tuple(sorted(d.items()))) for u, v, d in g.nx.edges(data=True))
    return nodes, edges


def test_round_trip_keeps_structure_and_results(tmp_path):
    g, x, z, dw, step = _model()
    path = tmp_path / "model.json"
    sg.save_graph(g, path)
    loaded = sg.load_graph(path)
    assert _structure(loaded) == _structure(g)
    feed = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]])
    results = []
    for graph in (g, loaded):
        sess = sg.Session(graph)
        sess.run(sg.global_variables_initializer(graph))
        before = sess.run([z.name, dw.name], {"x": feed})
        sess.run(step.name, {"x": feed})
        results.append(before + [sess.run("w")])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert [v.name for v in sg.trainable_variables(loaded)] == ["w"]
    sg.save_graph(loaded, tmp_path / "again.json")
    assert _structure(sg.load_graph(tmp_path / "again.json")) == _structure(loaded)


def _doc():
    g, *_ = _model()
    from staticgraph.io.graph_json import _encode_graph
    return {"format": "staticgraph-graph", "version": 1, **_encode_graph(g)}


def _mutated(mutate):
    doc = _doc()
    mutate(doc)
    return json.dumps(doc)


BAD = {
    "not json": lambda: "{nope",
    "wrong format": lambda: _mutated(lambda d: d.update(format="other")),
    "unknown version": lambda: _mutated(lambda d: d.update(version=99)),
    "unknown op": lambda: _mutated(lambda d: d["nodes"][0].update(op="os.system")),
    "bad attr type": lambda: _mutated(lambda d: next(n for n in d["nodes"] if n["op"] == "tanh")["attrs"].update(x={"__pickle__": 1})),
    "dangling edge": lambda: _mutated(lambda d: d["edges"].append({"src": "nowhere", "dst": "x", "kind": "data", "index": 0})),
    "duplicate edge": lambda: _mutated(lambda d: d["edges"].append(dict(d["edges"][0]))),
    "cycle": lambda: _mutated(lambda d: d["edges"].append({"src": d["nodes"][-1]["name"], "dst": d["nodes"][0]["name"], "kind": "control"})),
    "shape mismatch": lambda: _mutated(lambda d: next(n for n in d["nodes"] if n["op"] == "tanh").update(shape=[7, 7])),
    "absurd size": lambda: _mutated(lambda d: d["nodes"][0].update(shape=[2 ** 40])),
    "bad dtype": lambda: _mutated(lambda d: d["nodes"][0].update(dtype="complex128")),
    "truncated array": lambda: _mutated(lambda d: next(n for n in d["nodes"] if n["op"] == "constant")["attrs"]["value"]["__ndarray__"].update(data="AAAA")),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_files_are_rejected_clearly(kind):
    with pytest.raises(InvalidArgumentError, match="load_graph"):
        loads_graph(BAD[kind]())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzzed_files_only_raise_our_error(data):
    text = json.dumps(_doc())
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.text(alphabet='{}[]",:0123456789-.eaxnul ', min_size=0, max_size=4))
    mutated = text[:position] + replacement + text[position + data.draw(st.integers(0, 3)):]
    try:
        loads_graph(mutated)
    except InvalidArgumentError:
        pass


def test_no_pickle_anywhere_in_the_package():
    import pathlib
    root = pathlib.Path(sg.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
