"""rematerialize: recompute forward values for the backward pass instead of keeping them.

Before: a compiled graph whose backward (the nodes of role "gradient" and every node that
depends on one) reads values of the forward pass, which reverse mode keeps until then. After:
the same graph in which the backward reads each such value that is not kept from a copy: a node
of role "recompute" with the original's op, attrs, shape, dtype and source, whose inputs are
kept values or further copies. The original then dies after its last forward use (an original
only the backward read is gone: it is computed in the backward instead), and the scheduler runs
the copies late, just before the backward first needs them (see `schedule`).
Values of stateful, effect or random ops, fed values, constants and fetched values are never
recomputed. The results do not change: a copy runs the same kernel on the same values.

`segment_checkpoints` chooses the values to keep, gradient checkpointing's way: it walks the
stored values in forward order and keeps one each time those since the last kept one reach a
segment's worth of bytes. `sqrt_checkpoints` takes segments of about sqrt(n) values, so that
about sqrt(n) values are kept and at most about sqrt(n) are recomputed and live at once.
"""
from __future__ import annotations

import math
from typing import Iterable

from staticgraph.compiler.dce import live_nodes
from staticgraph.compiler.rewrite import (CONSTANT, Replace, feeds_of, fetches_of, ordered_nodes,
                                         rebuild)
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import num_elements

RECOMPUTE = "recompute"
NEVER_RECOMPUTED = frozenset({"stateful", "effect", "no_output", "random"})
UNKNOWN_DIM = 16  # what a dim known only when fed counts for when sizing segments


def backward_nodes(graph: Graph) -> set[str]:
    """The nodes of role "gradient" and every node that depends on one (any edge)."""
    found = {n for n, role in graph.nx.nodes(data="role") if role == "gradient"}
    stack = list(found)
    while stack:
        for succ in graph.nx.successors(stack.pop()):
            if succ not in found:
                found.add(succ)
                stack.append(succ)
    return found


def stored_values(graph: Graph) -> list[str]:
    """The forward values the backward reads, in forward order: what reverse mode keeps.

    Fed values and constants are left out: the plan never stores them.

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import PassManager, prune
        >>> from staticgraph.compiler.remat import stored_values
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.sum(sg.sin(sg.exp(x, name="a"), name="b"), name="y")
        ...     (dx,) = sg.gradients(y, [x])
        >>> compiled, _ = PassManager().run(prune(g, [dx.name], ["x"]))
        >>> stored_values(compiled)   # sin's vjp reads its input a; exp's, its output a
        ['a']
    """
    backward = backward_nodes(graph)
    skip = backward | set(feeds_of(graph))
    return [name for name in ordered_nodes(graph)
            if name not in skip and graph.nx.nodes[name]["op"] != CONSTANT
            and any(c in backward for c in graph.consumers(name))]


def recomputable(graph: Graph) -> set[str]:
    """The nodes that may be computed again: pure ops, neither fed, constant nor fetched."""
    pinned = set(feeds_of(graph)) | set(fetches_of(graph))
    return {name for name, op in graph.nx.nodes(data="op")
            if name not in pinned and op != CONSTANT and not get_op(op).traits & NEVER_RECOMPUTED}


def rematerialize(graph: Graph, keep: Iterable[str]) -> Graph:
    """A new graph whose backward reads recomputed copies of the stored values not in `keep`.

    Args:
        graph: a compiled graph (see `prune`) holding a backward pass.
        keep: the stored values the backward still reads directly (the checkpoints).
    Returns:
        The graph with "recompute" nodes named `recompute/<original>`; without a backward, or
        when everything is kept, a plain copy.
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import PassManager, prune
        >>> from staticgraph.compiler.remat import rematerialize
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.sum(sg.sin(sg.exp(x, name="a"), name="b"), name="y")
        ...     (dx,) = sg.gradients(y, [x])
        >>> new = rematerialize(PassManager().run(prune(g, [dx.name], ["x"]))[0], keep=())
        >>> [(n, new.node(n)["op"], new.inputs(n)) for n in new.nx
        ...  if new.node(n)["role"] == "recompute"]
        [('recompute/a', 'exp', ['x'])]
    """
    backward, free = backward_nodes(graph), recomputable(graph) - set(keep)
    roots = {v for v in stored_values(graph) if v in free}
    position = {name: i for i, name in enumerate(ordered_nodes(graph))}
    copies: dict[str, str] = {}

    def read_copies(new: Graph, name: str, node: dict, inputs: list):
        if name not in backward or roots.isdisjoint(inputs):
            return None
        needed = _closure(graph, [i for i in inputs if i in roots and i not in copies],
                          free - set(copies))
        for original in sorted(needed, key=position.__getitem__):
            copies[original] = _add_copy(new, graph, original, copies)
        return Replace(node["op"], tuple(copies.get(i, i) if i in roots else i for i in inputs),
                       node["attrs"])
    new = rebuild(graph, read_copies)
    new.remove_nodes(set(new.nx) - live_nodes(new))  # originals that only the backward read
    return new


