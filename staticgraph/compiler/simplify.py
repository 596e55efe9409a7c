"""simplify: algebraic identities that remove or shrink nodes, as a table of rules keyed by op.

Before: any graph. After: a graph computing the same values where
  x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1 -> x       (only where x already has the result's shape)
  x * 0, 0 * x -> zeros of the result's shape            (assumes x finite, as graph compilers do)
  x + x -> x * 2;  add_n(x, ..., x) -> x * n;  add_n(x) -> x;  add_n(x, y) -> x + y
  (x * c) * d -> x * (c d) for scalar constants when c or d is a power of two (exact)
  -(-x) -> x;  transpose(transpose(x)) -> one transpose, or x;  reshape(reshape(x)) -> one reshape
  reshape / broadcast / reduce_to of x to its own known shape -> x
  identity(x), stop_gradient(x) -> x
  with known shapes: broadcast_like -> broadcast_to, reduce_to -> sum, expand_dims and squeeze
  -> reshape, count -> a constant (the same values with no shape work at run time)
  cast(x) to x's dtype -> x;  zeros_like / ones_like(x) of a known shape -> a fill with no input
  x > 0 -> relu(x) > 0 where relu(x) is computed anyway (so x can die at the relu, in place).
Nodes with control inputs are left alone. Every rule keeps the node's shape and dtype, and every
rule but x * 0 gives bit-for-bit the same values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staticgraph.compiler.rewrite import CONSTANT, Replace, add_constant, constant_value, rebuild
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
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
        return rule(_Site(new, graph, name, node), inputs)

    return rebuild(graph, visit)


@dataclass(frozen=True)
class _Site:
    """Where a rule applies: the graph being built, the input graph, and the node at hand."""
    new: Graph
    old: Graph
    name: str
    node: dict

    def spec_of(self, name: str) -> tuple:
        other = self.new.nx.nodes[name]
        return other["shape"], other["dtype"]

    def fits(self, name: str) -> bool:
        """True when value `name` has exactly the shape and dtype this node produces."""
        return self.spec_of(name) == (self.node["shape"], self.node["dtype"])

    def is_constant(self, name: str, scalar) -> bool:
        value = constant_value(self.new, name)
        return value is not None and value.size > 0 and bool(np.all(value == scalar))

    def producer(self, name: str, op: str) -> list | None:
        """The inputs of node `name` when its op is `op`, else None."""
        return self.new.inputs(name) if self.new.nx.nodes[name]["op"] == op else None

    def constant(self, value) -> str:
        """A new scalar constant of this node's dtype; its name."""
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
    for x, other in (inputs, inputs[::-1]):
        if site.is_constant(other, 0):
            return site.zeros(x)
    return _merge_scales(site, inputs)


def _scalar(site: _Site, name: str) -> np.ndarray | None:
    value = constant_value(site.new, name)
    return value if value is not None and value.ndim == 0 and value.dtype.kind == "f" else None


def _merge_scales(site: _Site, inputs: list):
    """(x * c) * d -> x * (c d): exact when c or d is a power of two (and nothing overflows)."""
    for inner, d in (inputs, inputs[::-1]):
        outer = _scalar(site, d)
        product = site.producer(inner, "multiply")
        if outer is None or product is None:
            continue
        for x, c in (product, product[::-1]):
            scale = _scalar(site, c)
            if scale is not None and (_power_of_two(scale) or _power_of_two(outer)) \
                    and site.fits(x) and np.isfinite(scale * outer):
                return Replace("multiply", (x, site.constant(scale * outer)), {})
    return None


def _power_of_two(value: np.ndarray) -> bool:
    mantissa, _ = np.frexp(value)
    return bool(abs(mantissa) == 0.5)


def _add(site: _Site, inputs: list):
    for x, other in (inputs, inputs[::-1]):
        if site.is_constant(other, 0) and site.fits(x):
            return x
    return _add_n(site, inputs)


def _add_n(site: _Site, inputs: list):
    if len(set(inputs)) == 1 and site.fits(inputs[0]):
        if len(inputs) == 1:
            return inputs[0]
        if site.node["dtype"].kind in "iuf":  # x + ... + x = n x exactly (n small)
            return Replace("multiply", (inputs[0], site.constant(len(inputs))), {})
    if len(inputs) == 2 and site.node["op"] == "add_n":
        return Replace("add", tuple(inputs), {})
    return None


def _drop_right(identity_element):
    """x op c -> x when c is the op's right identity (x - 0, x / 1)."""
    def rule(site: _Site, inputs: list):
        x, other = inputs
        return x if site.is_constant(other, identity_element) and site.fits(x) else None
    return rule


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
    "subtract": _drop_right(0),
    "divide": _drop_right(1),
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
