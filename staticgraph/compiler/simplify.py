"""simplify: algebraic identities that remove or shrink nodes, as a table of rules keyed by op.

Before: any graph. After: a graph computing bit for bit the same values (signed zeros, Infs
and NaNs included) where
  x * 1, 1 * x, x / 1 -> x                         (only where x already has the result's shape)
  x + (-0.0), x - (+0.0) -> x; for integers x + 0, 0 + x, x - 0 -> x
  x * 0, 0 * x -> zeros of the result's shape      (integers and bools only)
  x + x -> x * 2;  add_n(x, x) -> x * 2, add_n(x, x, x) -> x * 3 (any n for integers)
  (x * c) * d -> x * (c d) for 0-d constants c, d: integers, or floats that are powers of two
  of magnitude >= 1 (scaling by those never rounds, and overflows exactly when the product does)
  add_n(x) -> x;  add_n(x, y) -> x + y
  -(-x) -> x;  transpose(transpose(x)) -> one transpose, or x;  reshape(reshape(x)) -> one reshape
  reshape / broadcast / reduce_to of x to its own known shape -> x
  identity(x), stop_gradient(x) -> x
  with known shapes: broadcast_like -> broadcast_to, reduce_to -> sum, expand_dims and squeeze
  -> reshape, count -> a constant (the same values with no shape work at run time)
  cast(x) to x's dtype -> x;  zeros_like / ones_like(x) of a known shape -> a fill with no input
  (folded into a constant in the same sweep when small enough)
  x > 0 -> relu(x) > 0 where relu(x) is computed anyway (so x can die at the relu, in place).
Nodes with control inputs are left alone. Every rule keeps the node's shape and dtype. Identities
that hold in real arithmetic but not in floating point are not applied: x + 0.0 is +0.0 at
x = -0.0, x * 0.0 is NaN at an Inf and -0.0 at a negative x, (x * c) * d rounds twice and can
overflow or underflow where x * (c d) does not (other than for the constants above), and a sum of four or more x's rounds differently from 4 x.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staticgraph.compiler.fold import folded
from staticgraph.compiler.rewrite import (CONSTANT, Replace, add_constant, constant_value,
                                         ordered_nodes, rebuild)
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import known


def simplify(graph: Graph) -> Graph:
    """A new graph with the identities above applied (in one sweep, inputs first); a node
    whose inputs have become constants in the sweep is folded there, as fold_constants would,
    so that a chain of rewrites (a seed of ones, reshaped, broadcast, then multiplying x) ends
    in one sweep.

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
        if rule is None and not any(constant_value(new, i) is not None for i in inputs):
            return None
        if graph.control_inputs(name):
            return None
        decision = None if rule is None else rule(_Site(new, graph, name, node), inputs)
        if isinstance(decision, str):
            return decision
        return folded(new, node, inputs, decision) or decision

    return rebuild(graph, visit) if _applies(graph) else graph


class _WouldAdd(Exception):
    """A rule tried to add a node while `_applies` only looks."""


def _applies(graph: Graph) -> bool:
    """True when some rule may apply: the rules asked of `graph` itself, node by node.

    Until a rule applies, the graph being rebuilt holds exactly the nodes seen so far, as
    `graph` does, so a rule sees the same inputs; the one fact `graph` holds more of (later
    consumers of a value) can only make a rule apply here that would not there. So when no
    rule applies, simplify may return its input, and no copy need be made.
    """
    for name in ordered_nodes(graph):
        node = graph.nx.nodes[name]
        rule = RULES.get(node["op"])
        if rule is None or graph.control_inputs(name):
            continue
        try:
            if rule(_Site(graph, graph, name, node, looking=True), graph.inputs(name)) is not None:
                return True
        except _WouldAdd:
            return True
    return False


