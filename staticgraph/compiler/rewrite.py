"""Rebuilding graphs: the one way a pass makes its output graph from its input graph.

A pass never edits its input. It walks the input's nodes in a topological order and says, for
each node, what the output graph holds in its place: the same node, another (already rebuilt)
node whose value is identical (an alias), or a new definition under the same name. Data, control
and ref edges, roles, sources and the compiled graph's fetch list follow the aliases.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import networkx as nx
import numpy as np

from staticgraph.errors import GraphError
from staticgraph.graph import Graph
from staticgraph.ops.registry import Spec, get_op, infer_spec

FETCHES = "compiler.fetches"  # collection: the values a compiled graph produces, in fetch order
FEEDS = "compiler.feeds"      # collection: the nodes whose values are fed
CONSTANT = "constant"         # the op of literal values, which folding produces
VARIABLE = "variable"         # the op reading a variable
# the ops updating one
UPDATES = ("assign", "assign_add", "assign_sub", "assign_add_matmul")


@dataclass(frozen=True)
class Replace:
    """A node's new definition: `op` on `inputs` (names in the output graph) with `attrs`."""
    op: str
    inputs: tuple
    attrs: dict


Visit = Callable[[Graph, str, dict, list], "None | str | Replace"]


def fetches_of(graph: Graph) -> list[str]:
    """The names of the values a compiled graph must produce, in fetch order."""
    return graph.get_collection(FETCHES)


def feeds_of(graph: Graph) -> list[str]:
    """The names of the nodes of a compiled graph whose values are fed."""
    return graph.get_collection(FEEDS)


def ordered_nodes(graph: Graph) -> list[str]:
    """A topological order (over data, control and ref edges) close to the order of addition:
    the order of addition itself when every edge goes from an earlier node to a later one (as
    in any graph built op by op, and any graph `rebuild` makes), found in one linear scan."""
    position = {name: i for i, name in enumerate(graph.nx.nodes)}
    pred = graph.nx._pred  # adjacency dicts read directly, as Graph's edge queries do
    if all(position[u] < t for t, name in enumerate(position) for u in pred[name]):
        return list(position)
    return list(nx.lexicographical_topological_sort(graph.nx, key=position.__getitem__))


def by_variable(graph: Graph, names, ops) -> dict[str, list]:
    """variable -> the nodes among `names` (in their order) whose op is in `ops` (reads or
    updates) and that act on that variable."""
    groups: dict[str, list] = {}
    for name in names:
        node = graph.nx.nodes[name]
        if node["op"] in ops:
            groups.setdefault(node["attrs"]["var"], []).append(name)
    return groups


def transposed_matrix(graph: Graph, name: str) -> str | None:
    """The input of node `name` when it is the transpose of a matrix (2-D, axes swapped), else
    None: a matmul can read that input untransposed instead."""
    node = graph.nx.nodes[name]
    if node["op"] == "transpose" and len(node["shape"]) == 2 \
            and node["attrs"]["axes"] in (None, (1, 0)):
        return graph.inputs(name)[0]
    return None


def constant_value(graph: Graph, name: str) -> np.ndarray | None:
    """The value of node `name` when it is a literal constant, else None."""
    node = graph.nx.nodes[name]
    return node["attrs"]["value"] if node["op"] == CONSTANT else None


def add_constant(new: Graph, old: Graph, value: np.ndarray, near: str) -> str:
    """Add a constant node to `new` (a graph being rebuilt from `old`) beside node `near`.

    Its name is free in both graphs, so nodes still to come from `old` keep theirs.
    """
    base, count = f"{near}_const", 0
    name = base
    while name in new.nx or name in old.nx:
        count += 1
        name = f"{base}_{count}"
    node = old.nx.nodes[near]
    value = np.array(value, dtype=value.dtype, copy=True)
    value.flags.writeable = False
    new.add_node(CONSTANT, [], {"value": value}, value.shape, value.dtype, node["source"],
                 name=name, role=node["role"], exact_name=True)
    return name


def rebuild(graph: Graph, visit: Visit | None = None, keep: Iterable[str] | None = None) -> Graph:
    """A new graph holding `graph`'s nodes (only those in `keep`, when given), as `visit` decides.

    `visit(new_graph, name, node_attrs, input_names)` sees the inputs as already rebuilt and
    returns None (copy the node), a node name of `new_graph` (an alias: uses of `name` become
    uses of that node) or a `Replace` (a new definition, keeping the name, role and source).
    """
    kept = set(graph.nx) if keep is None else set(keep)
    new, alias = Graph(), {}
    for name in ordered_nodes(graph):
        if name not in kept:
            continue
        node = graph.nx.nodes[name]
        data, refs, controls = _in_edges(graph, name)
        inputs = [alias.get(i, i) for i in data]
        decision = visit(new, name, node, inputs) if visit is not None else None
        if isinstance(decision, str):
            alias[name] = alias.get(decision, decision)
            continue
        _add(new, name, node, inputs, decision, [alias.get(r, r) for r in refs if r in kept],
             [alias.get(c, c) for c in controls if c in kept])
    for key in (FETCHES, FEEDS):
        for value in graph.get_collection(key):
            new.add_to_collection(key, alias.get(value, value))
    return new


def _in_edges(graph: Graph, name: str) -> tuple[list, list, list]:
    """The data inputs (in input order), ref inputs and control inputs of node `name`, read
    in one pass over its in-edges (what Graph.inputs, ref_inputs and control_inputs give)."""
    data, refs, controls = [], [], []
    for u, keys in graph.nx._pred[name].items():
        for d in keys.values():
            if "index" in d:
                data.append((d["index"], u))
            elif d.get("ref"):
                refs.append(u)
            elif d.get("control"):
                controls.append(u)
    data.sort()
    return [u for _, u in data], refs, controls


def _add(new: Graph, name: str, node: dict, inputs: list, decision: Replace | None,
         refs: list, controls: list) -> None:
    if decision is not None:
        shape, dtype = _replacement_spec(new, name, node, decision)
        node = {"op": decision.op, "attrs": decision.attrs, "shape": shape, "dtype": dtype,
                "role": node["role"], "source": node["source"]}
        inputs = list(decision.inputs)
    new.copy_node(name, node, inputs, refs, controls)


def _replacement_spec(new: Graph, name: str, node: dict, decision: Replace) -> tuple:
    """The shape rule's spec for a replacement, with the dims the old node knew kept."""
    specs = [Spec(new.nx.nodes[i]["shape"], new.nx.nodes[i]["dtype"]) for i in decision.inputs]
    spec = infer_spec(get_op(decision.op), specs, decision.attrs, node["source"])
    old = node["shape"]
    ranks_differ = None not in (spec.shape, old) and len(spec.shape) != len(old)
    if spec.dtype != node["dtype"] or ranks_differ:
        raise GraphError(f"rewriting node {name!r} as {decision.op} changed its spec from "
                         f"{old} {node['dtype']} to {spec.shape} {spec.dtype}")
    if spec.shape is None or old is None:  # an unknown rank: keep whichever shape is known
        return (old if spec.shape is None else spec.shape), spec.dtype
    shape = tuple(o if s is None else s for s, o in zip(spec.shape, old))
    return shape, spec.dtype
