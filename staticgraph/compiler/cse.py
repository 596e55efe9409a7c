"""eliminate_common_subexpressions: one node for each distinct computation.

Before: any graph. After: no two mergeable nodes have the same op, attrs and data inputs (in
order); the uses of the later one read the earlier one. A node is mergeable when its op is neither
"stateful" nor "no_output", it has no control inputs, it has data inputs or a "foldable" op (so
placeholders, which differ by what is fed, stay apart), and all its attrs are hashable; array
attrs (constants) count by value up to `ARRAY_LIMIT` elements.
"""
from __future__ import annotations

import numpy as np

from staticgraph.compiler.rewrite import rebuild
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op

ARRAY_LIMIT = 4096  # larger constants are rarely repeated, and comparing them costs


class _Unmergeable(Exception):
    """An attr that cannot be compared by value."""


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """A new graph in which identical computations are done once (the input itself when no
    two nodes compute the same thing).

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import eliminate_common_subexpressions
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.add(sg.sin(x), sg.sin(x), name="y")
        >>> eliminate_common_subexpressions(g).inputs("y")
        ['sin', 'sin']
    """
    keys = {name: _key(graph, name, node, graph.inputs(name))
            for name, node in graph.nx.nodes(data=True)}
    found = [k for k in keys.values() if k is not None]
    if len(set(found)) == len(found):
        return graph  # no twins, so no merge can make any: no copy to make
    first: dict = {}

    def merge(new: Graph, name: str, node: dict, inputs: list):
        key = keys[name]  # whether a node may merge does not depend on its inputs' names
        if key is None:
            return None
        if key[1] != tuple(inputs):  # an input was merged into an earlier twin
            key = key[0], tuple(inputs), key[2]
        earlier = first.get(key)
        if earlier is None:
            first[key] = name
        return earlier

    return rebuild(graph, merge)


def _key(graph: Graph, name: str, node: dict, inputs: list):
    """What makes two nodes compute the same value, or None when `name` must stay alone."""
    traits = get_op(node["op"]).traits
    if "stateful" in traits or "no_output" in traits or graph.control_inputs(name):
        return None
    if not inputs and "foldable" not in traits:
        return None
    try:
        return node["op"], tuple(inputs), _hashable(node["attrs"])
    except _Unmergeable:
        return None


def _hashable(value):
    """`value` as a hashable key that is equal exactly for equal values (types included)."""
    if isinstance(value, np.ndarray):
        if value.size > ARRAY_LIMIT:
            raise _Unmergeable
        return "ndarray", value.dtype.str, value.shape, value.tobytes()
    if isinstance(value, dict):
        return "dict", tuple((k, _hashable(v)) for k, v in sorted(value.items()))
    if isinstance(value, (tuple, list)):
        return type(value).__name__, tuple(_hashable(v) for v in value)
    if isinstance(value, slice):
        return "slice", _hashable((value.start, value.stop, value.step))
    try:
        hash(value)
    except TypeError:
        raise _Unmergeable from None
    return type(value), value