@dataclass(frozen=True)
class _Site:
    """Where a rule applies: the graph being built, the input graph, and the node at hand."""
    new: Graph
    old: Graph
    name: str
    node: dict
    looking: bool = False  # asked by `_applies`: adding a node means the rule applies

    def spec_of(self, name: str) -> tuple:
        other = self.new.nx.nodes[name]
        return other["shape"], other["dtype"]

    def fits(self, name: str) -> bool:
        """True when value `name` has exactly the shape and dtype this node produces."""
        return self.spec_of(name) == (self.node["shape"], self.node["dtype"])

    def is_constant(self, name: str, scalar) -> bool:
        value = constant_value(self.new, name)
        return value is not None and value.size > 0 and bool(np.all(value == scalar))

    def is_zero(self, name: str, negative: bool) -> bool:
        """True for a constant of zeros that leaves x unchanged when added: for floats every
        zero must carry the sign `negative` asks for (x + (-0.0) and x - (+0.0) are exact)."""
        value = constant_value(self.new, name)
        if value is None or value.size == 0 or not bool(np.all(value == 0)):
            return False
        return value.dtype.kind != "f" or bool(np.all(np.signbit(value) == negative))

    @property
    def exact_integer(self) -> bool:
        """True when this node's values are integers or bools (no signed zeros, Infs, NaNs or
        rounding)."""
        return self.node["dtype"].kind in "biu"

    def producer(self, name: str, op: str) -> list | None:
        """The inputs of node `name` when its op is `op`, else None."""
        return self.new.inputs(name) if self.new.nx.nodes[name]["op"] == op else None

    def constant(self, value) -> str:
        """A new scalar constant of this node's dtype; its name."""
        if self.looking:
            raise _WouldAdd
        return add_constant(self.new, self.old, np.asarray(value, self.node["dtype"]), self.name)

    def zeros(self, like: str):
        if known(self.node["shape"]):
            return Replace("filled", (), {"shape": self.node["shape"], "dtype": self.node["dtype"],
                                          "value": 0})
        if self.fits(like):
            return Replace("filled_like", (like,), {"dtype": None, "value": 0})
        return None


# ----- the rules: rule(site, inputs) -> None | alias name | Replace ------------------------------
def _multiply(site: _Site, inputs: list):
    for x, other in (inputs, inputs[::-1]):
        if site.is_constant(other, 1) and site.fits(x):
            return x
    if site.exact_integer:
        for x, other in (inputs, inputs[::-1]):
            if site.is_constant(other, 0):
                return site.zeros(x)
    return _scaled_twice(site, inputs)


def _scaled_twice(site: _Site, inputs: list):
    """(x * c) * d -> x * (c d) where that is exact (see the module doc)."""
    for inner, outer in (inputs, inputs[::-1]):
        d = _exact_scale(site, outer)
        factors = site.producer(inner, "multiply")
        if d is None or factors is None:
            continue
        for x, c in (factors, factors[::-1]):
            c = _exact_scale(site, c)
            if c is not None and site.fits(x) and site.spec_of(inner) == site.spec_of(x):
                product = np.multiply(c, d, dtype=site.node["dtype"])
                if site.exact_integer or np.isfinite(product):
                    return Replace("multiply", (x, site.constant(product)), {})
    return None


def _exact_scale(site: _Site, name: str):
    """The value of 0-d constant `name` of this node's dtype when scaling by it is exact: an
    integer, or a float power of two of magnitude >= 1; else None."""
    value = constant_value(site.new, name)
    if value is None or value.ndim != 0 or value.dtype != site.node["dtype"] \
            or value.dtype.kind == "b":
        return None
    if site.exact_integer:
        return value
    mantissa, exponent = np.frexp(value)
    return value if abs(mantissa) == 0.5 and exponent >= 1 else None


def _add(site: _Site, inputs: list):
    for x, other in (inputs, inputs[::-1]):
        if site.is_zero(other, negative=True) and site.fits(x):
            return x
    return _add_n(site, inputs)


def _add_n(site: _Site, inputs: list):
    if len(set(inputs)) == 1 and site.fits(inputs[0]):
        if len(inputs) == 1:
            return inputs[0]
        # x + x = 2 x and (x + x) + x = 3 x exactly (each side rounds once); 4 x and up may not.
        if site.exact_integer and site.node["dtype"].kind != "b" or len(inputs) <= 3:
            return Replace("multiply", (inputs[0], site.constant(len(inputs))), {})
    if len(inputs) == 2 and site.node["op"] == "add_n":
        return Replace("add", tuple(inputs), {})
    return None


def _subtract(site: _Site, inputs: list):
    """x - (+0.0) -> x (x - (-0.0) is +0.0 at x = -0.0)."""
    x, other = inputs
    return x if site.is_zero(other, negative=False) and site.fits(x) else None


def _divide(site: _Site, inputs: list):
    x, other = inputs
    return x if site.is_constant(other, 1) and site.fits(x) else None


def _negative(site: _Site, inputs: list):
    inner = site.producer(inputs[0], "negative")
    return inner[0] if inner and site.fits(inner[0]) else None


