"""What `to_dot(collapse=...)` folds: which drawn node goes into which box, and the edges that
cross between boxes merged into one edge per pair, labelled with the shapes crossing it.

A folded name scope is one box, its id the scope name followed by "/" (no node name ends so);
a scope with a single node drawn stays that node. A
cond or while_loop keeps its own node as its box: the `tuple_get` nodes unpacking its results
fold into it, and its sub-graphs are counted in its label instead of drawn.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph
from staticgraph.ops.registry import REGISTRY

MAX_SHAPES = 4  # a merged edge lists at most this many distinct shapes, then "…"


def scopes_to_fold(collapse) -> bool | tuple[str, ...]:
    """`collapse` checked: False (fold nothing), True (every top-level scope), or scope names."""
    if isinstance(collapse, bool) or collapse is None:
        return bool(collapse)
    scopes = (collapse,) if isinstance(collapse, str) else collapse
    if not isinstance(scopes, Iterable) or not all(isinstance(s, str) and s.strip("/") for s in scopes):
        raise InvalidArgumentError(f"to_dot: collapse must be True, False or a list of name scopes "
                                   f"(e.g. ['layer1', 'gradients']), got {collapse!r}")
    return tuple(s.strip("/") for s in scopes)


def fold_boxes(graph: Graph, names: list[str], scopes: bool | tuple[str, ...]) -> dict[str, str]:
    """Drawn node name -> the id it is drawn as: its folded scope's box ("scope/"), else (for a
    tuple_get unpacking a cond or loop) its owner's box, else itself. Empty when nothing folds."""
    if scopes is False:
        return {}
    boxes = {}
    for name in names:
        box, owner = _box(name, scopes), _unpacked_from(graph, name)
        boxes[name] = _box(owner, scopes) if box == name and owner is not None else box
    sizes = Counter(boxes.values())
    # A scope with one node drawn is clearer as that node than as a box saying "1 node".
    return {name: name if box.endswith("/") and sizes[box] == 1 else box
            for name, box in boxes.items()}


def _box(name: str, scopes: bool | tuple[str, ...]) -> str:
    if scopes is True:
        return name.partition("/")[0] + "/" if "/" in name else name
    # The longest listed scope holding the node, so ["model", "model/layer1"] both work.
    holding = [s for s in scopes if name.startswith(s + "/")]
    return max(holding, key=len) + "/" if holding else name


def _unpacked_from(graph: Graph, name: str) -> str | None:
    """The cond / while_loop node whose results `name` unpacks, if it is such a tuple_get."""
    if graph.node(name)["op"] != "tuple_get":
        return None
    (packed,) = graph.inputs(name)
    return packed if holds_subgraphs(graph.node(packed)) else None


def holds_subgraphs(node: Mapping) -> bool:
    """Whether a node (its attribute dict) is a cond or loop, running sub-graphs it holds."""
    known = REGISTRY.get(node["op"])
    return known is not None and "subgraphs" in known.traits


def members(boxes: Mapping[str, str]) -> dict[str, list[str]]:
    """Scope box id -> the node names folded into it (in drawing order)."""
    found: dict[str, list[str]] = {}
    for name, box in boxes.items():
        if box.endswith("/"):
            found.setdefault(box, []).append(name)
    return found


def merged_label(shapes: list[str]) -> str:
    """The label of a merged edge: each distinct shape crossing it, with how many tensors have it.

    Example:
        >>> merged_label(["(4, 3)", "(3,)", "(4, 3)"])
        '2× (4, 3), (3,)'
    """
    counted = Counter(shapes)
    parts = [shape if n == 1 else f"{n}× {shape}" for shape, n in counted.items()]
    return ", ".join(parts[:MAX_SHAPES] + (["…"] if len(parts) > MAX_SHAPES else []))
