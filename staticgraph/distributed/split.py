"""How each value of a graph depends on a batch split into shards: the analysis behind `split=`.

A run with `split={X: 0}` computes the graph once per shard of X's axis 0. Each value then falls
in one of four kinds, found by walking the graph once with one rule per op:

    SAME   every shard computes the same value c * n**power (n: the shard's size), the whole
           batch's is c * N**power;
    BATCH  one entry per example along `axis` (times n**power): the whole batch's value is the
           shards' values (rescaled) put end to end along that axis;
    SUM    a sum over the examples (times n**power): the whole batch's value is the sum of the
           shards' values, each rescaled by (N / n)**power;
    MIXED  none of these (a max over the examples, a square of a sum, a stateful or random op):
           it cannot be made from the shards' values, so it runs on the whole batch.

The power tracks the batch size a mean divides by (`count`): a mean loss over a shard is
(1/n) * (its sum), so its gradients carry n**-1 too, and weighting each shard by n/N gives the
whole batch's mean and gradient exactly. Gradients are linear in their cotangent, so the same
rules that classify a forward sum classify the gradient nodes built from it. The rules, one
per op, are the table in `staticgraph.distributed.batch_rules`.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from staticgraph.distributed.batch_rules import (BATCH, MIX, MIXED, RULES, SAME, SUM, UNSPLIT,
                                                 Node, Part, nonlinear)
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import known

__all__ = ["BATCH", "MIXED", "SAME", "SUM", "Part", "classify", "combine", "rescale"]
SHAPE_ONLY = {"filled_like", "count", "shape", "size", "rank"}  # values read from a shape alone


def classify(graph: Graph, nodes: set, split: dict, fed=()) -> dict:
    """The Part of each node of `nodes` (every input of a node not fed is in it), with the
    nodes of `split` (name -> axis) fed per shard along that axis and those of `fed` whole."""
    parts: dict[str, Part] = {}
    stateful: set = set()  # nodes that change state or draw random numbers, and what follows
    for name in nx.topological_sort(graph.nx.subgraph(nodes)):
        if name in fed:
            parts[name] = Part(BATCH, split[name]) if name in split else UNSPLIT
            continue
        node = graph.node(name)
        if node["role"] in ("update", "init") or any(u in stateful for u in graph.nx.pred[name]) \
                or (node["op"] != "variable" and {"stateful", "random"} & _traits(node["op"])):
            stateful.add(name)
        parts[name] = _part(graph, name, parts, stateful)
    return parts


def _part(graph: Graph, name: str, parts: dict, stateful: set) -> Part:
    node = graph.node(name)
    if name in stateful:
        return MIX
    inputs = graph.inputs(name)
    if node["op"] in SHAPE_ONLY and known(graph.node(inputs[0])["shape"]):
        return UNSPLIT  # a static shape is every shard's and the whole batch's
    controls = [u for u, _, d in graph.nx.in_edges(name, data=True) if d.get("control")]
    if any(parts.get(u, UNSPLIT).kind == MIXED for u in controls):
        return MIX
    inputs = [parts.get(i, UNSPLIT) for i in inputs]
    if all(p == UNSPLIT for p in inputs):
        return UNSPLIT
    if any(p.kind == MIXED for p in inputs):
        return MIX
    rule = RULES.get(node["op"])
    if rule is None and "elementwise" in _traits(node["op"]):
        rule = nonlinear
    if rule is None:
        return MIX
    ranks = [_rank(graph, i) for i in graph.inputs(name)]
    out_rank = None if node["shape"] is None else len(node["shape"])
    try:
        return rule(Node(node["attrs"], inputs, ranks, out_rank, node["shape"],
                         [graph.node(i)["shape"] for i in graph.inputs(name)]))
    except (TypeError, ValueError, IndexError):  # an axis out of range, an unknown rank
        return MIX


def _traits(op: str) -> set:
    return set(get_op(op).traits)


def _rank(graph: Graph, name: str) -> int | None:
    shape = graph.node(name)["shape"]
    return None if shape is None else len(shape)


# ----- putting the shards' values together ----------------------------------------------------
def combine(part: Part, values: list, sizes: list, total: int) -> np.ndarray:
    """The whole batch's value of a node from its shards' `values` (shards of `sizes`
    examples out of `total`)."""
    if part.power:  # None for zeros: any power
        values = [rescale(v, (total / n) ** part.power) for v, n in zip(values, sizes)]
    if part.kind == BATCH:
        return np.concatenate(values, axis=part.axis)
    if part.kind == SUM:
        out = np.array(values[0], copy=True)
        for v in values[1:]:
            out += v
        return out
    return np.asarray(values[0])


def rescale(value, factor: float) -> np.ndarray:
    """`value * factor` in value's dtype (rounded to the nearest integer for integers: a count
    of 18 examples times 37/18 is 37, not 36.99...)."""
    value = np.asarray(value)
    scaled = value * factor
    if value.dtype.kind in "iu":
        scaled = np.rint(scaled)
    return np.asarray(scaled, dtype=value.dtype)
