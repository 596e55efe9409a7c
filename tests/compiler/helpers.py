"""Helpers for the pass tests: graph structure as plain data, and running a graph by reference."""
from __future__ import annotations

import numpy as np

from staticgraph.compiler import feeds_of, fetches_of
from staticgraph.graph import Graph
from staticgraph.runtime.reference import build_steps, run_steps
from staticgraph.runtime.state import RunState, VariableStore


def structure(graph: Graph) -> dict:
    """node name -> (op, data inputs, control inputs, shape, dtype name, constant value or None)."""
    out = {}
    for name, node in graph.nx.nodes(data=True):
        value = node["attrs"].get("value") if node["op"] == "constant" else None
        out[name] = (node["op"], tuple(graph.inputs(name)), tuple(sorted(graph.control_inputs(name))),
                     node["shape"], node["dtype"].name, None if value is None else value.tolist())
    return out


def assert_same_structure(actual: Graph, expected: Graph) -> None:
    got, want = structure(actual), structure(expected)
    assert sorted(got) == sorted(want), f"nodes differ: {sorted(got)} vs {sorted(want)}"
    for name in want:
        assert got[name] == want[name], f"node {name!r}: {got[name]} vs {want[name]}"


def reference_values(graph: Graph, fetches, feed_dict: dict, store: VariableStore | None = None):
    """The fetched values by the reference executor (feed_dict: node name -> array)."""
    steps = build_steps(graph, list(fetches), set(feed_dict))
    store = store or VariableStore()
    values = run_steps(steps, dict(feed_dict), RunState(store))
    return [values[f] for f in fetches]


def run_compiled_graph(graph: Graph, feed_dict: dict):
    """Run a compiled graph (its FETCHES given its FEEDS) by reference."""
    return reference_values(graph, fetches_of(graph), {f: feed_dict[f] for f in feeds_of(graph)})


def assert_values_equal(got, want) -> None:
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
