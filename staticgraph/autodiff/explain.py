"""Why is this gradient None? `explain_gradient` walks the graph's paths from x to y and says."""
from __future__ import annotations

from typing import NamedTuple

from staticgraph import dtypes
from staticgraph.autodiff.paths import data_reachable
from staticgraph.graph import Graph, Tensor
from staticgraph.ops.registry import get_op


class GradientExplanation(NamedTuple):
    """The answer: `kind` is "connected", "no_path", "stopped", "not_differentiable" or "not_float";
    `culprits` names the nodes that cut every path; `message` says it in a sentence."""
    kind: str
    culprits: tuple
    message: str

    def __str__(self) -> str:
        return self.message


def _describe(graph: Graph, names) -> str:
    return ", ".join(f"{n!r} ({graph.node(n)['op']}, created at {graph.node(n)['source']})"
                     for n in sorted(names))


def explain_gradient(y: Tensor, x: Tensor, stop_gradients=(), verbose: bool = True) -> GradientExplanation:
    """Say (and print, unless verbose=False) whether d y / d x exists in the graph and, if not,
    which nodes cut every path: none at all, stop_gradients, ops with no derivative, or
    integer/bool values.

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (), name="x")
        >>> y = sg.stop_gradient(x * x) + 1
        >>> sg.explain_gradient(y, x, verbose=False).kind
        'stopped'
    """
    graph = y.graph
    paths = data_reachable(graph, [x.name], True) & data_reachable(graph, [y.name], False)
    if y.name not in paths:
        return _answer(verbose, "no_path", (), f"{y.name!r} does not depend on {x.name!r} at all: "
                       f"no chain of ops leads from {x.name!r} to {y.name!r}")
    if not dtypes.carries_gradient(x.dtype):
        return _answer(verbose, "not_float", (x.name,), f"{x.name!r} is {x.dtype.name}: an "
                       "integer or bool value carries no gradient")
    stop_names = {t.name for t in stop_gradients}
    # Each reason blocks more nodes; the first one that cuts every path is the answer.
    reasons = (
        ("stopped", "passes a stop_gradient",
         lambda op, node, name: "stops_gradient" in op.traits or name in stop_names),
        ("not_differentiable", "passes an op with no derivative",
         lambda op, node, name: not op.differentiable),
        ("not_float", "passes an integer or bool value, which carries no gradient",
         lambda op, node, name: not dtypes.carries_gradient(node["dtype"])),
    )
    blocked: set = set()
    stops: set = set()
    for kind, what, blocks in reasons:
        blocked |= {n for n in paths if blocks(get_op(graph.node(n)["op"]), graph.node(n), n)}
        blocked.discard(x.name)
        if not _flows(graph, x, y, blocked):
            cut = _cutting(graph, x, y, blocked) - stops
            return _answer(verbose, kind, tuple(sorted(cut)), f"every path from {x.name!r} to "
                           f"{y.name!r} {what}: {_describe(graph, cut)}")
        if kind == "stopped":
            stops = set(blocked)  # later culprits are named without the stop_gradients
    return _answer(verbose, "connected", (), f"{y.name!r} depends differentiably on {x.name!r}: "
                   "the gradient exists (it may still be zero at some points)")


def _flows(graph: Graph, x: Tensor, y: Tensor, blocked: set) -> bool:
    """Whether a cotangent at y reaches x: y is x, or y is not blocked itself (a blocked node
    receives its cotangent but passes none on) and a path leads to x around every blocked node."""
    if y.name == x.name:
        return True
    return y.name not in blocked and y.name in data_reachable(graph, [x.name], True, blocked)


def _cutting(graph: Graph, x: Tensor, y: Tensor, blocked: set) -> set:
    """The blocked nodes that lie on some unblocked-from-x path towards y."""
    down = data_reachable(graph, [x.name], True, blocked)
    up = data_reachable(graph, [y.name], False)
    return blocked & down & up


def _answer(verbose: bool, kind: str, culprits: tuple, message: str) -> GradientExplanation:
    result = GradientExplanation(kind, culprits, message)
    if verbose:
        print(message)
    return result
