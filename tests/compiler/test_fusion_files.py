"""Fused graphs in graph files: a fused node's region is saved as data (its sub-graph and the
names of its inputs, members and outputs), loaded through the same checks as any graph, and
runs as before; a file whose region could not come from fusion is refused."""
import json

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.graph_json import dumps_graph, loads_graph


pytestmark = pytest.mark.usefixtures("numpy_kernels")


def _fused_graph():
    """A compiled graph with one fused node of three outputs (a value, an axis sum, a
    gradient), a comparison, a power and a broadcast input inside."""
    x = sg.placeholder(sg.float64, (3, 4), name="x")
    b = sg.placeholder(sg.float64, (4,), name="b")
    h = sg.where(sg.less(x, 0.5), sg.tanh(x * b), x ** 2.0)
    y = sg.sum(h * 2.0, axis=1, name="y")  # a sum of h itself would stay out
    (dx,) = sg.gradients(sg.sum(y), [x])
    exe = sg.compile([h, y, dx])
    feed = {"x": np.random.default_rng(0).normal(size=(3, 4)), "b": np.linspace(0.5, 2, 4)}
    return exe, [h.name, "y", dx.name], feed


def test_a_fused_graph_saved_and_loaded_runs_with_the_same_results(tmp_path):
    exe, fetches, feed = _fused_graph()
    (name,) = [n for n, op in exe.graph.nx.nodes(data="op") if op == "fused"]
    path = tmp_path / "fused.json"
    sg.save_graph(exe.graph, path)
    loaded = sg.load_graph(path)
    region = loaded.node(name)["attrs"]["region"]
    assert loaded.node(name)["op"] == "fused"
    assert region.members == exe.graph.node(name)["attrs"]["region"].members
    assert {"less", "power", "sum", "where"} <= {region.graph.node(m)["op"]
                                                 for m in region.members}
    with sg.Session(graph=loaded) as sess:
        got = sess.run(fetches, feed)
    for g, w in zip(got, exe.run(feed)):
        np.testing.assert_array_equal(g, w)
    with sg.Session(graph=loaded) as sess:  # the region's own rules: its gradient replays them
        (grad,) = sg.gradients(sg.sum(loaded.tensor("y")), [loaded.tensor("b")])
        got_grad = sess.run(grad, feed)
    x, bv = feed["x"], feed["b"]
    want = np.where(x < 0.5, 2 * (1 - np.tanh(x * bv) ** 2) * x, 0.0).sum(axis=0)
    np.testing.assert_allclose(got_grad, want, rtol=1e-12)


def _document():
    with sg.Graph().as_default():
        exe, _, _ = _fused_graph()
    doc = json.loads(dumps_graph(exe.graph))
    (fused,) = [n for n in doc["nodes"] if n["op"] == "fused"]
    return doc, fused, fused["attrs"]["region"]["__region__"]


def _refused(doc, match):
    with pytest.raises(InvalidArgumentError, match=match):
        loads_graph(json.dumps(doc))


def _member(region, op):
    return next(n for n in region["graph"]["nodes"] if n["op"] == op)


def test_a_region_holding_an_op_fusion_never_fuses_is_refused():
    doc, _, region = _document()
    _member(region, "power")["op"] = "floor_divide"  # same shape and dtype: the rules agree
    _refused(doc, r"member 'power': a region cannot hold 'floor_divide'")
    doc, _, region = _document()
    region["outputs"].append("less")
    _refused(doc, r"member 'less', a comparison, leaves the region")
    doc, _, region = _document()
    region["members"].remove("y")  # the sum read inside: y's reader is no longer a member
    _refused(doc, r"holds its placeholders, 0-d constants and members, no more")


def test_a_region_with_a_cycle_or_members_out_of_order_is_refused():
    doc, _, region = _document()
    tanh, power = _member(region, "tanh"), _member(region, "power")
    region["graph"]["edges"].append({"src": power["name"], "dst": tanh["name"],
                                     "kind": "control"})
    region["graph"]["edges"].append({"src": tanh["name"], "dst": power["name"],
                                     "kind": "control"})
    _refused(doc, "the graph has a cycle")
    doc, _, region = _document()
    region["members"].reverse()
    _refused(doc, "reads what comes after it")


def test_a_region_naming_inputs_outputs_or_offsets_out_of_range_is_refused():
    doc, fused, region = _document()
    region["inputs"].append("nowhere")
    _refused(doc, "names nodes its sub-graph does not have")
    doc, fused, region = _document()
    region["outputs"].append(region["inputs"][0])
    _refused(doc, "outputs must be members")
    doc, fused, region = _document()
    count = sum(e["dst"] == fused["name"] for e in doc["edges"])
    doc["edges"].append({"src": "b", "dst": fused["name"], "kind": "data", "index": count})
    _refused(doc, r"the region reads float64\(3, 4\), float64\(4,\).*, its inputs are .*"
                  r"float64\(4,\) at ")
    doc, fused, region = _document()
    view = next(n for n in doc["nodes"] if n["op"] == "fused_output")
    view["attrs"]["offset"] = 40
    _refused(doc, "do not lie within the fused value")


def test_a_region_whose_shapes_lie_is_refused():
    doc, fused, region = _document()
    placeholder = next(n for n in region["graph"]["nodes"] if n["op"] == "placeholder")
    placeholder["shape"] = [3, 5]
    placeholder["attrs"]["shape"] = {"__tuple__": [3, 5]}
    _refused(doc, r"node 'multiply': multiply: shapes do not broadcast: \(3, 5\) vs \(4,\)")
    doc, fused, region = _document()
    fused["shape"] = [fused["shape"][0] + 1]
    _refused(doc, "stored float64")
    doc, fused, region = _document()
    for node in region["graph"]["nodes"]:  # a consistent sub-graph of another shape than the
        if node["op"] == "placeholder" and node["name"] == "x":  # fused node's input
            node["shape"], node["attrs"]["shape"] = [1, 4], {"__tuple__": [1, 4]}
    _refused(doc, "the region reads|shape rule gives")
