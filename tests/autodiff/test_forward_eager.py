"""The jvp rules on eager tensors: a dual-number interpreter over each row's graph agrees with sg.jvp."""
import networkx as nx
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.ops.registry import get_op
from staticgraph.runtime.reference import needed_nodes
from tests.autodiff.table import DIFF, build, directions, ids, sample


def eager_tangent(graph: sg.Graph, y: sg.Tensor, feeds: dict, tangents: dict) -> np.ndarray:
    """Evaluate y and its tangent node by node with eager tensors, calling each op's own jvp."""
    values, tangent_of = {}, {}
    for node in nx.topological_sort(graph.nx.subgraph(needed_nodes(graph, [y.name], set(feeds)))):
        attrs = graph.node(node)["attrs"]
        op = get_op(graph.node(node)["op"])
        inputs = [values[n] for n in graph.inputs(node)]
        if node in feeds:
            values[node] = eager.tensor(feeds[node])
            tangent_of[node] = eager.tensor(tangents[node])
            continue
        values[node] = op(*inputs, **attrs) if inputs else eager.tensor(op.kernel(**attrs))
        input_tangents = [tangent_of.get(n) for n in graph.inputs(node)]
        if callable(op.jvp) and any(t is not None for t in input_tangents):
            tangent = op.jvp(input_tangents, *inputs, out=values[node], **attrs)
            if tangent is not None:
                tangent_of[node] = tangent
    found = tangent_of.get(y.name)
    return np.zeros(y.shape) if found is None else found.numpy()


# A cond or while_loop node holds static sub-graphs; eagerly, control flow is plain Python.
NODE_BY_NODE = [(row, case) for row, case in DIFF if "subgraphs" not in row.tags]


@pytest.mark.parametrize("row,case", NODE_BY_NODE, ids=ids(NODE_BY_NODE))
def test_eager_jvp_equals_static_jvp(row, case, rng):
    shapes = row.cases[case]
    xs, y = build(row, shapes)
    values, us = sample(row, shapes, rng), directions(shapes, rng)
    (ty,) = sg.jvp(y, xs, [sg.constant(u) for u in us])
    static = sg.Session().run(ty, dict(zip(xs, values)))
    names = [x.name for x in xs]
    dual = eager_tangent(y.graph, y, dict(zip(names, values)), dict(zip(names, us)))
    np.testing.assert_allclose(dual, static, rtol=1e-12, atol=1e-12)
