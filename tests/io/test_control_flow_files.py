"""A graph file cannot make a cond or while_loop claim shapes its sub-graphs do not give: the
cond's and the loop's shape rules check their sub-graphs against what the node claims."""
import json

import numpy as np
import pytest

import staticgraph as sg


def _saved(tmp_path, build):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        build(x)
    path = tmp_path / "g.json"
    sg.save_graph(g, path)
    return path, json.loads(path.read_text())


def _walk(value):
    """Every dict inside a JSON value (sub-graphs included)."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _lie_about_shapes(data, ops, old, new):
    """Change shape `old` to `new` in the stored shapes and out_specs of nodes of `ops`, and of
    every element read from them, as a hostile file would."""
    for node in _walk(data):
        if node.get("op") in ops or node.get("op") == "tuple_get":
            if node.get("shape") == old:
                node["shape"] = new
            for spec in _walk(node.get("attrs", {}).get("out_specs", {})):
                if "__spec__" in spec and spec["__spec__"][0] == old:
                    spec["__spec__"][0] = new
            attrs = node.get("attrs", {})
            if attrs.get("shape", {}) == {"__tuple__": old}:
                attrs["shape"] = {"__tuple__": new}
    return data


@pytest.mark.parametrize("build,ops", [
    (lambda x: sg.cond(sg.sum(x) > 0, lambda: x * 2, lambda: -x, name="c"), ("cond",)),
    (lambda x: sg.while_loop(lambda v: sg.sum(v) < 10.0, lambda v: v * 2, [x], name="w"),
     ("while_loop",)),
], ids=["cond", "while_loop"])
def test_a_file_claiming_other_output_shapes_is_refused(tmp_path, build, ops):
    path, data = _saved(tmp_path, build)
    sg.load_graph(path)  # the honest file loads
    path.write_text(json.dumps(_lie_about_shapes(data, ops, [3], [2])))
    with pytest.raises(sg.errors.InvalidArgumentError):
        sg.load_graph(path)


def test_a_cond_branch_claiming_more_than_its_capture_guarantees_is_refused():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None,), name="x")
        sg.cond(sg.sum(x) > 0, lambda: x * 2, lambda: -x, name="c")
    node = g.node("c")
    true_g, _ = node["attrs"]["branches"][0]
    capture = true_g.inner_captures[0]
    true_g.nx.nodes[capture.name]["shape"] = (3,)  # as a hostile file could say
    with pytest.raises(sg.errors.ShapeError, match="assumes"):
        sg.ops.registry.infer_spec(sg.ops.registry.get_op("cond"),
                                   [sg.ops.registry.Spec((), np.dtype(bool)),
                                    sg.ops.registry.Spec((None,), np.dtype("float64"))],
                                   node["attrs"], "test")
