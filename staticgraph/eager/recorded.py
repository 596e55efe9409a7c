"""The dynamic graph a run recorded, as a static `Graph` to inspect, count and draw (`sg.to_dot`).

It holds exactly what ran: the branch Python took, and each loop iteration unrolled. Every call
of the same Python function records (and so draws) a new graph.
"""
from __future__ import annotations

from staticgraph.eager.tape import history
from staticgraph.graph import Graph, Tensor as GraphTensor


def recorded_graph(t) -> Graph:
    """The graph of recorded ops that produced eager tensor `t`, as a new `sg.Graph`.

    Nodes carry the same attributes as static ones: `op`, `attrs`, `shape`, `dtype`, `role`
    ("forward", or "gradient" for ops recorded by `backward(create_graph=True)`) and `source`
    (where the op ran). Leaves that require grad become "placeholder" nodes (named by the
    tensor's `name`, else "Placeholder"); other leaves (numbers, detached tensors, values
    computed without recording) become "constant" nodes holding their value.

    Example:
        >>> from staticgraph import eager
        >>> x = eager.arange(4.0, requires_grad=True, name="x")
        >>> g = eager.recorded_graph(2 * eager.dot(x, x))
        >>> sorted(op for _, op in g.nx.nodes(data="op"))
        ['constant', 'dot', 'multiply', 'placeholder']
    """
    graph = Graph()
    handles: dict[int, GraphTensor] = {}
    for node in history([t]):
        inputs = [_leaf(graph, x, handles) if x._node is None else handles[id(x)]
                  for x in node.inputs]
        handles[id(node.output)] = graph.add_node(
            node.op.name, inputs, node.attrs, node.output.shape, node.output.dtype, node.source,
            role=node.role)
    if t._node is None:
        _leaf(graph, t, handles)
    return graph


def _leaf(graph: Graph, t, handles: dict) -> GraphTensor:
    """The input node standing for leaf `t` (one node per tensor, however often it is used)."""
    if id(t) not in handles:
        if t.requires_grad:
            op, attrs, name = "placeholder", {"dtype": t.dtype, "shape": t.shape}, "Placeholder"
        else:
            op, attrs, name = "constant", {"value": t.numpy()}, "Const"
        handles[id(t)] = graph.add_node(op, [], attrs, t.shape, t.dtype, t._source,
                                        name=t.name or name)
    return handles[id(t)]
