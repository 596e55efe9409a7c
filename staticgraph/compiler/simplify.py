"""simplify: algebraic identities that remove or shrink nodes, as a table of rules keyed by op.

Before: any graph. After: a graph computing the same values where
  x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1 -> x         (only where x already has the result's shape)
  x * 0, 0 * x -> zeros of the result's shape            (assumes x finite, as graph compilers do)
  -(-x) -> x;  transpose(transpose(x)) -> one transpose, or x;  reshape(reshape(x)) -> one reshape
  reshape(x) to x's own known shape -> x;  add_n(x) -> x;  identity(x), stop_gradient(x) -> x
  cast(x) to x's dtype -> x;  zeros_like / ones_like(x) of a known shape -> a fill with no input
  x > 0 -> relu(x) > 0 where relu(x) is computed anyway (so x can die at the relu, in place).
Nodes with control inputs are left alone. Every rule keeps the node's shape and dtype.
"""
from __future__ import annotations

import numpy as np

from staticgraph.compiler.rewrite import Replace, constant_value, rebuild
from staticgraph.graph import Graph
from staticgraph.ops.shapes import known


def simplify(graph: Graph) -> Graph:
    """A new graph with the identities above applied (in one sweep, inputs first).

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import fetches_of, prune, simplify
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.negative(sg.negative(x * 1.0), name="y")
        >>> fetches_of(simplify(prune(g, ["y"], ["x"])))   # y is x itself; dead nodes stay for DCE
        ['x']
    """
    def visit(new: Graph, name: str, node: dict, inputs: list):
        rule = RULES.get(node["op"])
        if rule is None or graph.control_inputs(name):
            return None
        return rule(new, node, inputs)

    return rebuild(graph, visit)


# ----- helpers the rules share --------------------------------------------------------------
def _is_constant(new: Graph, name: str, scalar) -> bool:
    value = constant_value(new, name)
    return value is not None and value.size > 0 and bool(np.all(value == scalar))


def _fits(new: Graph, name: str, node: dict) -> bool:
    """True when value `name` has exactly the shape and dtype `node` produces."""
    other = new.nx.nodes[name]
    return other["shape"] == node["shape"] and other["dtype"] == node["dtype"]


def _producer(new: Graph, name: str, op: str) -> list | None:
    """The inputs of node `name` when its op is `op`, else None."""
    return new.inputs(name) if new.nx.nodes[name]["op"] == op else None


def _zeros(new: Graph, like: str, node: dict):
    if known(node["shape"]):
        return Replace("filled", (), {"shape": node["shape"], "dtype": node["dtype"], "value": 0})
    if _fits(new, like, node):
        return Replace("filled_like", (like,), {"dtype": None, "value": 0})
    return None


# ----- the rules: rule(new_graph, node, inputs) -> None | alias name | Replace -------------------
def _multiply(new, node, inputs):
    for x, other in (inputs, inputs[::-1]):
        if _is_constant(new, other, 1) and _fits(new, x, node):
            return x
    for x, other in (inputs, inputs[::-1]):
        if _is_constant(new, other, 0):
            return _zeros(new, x, node)
    return None


def _add(new, node, inputs):
    for x, other in (inputs, inputs[::-1]):
        if _is_constant(new, other, 0) and _fits(new, x, node):
            return x
    return None


def _drop_right(identity_element):
    """x op c -> x when c is the op's right identity (x - 0, x / 1)."""
    def rule(new, node, inputs):
        x, other = inputs
        return x if _is_constant(new, other, identity_element) and _fits(new, x, node) else None
    return rule


def _negative(new, node, inputs):
    inner = _producer(new, inputs[0], "negative")
    return inner[0] if inner and _fits(new, inner[0], node) else None


def _transpose(new, node, inputs):
    inner = _producer(new, inputs[0], "transpose")
    if inner is None:
        return None
    rank = len(node["shape"])
    first = _axes(new.nx.nodes[inputs[0]]["attrs"]["axes"], rank)
    second = _axes(node["attrs"]["axes"], rank)
    axes = tuple(first[a] for a in second)  # out[i] = inner[second[i]] = x[first[second[i]]]
    if axes == tuple(range(rank)) and _fits(new, inner[0], node):
        return inner[0]
    return Replace("transpose", (inner[0],), {"axes": axes})


def _axes(axes, rank: int) -> tuple:
    return tuple(range(rank))[::-1] if axes is None else tuple(axes)


def _reshape(new, node, inputs):
    x = inputs[0]
    if known(node["shape"]) and _fits(new, x, node):
        return x
    inner = _producer(new, x, "reshape")
    return None if inner is None else Replace("reshape", (inner[0],), node["attrs"])


def _only_input(new, node, inputs):
    return inputs[0] if len(inputs) == 1 and _fits(new, inputs[0], node) else None


def _filled_like(new, node, inputs):
    shape = new.nx.nodes[inputs[0]]["shape"]
    if not known(shape):
        return None
    return Replace("filled", (), {"shape": shape, "dtype": node["dtype"],
                                  "value": node["attrs"]["value"]})


def _greater(new, node, inputs):
    x, other = inputs
    if not _is_constant(new, other, 0):
        return None
    for user in new.consumers(x):
        if new.nx.nodes[user]["op"] == "relu":
            return Replace("greater", (user, other), {})
    return None


RULES = {
    "multiply": _multiply,
    "add": _add,
    "subtract": _drop_right(0),
    "divide": _drop_right(1),
    "negative": _negative,
    "transpose": _transpose,
    "reshape": _reshape,
    "add_n": _only_input,
    "identity": _only_input,
    "stop_gradient": _only_input,
    "cast": _only_input,
    "filled_like": _filled_like,
    "greater": _greater,
}
