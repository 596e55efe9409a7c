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

Checkpoints may also be nested (recursive checkpointing): a checkpoint of level k >= 1 is
computed again in the k-th recomputation, from the checkpoints of lower levels, and held until
the backward reads it; the values between are recomputed from it in a deeper one. With segments
split in two at each of log2(n) levels (`nested_checkpoints`), about log2(n) values are live
at once, for about log2(n) computations of each.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

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


def rematerialize(graph: Graph, keep: Iterable[str] | Mapping[str, int]) -> Graph:
    """A new graph whose backward reads recomputed copies of the stored values not in `keep`.

    Args:
        graph: a compiled graph (see `prune`) holding a backward pass.
        keep: the stored values the backward still reads directly (the checkpoints); or a
            mapping of values to checkpoint levels (see `nested_checkpoints`): 0 for values
            the backward reads directly, k >= 1 for values it reads from their k-th
            recomputation, the others from the deepest one (one level below the last).
    Returns:
        The graph with "recompute" nodes named `recompute/<original>` (the first
        recomputation) and `recompute<k>/<original>` (the k-th); without a backward, or
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
    levels = dict(keep) if isinstance(keep, Mapping) else dict.fromkeys(keep, 0)
    deepest = 1 + max(levels.values(), default=0)
    backward = backward_nodes(graph)
    free = recomputable(graph) - {v for v, level in levels.items() if level == 0}
    roots = {v for v in stored_values(graph) if v in free}
    position = {name: i for i, name in enumerate(ordered_nodes(graph))}
    copies: dict[tuple, str] = {}  # (original, recomputation) -> its copy

    def source(name: str, m: int) -> tuple | None:
        """What the m-th recomputation reads for value `name`: (name, k) for its k-th
        recomputation, or None for the value itself."""
        if name not in free:
            return None
        level = levels.get(name, deepest)
        return (name, m) if level >= m else (name, level) if level >= 1 else None

    def read_copies(new: Graph, name: str, node: dict, inputs: list):
        if name not in backward or roots.isdisjoint(inputs):
            return None
        wanted = [(i, levels.get(i, deepest)) for i in inputs if i in roots]
        for original, m in sorted(_closure(graph, wanted, source, copies),
                                  key=lambda key: (position[key[0]], key[1])):
            copies[original, m] = _add_copy(new, graph, original, m, source, copies)
        return Replace(node["op"], tuple(
            copies[i, levels.get(i, deepest)] if i in roots else i for i in inputs),
            node["attrs"])
    new = rebuild(graph, read_copies)
    new.remove_nodes(set(new.nx) - live_nodes(new))  # originals that only the backward read
    return new


def _add_copy(new: Graph, old: Graph, name: str, m: int, source, copies: dict) -> str:
    """Add to `new` a recompute node computing what `name` computes in the m-th
    recomputation, reading what `source(input, m)` says (copies already made)."""
    def read(i: str) -> str:
        key = source(i, m)
        return i if key is None else copies[key]
    node, count = old.nx.nodes[name], 0
    copy = base = f"{RECOMPUTE}/{name}" if m == 1 else f"{RECOMPUTE}{m}/{name}"
    while copy in new.nx or copy in old.nx:
        count += 1
        copy = f"{base}_{count}"
    new.add_node(node["op"], [new.tensor(read(i)) for i in old.inputs(name)],
                 node["attrs"], node["shape"], node["dtype"], node["source"],
                 name=copy, role=RECOMPUTE, exact_name=True)
    for dep in old.control_inputs(name):
        new.add_control_input(copy, read(dep))
    return copy


def _closure(graph: Graph, wanted: list[tuple], source, made: dict) -> set[tuple]:
    """The (value, recomputation) pairs not yet `made` that computing `wanted` needs."""
    need, stack = set(), [key for key in wanted if key not in made]
    while stack:
        key = stack.pop()
        if key not in need:
            need.add(key)
            for i in graph.inputs(key[0]):
                more = source(i, key[1])
                if more is not None and more not in made and more not in need:
                    stack.append(more)
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


def nested_checkpoints(values: list[tuple[str, int]], depth: int,
                       branching: int = 2) -> dict[str, int]:
    """Checkpoint levels for recursive checkpointing (see the module doc): the stored values
    are cut into `branching` segments of about equal bytes, whose boundaries are checkpoints
    of level 0; each segment is cut again with level-1 boundaries, and so on, `depth` times.

    Args:
        values: (name, bytes) of the stored values, in forward order (see `stash`).
        depth: how many levels of checkpoints (1: `segment_checkpoints`' single level).
        branching: how many segments each segment is cut into.
    Returns:
        name -> level, for the checkpoints; the other values are recomputed at level `depth`.
    Example:
        >>> from staticgraph.compiler.remat import nested_checkpoints
        >>> nested_checkpoints([(f"h{i}", 1) for i in range(8)], depth=2)
        {'h3': 0, 'h1': 1, 'h5': 1}
    """
    levels: dict[str, int] = {}

    def cut(segment: list, level: int) -> None:
        if level >= depth or len(segment) < 2:
            return
        total = sum(size for _, size in segment)
        bounds = segment_checkpoints(segment[:-1], total / branching)
        start = 0
        for i, (name, _) in enumerate(segment):
            if name in bounds:
                levels[name] = level
                cut(segment[start:i], level + 1)
                start = i + 1
        cut(segment[start:], level + 1)
    cut(values, 0)
    return levels
