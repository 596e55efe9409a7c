"""The reverse-mode engine over the tape: runs the recorded nodes' vjps from roots to targets.

Cotangents flow along the edges fixed when each node was recorded (`next_functions`), node by
node in reverse topological order, calling each op's own `vjp` with the recorded eager tensors,
exactly as the static gradient pass calls it with graph tensors. Without `create_graph` the vjps
run under no_grad; with it they are recorded too (role "gradient"), so the gradients have a
history and can be differentiated again. Only nodes on a path to a target run.
"""
from __future__ import annotations

from staticgraph.eager.mode import recording
from staticgraph.eager.tape import AccumulateGrad, Node, graph_nodes
from staticgraph.errors import FailedPreconditionError


def run_backward(roots: list, seeds: list, targets: list | None, create_graph: bool,
                 retain_graph: bool) -> dict:
    """Propagate `seeds` (one cotangent per root node) back through the graph.

    Args:
        roots: the nodes (grad_fn or AccumulateGrad) of the differentiated tensors.
        seeds: their cotangents.
        targets: the nodes whose incoming cotangent is wanted; None for every AccumulateGrad
            reached (a plain `backward()`).
    Returns:
        id(node) -> (node, total cotangent) for each target reached (or AccumulateGrad node),
        plus each node whose output asked to `retain_grad()`, under the key ("retain", id).
    """
    order = graph_nodes(roots)
    wanted = None if targets is None else {id(t) for t in targets}
    needed = _needed(order, wanted)
    pending: dict[int, object] = {}
    found: dict = {}
    ran: list[Node] = []
    with recording(create_graph, "gradient"):
        for node, seed in zip(roots, seeds):
            _add(pending, node, seed)
        for node in reversed(order):
            ct = pending.pop(id(node), None)
            if ct is None or id(node) not in needed:
                continue
            for hook in list(node.pre_hooks):
                replaced = hook(ct)
                ct = ct if replaced is None else replaced
            if isinstance(node, AccumulateGrad) or (wanted is not None and id(node) in wanted):
                found[id(node)] = (node, ct)
            if isinstance(node, AccumulateGrad):
                continue
            _retain(node, ct, found)
            if not any(id(e) in needed for e in node.edges if e is not None):
                continue
            ran.append(node)
            cts = node.vjp(ct, retain_graph)
            for edge, grad in zip(node.edges, cts):
                if edge is not None and grad is not None and id(edge) in needed:
                    if grad._stale is not None:
                        raise FailedPreconditionError(grad._stale)
                    _add(pending, edge, grad)
    if not retain_graph:
        for node in ran:
            node.freed = True
    return found


def _needed(order: list, wanted: set | None) -> set[int]:
    """The nodes from which a wanted node (any AccumulateGrad when None) can be reached."""
    needed: set[int] = set()
    for node in order:  # producers come first
        if (isinstance(node, AccumulateGrad) if wanted is None else id(node) in wanted) or any(
                id(e) in needed for e in getattr(node, "edges", ()) if e is not None):
            needed.add(id(node))
        elif isinstance(node, Node) and node.retained is not None:
            needed.add(id(node))
    return needed


def _add(pending: dict, node, ct) -> None:
    """Sum the cotangents reaching `node` from its several consumers."""
    previous = pending.get(id(node))
    pending[id(node)] = ct if previous is None else previous + ct


def _retain(node: Node, ct, found: dict) -> None:
    if node.retained is not None:
        t = node.retained()
        if t is not None and t._node is node:
            found[("retain", id(t))] = (t, ct)