def _transpose(site: _Site, inputs: list):
    inner = site.producer(inputs[0], "transpose")
    if inner is None:
        return None
    rank = len(site.node["shape"])
    first = _axes(site.new.nx.nodes[inputs[0]]["attrs"]["axes"], rank)
    second = _axes(site.node["attrs"]["axes"], rank)
    axes = tuple(first[a] for a in second)  # out[i] = inner[second[i]] = x[first[second[i]]]
    if axes == tuple(range(rank)) and site.fits(inner[0]):
        return inner[0]
    return Replace("transpose", (inner[0],), {"axes": axes})


def _axes(axes, rank: int) -> tuple:
    return tuple(range(rank))[::-1] if axes is None else tuple(axes)


def _reshape(site: _Site, inputs: list):
    x = inputs[0]
    if known(site.node["shape"]) and site.fits(x):
        return x
    inner = site.producer(x, "reshape")
    return None if inner is None else Replace("reshape", (inner[0],), site.node["attrs"])


def _known_no_op(site: _Site, inputs: list):
    """A reshape, broadcast or reduction to the shape x already has is x (shapes known)."""
    return inputs[0] if known(site.node["shape"]) and site.fits(inputs[0]) else None


def _as_broadcast_to(site: _Site, inputs: list):
    """broadcast_like(x, like) of a known result shape: the same view, without shape work."""
    if _known_no_op(site, inputs) is not None:
        return inputs[0]
    shape = site.node["shape"]
    return Replace("broadcast_to", (inputs[0],), {"shape": shape}) if known(shape) else None


def _as_sum(site: _Site, inputs: list):
    """reduce_to(x, like) of known shapes: a sum over the broadcast axes (no axis work per run)."""
    if _known_no_op(site, inputs) is not None:
        return inputs[0]
    x_shape, _ = site.spec_of(inputs[0])
    shape = site.node["shape"]
    if not known(x_shape) or not known(shape):
        return None
    lead = len(x_shape) - len(shape)
    kept = tuple(lead + i for i, d in enumerate(shape) if d == 1 and x_shape[lead + i] != 1)
    if lead and kept:
        return None  # needs a sum and a reshape: two nodes
    axes = tuple(range(lead)) if lead else kept
    return Replace("sum", (inputs[0],), {"axis": axes, "keepdims": not lead})


def _as_reshape(site: _Site, inputs: list):
    """expand_dims / squeeze to a known shape: a reshape (a view, cheaper to compute)."""
    shape = site.node["shape"]
    return Replace("reshape", (inputs[0],), {"shape": shape}) if known(shape) else None


def _count(site: _Site, inputs: list):
    """count(x) of a known shape: a constant."""
    shape, dtype = site.spec_of(inputs[0])
    if not known(shape):
        return None
    like = np.broadcast_to(np.zeros((), dtype), shape)  # the kernel reads only the shape
    value = get_op("count").kernel(like, **site.node["attrs"])
    return Replace(CONSTANT, (), {"value": _read_only(value)})


def _read_only(value) -> np.ndarray:
    value = np.array(value, copy=True)
    value.flags.writeable = False
    return value


def _only_input(site: _Site, inputs: list):
    return inputs[0] if len(inputs) == 1 and site.fits(inputs[0]) else None


def _filled_like(site: _Site, inputs: list):
    shape, _ = site.spec_of(inputs[0])
    if not known(shape):
        return None
    return Replace("filled", (), {"shape": shape, "dtype": site.node["dtype"],
                                  "value": site.node["attrs"]["value"]})


def _greater(site: _Site, inputs: list):
    x, other = inputs
    if not site.is_constant(other, 0):
        return None
    for user in site.new.consumers(x):
        if site.new.nx.nodes[user]["op"] == "relu":
            return Replace("greater", (user, other), {})
    return None


RULES = {
    "multiply": _multiply,
    "add": _add,
    "add_n": _add_n,
    "subtract": _subtract,
    "divide": _divide,
    "negative": _negative,
    "transpose": _transpose,
    "reshape": _reshape,
    "reduce_to": _as_sum,
    "broadcast_like": _as_broadcast_to,
    "reshape_like": _known_no_op,
    "broadcast_to": _known_no_op,
    "expand_dims": _as_reshape,
    "squeeze": _as_reshape,
    "count": _count,
    "identity": _only_input,
    "stop_gradient": _only_input,
    "cast": _only_input,
    "filled_like": _filled_like,
    "greater": _greater,
}
