"""Graph files: exact round trips, and every kind of bad file rejected with the project's error."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.graph_json import dumps_graph, loads_graph


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


# ----- hostile files: each node is checked against its op's schema before anything runs -----
def _small():
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.array([1.0, 2.0]), name="w")
        c = sg.constant(np.array([5.0, -1.0]), name="c")
        sg.maximum(c, sg.constant(np.array([0.0, 0.0]), name="zero"), name="y")
        sg.fill((3,), sg.constant(7.0, dtype=sg.float64), name="f")
        w.assign(sg.constant(np.array([3.0, 4.0]), name="c2") * 2.0, name="set_w")
    from staticgraph.io.graph_json import _encode_graph
    return {"format": "staticgraph-graph", "version": 1, **_encode_graph(g)}


def _node(doc, name):
    return next(n for n in doc["nodes"] if n["name"] == name)


def _refused(doc, match, **kwargs):
    with pytest.raises(InvalidArgumentError, match=match):
        loads_graph(json.dumps(doc), **kwargs)


def test_an_extra_input_is_refused_not_passed_as_numpys_out():
    # A third input to maximum used to reach np.maximum as out= and overwrite w's array.
    doc = _small()
    doc["edges"].append({"src": "w", "dst": "y", "kind": "data", "index": 2})
    _refused(doc, "maximum takes 2 inputs, the file gives 3")
    doc = _small()
    doc["edges"] = [e for e in doc["edges"] if not (e["dst"] == "y" and e.get("index") == 1)]
    _refused(doc, "maximum takes 2 inputs, the file gives 1")


@pytest.mark.parametrize("name, value", [("where", False), ("out", None), ("dtype", {"__dtype__": "float32"}),
                                         ("casting", "unsafe")])
def test_attributes_the_op_does_not_declare_are_refused(name, value):
    # "where": False used to reach np.maximum and return uninitialised memory.
    doc = _small()
    _node(doc, "y")["attrs"][name] = value
    _refused(doc, rf"maximum takes the attributes \[\]; the file adds \['{name}'\]")


def test_missing_and_executor_attributes_are_refused():
    doc = _small()
    del _node(doc, "f")["attrs"]["shape"]
    _refused(doc, r"fill takes the attributes \['shape'\]; the file lacks \['shape'\]")
    doc = _small()
    _node(doc, "set_w")["attrs"]["in_place"] = True
    _refused(doc, r"the file adds \['in_place'\]")


@pytest.mark.parametrize("where", ["node", "array", "tag"])
def test_object_dtype_is_refused(where):
    doc = _small()
    if where == "node":
        _node(doc, "c")["dtype"] = "object"
    elif where == "array":
        _node(doc, "c")["attrs"]["value"]["__ndarray__"]["dtype"] = "object"
    else:
        _node(doc, "f")["attrs"]["shape"] = {"__dtype__": "O"}
    _refused(doc, "unknown dtype")


def test_an_assign_must_agree_with_its_variable():
    doc = _small()
    node = _node(doc, "set_w")   # claims w is float64 (3,), and is consistent with that claim
    node["attrs"]["shape"] = {"__tuple__": [3]}
    node["shape"] = [3]
    _node(doc, "multiply")["shape"] = [3]
    _node(doc, "c2").update(shape=[3])
    _node(doc, "c2")["attrs"]["value"]["__ndarray__"].update(shape=[3], data="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    _refused(doc, r"assign says variable 'w' is float64\(3,\), but it is float64\(2,\)")
    doc = _small()
    _node(doc, "set_w")["attrs"]["var"] = "c"
    _refused(doc, "names 'c', which is not a variable")


def test_stored_shapes_are_compared_as_ints():
    # A shape attribute of 2.0 equals 2 in Python, but is not a dim: np.full would refuse it at run time.
    doc = _small()
    _node(doc, "f")["attrs"]["shape"] = {"__tuple__": [3.0]}
    _refused(doc, r"stored float64\(3,\) but fill's shape rule gives")


def test_sizes_are_capped_and_the_cap_is_configurable(tmp_path):
    doc = _small()
    _node(doc, "f")["attrs"]["shape"] = {"__tuple__": [2 ** 30, 2 ** 20]}
    _node(doc, "f")["shape"] = [2 ** 30, 2 ** 20]
    _refused(doc, "over max_bytes=1073741824")
    doc = _small()
    _node(doc, "f")["attrs"]["shape"] = {"__tuple__": [10 ** 6]}
    _node(doc, "f")["shape"] = [10 ** 6]
    text = json.dumps(doc)
    assert loads_graph(text).node("f")["shape"] == (10 ** 6,)
    _refused(doc, "node 'f' would hold 8000000 bytes, over max_bytes=7999999", max_bytes=7999999)
    path = tmp_path / "g.json"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match="node 'f' would hold"):
        sg.load_graph(path, max_bytes=len(text))
    with pytest.raises(InvalidArgumentError, match="larger than max_bytes"):
        sg.load_graph(path, max_bytes=len(text) - 1)


def test_a_loaded_graph_runs_to_the_saved_values():
    graph = loads_graph(json.dumps(_small()))
    sess = sg.Session(graph)
    sess.run(sg.global_variables_initializer(graph))
    np.testing.assert_array_equal(sess.run("y"), [5.0, 0.0])
    np.testing.assert_array_equal(sess.run("w"), [1.0, 2.0])
    np.testing.assert_array_equal(sess.run("f"), [7.0, 7.0, 7.0])


def test_every_op_has_a_schema_derived_from_its_signatures():
    from staticgraph.io.graph_schema import Schema, op_schema
    from staticgraph.ops.registry import REGISTRY, get_op
    for op in REGISTRY.values():
        op_schema(op)
    assert op_schema(get_op("maximum")) == Schema(2, 2, frozenset())
    assert op_schema(get_op("where")) == Schema(3, 3, frozenset())
    assert op_schema(get_op("relu")) == Schema(1, 1, frozenset())
    assert op_schema(get_op("assign")) == Schema(1, 1, frozenset({"var", "shape", "dtype"}))
    assert op_schema(get_op("sum")) == Schema(1, 1, frozenset({"axis", "keepdims"}))
    assert op_schema(get_op("concat")) == Schema(0, None, frozenset({"axis"}))


def test_an_element_of_a_cond_must_have_the_shape_its_cond_gives():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (2,), name="x")
        sg.identity(sg.cond(sg.sum(x) > 0, lambda: x * 2.0, lambda: sg.sin(x)), name="y")
    from staticgraph.io.graph_json import _encode_graph
    doc = {"format": "staticgraph-graph", "version": 1, **_encode_graph(g)}
    for node in doc["nodes"]:  # claims (3,) for the (2,) value: once loaded, it ran to [2, 4]
        if node["op"] in ("tuple_get", "identity"):
            node["shape"] = [3]
            node["attrs"].update({"shape": {"__tuple__": [3]}} if node["op"] == "tuple_get" else {})
    _refused(doc, r"node 'cond_out0': element 0 of 'cond' is float64\(2,\), not float64\(3,\)")


def test_a_constant_whose_value_is_not_an_array_is_refused():
    graph = sg.Graph()
    with graph.as_default():
        sg.constant(np.ones((2, 3)), name="c")
    text = dumps_graph(graph)
    doc = json.loads(text)
    node = next(n for n in doc["nodes"] if n["name"] == "c")
    node["attrs"]["value"] = {"__spec__": [[2, 3], {"__dtype__": "float64"}]}  # shaped, no data
    with pytest.raises(sg.errors.StaticGraphError, match="constant's value must be an array"):
        loads_graph(json.dumps(doc))
