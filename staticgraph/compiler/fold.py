"""fold_constants: compute, once at compile time, every node whose inputs are all constants.

Before: any graph. After: each node whose op is "foldable" (and not "stateful"), that has no
control inputs, whose data inputs are all constants and whose value takes at most
`FOLD_LIMIT_BYTES`, is a constant holding that value, under the same name, role and source.
A node whose kernel fails, or disagrees with its shape rule, is left alone so that the run
reports the problem where it happens.
"""
from __future__ import annotations

import numpy as np

from staticgraph.compiler.rewrite import CONSTANT, Replace, constant_value, rebuild
from staticgraph.compiler.verify import compatible
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import num_elements

FOLD_LIMIT_BYTES = 1 << 20  # larger results would bloat the graph more than they save per run


def fold_constants(graph: Graph) -> Graph:
    """A new graph in which constant subexpressions are replaced by their values (the input
    itself when no node has only constant inputs).

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import fold_constants
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     y = sg.multiply(sg.constant(2.0), sg.constant(3.0), name="y")
        >>> folded = fold_constants(g)
        >>> folded.node("y")["op"], float(folded.node("y")["attrs"]["value"])
        ('constant', 6.0)
    """
    if not any(node["op"] != CONSTANT and all(  # inputs first: the cheaper test
            constant_value(graph, i) is not None for i in graph.inputs(name))
            and _candidate(graph, name, node) for name, node in graph.nx.nodes(data=True)):
        return graph  # nothing to fold: no copy to make

    def fold(new: Graph, name: str, node: dict, inputs: list):
        decision = folded(new, node, inputs)  # the cheaper tests first
        return None if decision is None or graph.control_inputs(name) else decision

    return rebuild(graph, fold)


def folded(new: Graph, node: dict, inputs: list, decision: Replace | None = None
           ) -> Replace | None:
    """A constant standing for `node` (defined as `decision` when given) on `inputs`, names of
    nodes of `new`, when every input is a constant there and the node can be folded; else None.
    The caller checks that the node has no control inputs."""
    if decision is not None:
        node = dict(node, op=decision.op, attrs=decision.attrs)
        inputs = decision.inputs
    values = [constant_value(new, i) for i in inputs]  # the cheaper test first
    if any(v is None for v in values) or not _foldable(node):
        return None
    value = _evaluate(get_op(node["op"]).kernel, values, node)
    return None if value is None else Replace(CONSTANT, (), {"value": value})


def _candidate(graph: Graph, name: str, node: dict) -> bool:
    return _foldable(node) and not graph.control_inputs(name)


def _foldable(node: dict) -> bool:
    traits = get_op(node["op"]).traits
    if node["op"] == CONSTANT or "foldable" not in traits or traits & {"stateful", "effect"}:
        return False
    size = num_elements(node["shape"])
    return size is None or size * node["dtype"].itemsize <= FOLD_LIMIT_BYTES


def _evaluate(kernel, values: list, node: dict) -> np.ndarray | None:
    """The kernel's value as a read-only array, or None where it cannot stand for the node."""
    try:
        value = np.array(kernel(*values, **node["attrs"]), copy=True)
    except Exception:  # any failure is the run's to report, with its usual message
        return None
    if value.dtype != node["dtype"] or not compatible(value.shape, node["shape"]) \
            or value.nbytes > FOLD_LIMIT_BYTES:
        return None
    value.flags.writeable = False
    return value