def _add_copy(new: Graph, old: Graph, name: str, copies: dict) -> str:
    """Add to `new` a recompute node computing what `name` computes, from copies where made."""
    node, count = old.nx.nodes[name], 0
    copy = base = f"{RECOMPUTE}/{name}"
    while copy in new.nx or copy in old.nx:
        count += 1
        copy = f"{base}_{count}"
    new.add_node(node["op"], [new.tensor(copies.get(i, i)) for i in old.inputs(name)],
                 node["attrs"], node["shape"], node["dtype"], node["source"],
                 name=copy, role=RECOMPUTE, exact_name=True)
    for dep in old.control_inputs(name):
        new.add_control_input(copy, copies.get(dep, dep))
    return copy


def _closure(graph: Graph, roots: list[str], free: set) -> set[str]:
    """`roots` and the inputs in `free` they need recomputed too."""
    need, stack = set(), list(roots)
    while stack:
        name = stack.pop()
        if name not in need:
            need.add(name)
            stack.extend(i for i in graph.inputs(name) if i in free and i not in need)
    return need


def stash(graph: Graph) -> list[tuple[str, int]]:
    """(name, bytes) of each stored value that may be recomputed, in forward order."""
    free = recomputable(graph)
    return [(name, value_bytes(graph, name)) for name in stored_values(graph) if name in free]


def value_bytes(graph: Graph, name: str) -> int:
    """The bytes of a value of node `name`'s shape and dtype (unknown dims count UNKNOWN_DIM)."""
    node = graph.nx.nodes[name]
    shape = tuple(UNKNOWN_DIM if d is None else d for d in node["shape"])
    return num_elements(shape) * node["dtype"].itemsize


def segment_checkpoints(values: list[tuple[str, int]], segment_bytes: float,
                        shrink: bool = False) -> frozenset:
    """The stored values to keep so that each segment between two holds about `segment_bytes`.

    Args:
        values: (name, bytes) of the stored values, in forward order (see `stash`).
        segment_bytes: a value is kept once the stored values since the last kept one (itself
            included) reach this many bytes.
        shrink: count the bytes already kept against each segment too. The backward of a later
            segment runs while every earlier kept value is still live, so its segment is made
            shorter: the segments then take about the same peak each.
    Returns:
        The names of the values to keep.
    Example:
        >>> from staticgraph.compiler.remat import segment_checkpoints
        >>> values = [(f"h{i}", 100) for i in range(10)]
        >>> sorted(segment_checkpoints(values, 300), key=lambda name: int(name[1:]))
        ['h2', 'h5', 'h8']
        >>> sorted(segment_checkpoints(values, 400, shrink=True), key=lambda name: int(name[1:]))
        ['h3', 'h6', 'h8', 'h9']
    """
    kept, since, held = set(), 0, 0
    for name, size in values:
        since += size
        if since + (held if shrink else 0) >= segment_bytes:
            kept.add(name)
            held += size
            since = 0
    return frozenset(kept)


def sqrt_checkpoints(graph: Graph, shrink: bool = False) -> frozenset:
    """Checkpoints every ~sqrt(n) stored values of `graph` (n counted in its largest values).

    Even segments hold sqrt(total bytes x largest value) each. Shrinking segments (see
    `segment_checkpoints`) start at sqrt(2 x total x largest), since they sum to about half
    their count times their first size.

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import PassManager, prune
        >>> from staticgraph.compiler.remat import sqrt_checkpoints
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     h = x = sg.placeholder(sg.float64, (8,), name="x")
        ...     for i in range(16):
        ...         h = sg.sin(h, name=f"h{i}")
        ...     (dx,) = sg.gradients(sg.sum(h), [x])
        >>> compiled, _ = PassManager().run(prune(g, [dx.name], ["x"]))
        >>> by_index = lambda name: int(name[1:])
        >>> sorted(sqrt_checkpoints(compiled), key=by_index)
        ['h3', 'h7', 'h11']
        >>> sorted(sqrt_checkpoints(compiled, shrink=True), key=by_index)
        ['h5', 'h10', 'h14']
    """
    values = stash(graph)
    if not values:
        return frozenset()
    sizes = [size for _, size in values]
    return segment_checkpoints(values, math.sqrt((2 if shrink else 1) * sum(sizes) * max(sizes)),
                               shrink)
