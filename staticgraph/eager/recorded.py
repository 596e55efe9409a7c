"""The dynamic graph a run recorded, as a static `Graph` to inspect, count and draw (`sg.to_dot`).

It holds exactly what ran: the branch Python took, and each loop iteration unrolled. Every call
of the same Python function records (and so draws) a new graph. A `detach()` shows as a cut.
Nodes are named as PyTorch names the grad_fn (`MulBackward0`; leaves that require grad
`AccumulateGrad` unless the tensor has a name), as torchviz draws them, while each node's op is
the staticgraph op that ran; a node standing for several ops (`CopySlices`, `MseLossBackward0`)
is a name scope holding them, drawn as a cluster.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import networkx as nx

from staticgraph.eager.composite import Composite
from staticgraph.eager.saved import SHAPE_ONLY
from staticgraph.eager.tape import AccumulateGrad, Node, graph_nodes, history
from staticgraph.graph import Graph, Tensor as GraphTensor
from staticgraph.ops.create import placeholder

# id(detached tensor) -> weak reference to the tensor it was detached from. Weak, so that a
# detached value never keeps the history it was cut from alive.
_CUTS: dict[int, weakref.ref] = {}


def remember_cut(detached, origin):
    """Note that `detached` is `origin` cut off from its history (by `detach()`); return it.

    Only a tensor gradients would flow through (one that requires grad) is cut by a detach;
    detaching any other (as backward() does with the gradients it stores) cuts nothing.
    """
    if origin.requires_grad:
        key = id(detached)
        _CUTS[key] = weakref.ref(origin)
        weakref.finalize(detached, _CUTS.pop, key, None)
    return detached


def recorded_graph(t) -> Graph:
    """The graph of recorded ops that produced eager tensor `t`, as a new `sg.Graph`.

    Nodes carry the same attributes as static ones: `op`, `attrs`, `shape`, `dtype`, `role`
    ("forward", or "gradient" for ops recorded by `backward(create_graph=True)`) and `source`
    (where the op ran), and are named by PyTorch's grad_fn names. Leaves that require grad
    become "placeholder" nodes (named by the tensor's `name`, else "AccumulateGrad"); other leaves (numbers, values computed without
    recording) become "constant" nodes holding their value. A `detach()`ed tensor is drawn as
    the cut it is: while the tensor it was detached from is alive, a "stop_gradient" node
    (named "detach") on that tensor's own recorded graph; after, a constant named "detach"
    with the node attribute `detached=True`. `sg.to_dot` draws the edges out of either red.

    Example:
        >>> from staticgraph import eager
        >>> x = eager.arange(4.0, requires_grad=True, name="x")
        >>> g = eager.recorded_graph(2 * eager.dot(x, x))
        >>> sorted(op for _, op in g.nx.nodes(data="op"))
        ['constant', 'dot', 'multiply', 'placeholder']
        >>> sorted(g.nx)
        ['Const', 'DotBackward0', 'MulBackward0', 'x']
    """
    graph = Graph()
    handles: dict[int, GraphTensor] = {}
    for node in history(_roots(t)):
        _add(graph, node, handles, "")
    _handle(graph, t, handles)
    return graph


def _add(graph: Graph, node, handles: dict, scope: str) -> None:
    """Node `node` of the tape as a graph node (a composite as a scope holding its ops)."""
    if isinstance(node, Composite):
        inner_scope = graph.unique_name(scope + node.torch_name)
        for real, edge, stand_in in zip(node.inputs, node.edges, node.stand_ins):
            if stand_in is not None:
                handles[id(stand_in._node)] = _input(graph, real, edge, handles)
        stop = {id(s._node) for s in node.stand_ins if s is not None}
        for inner in graph_nodes([node.root], stop):
            if id(inner) not in stop:
                _add(graph, inner, handles, inner_scope + "/")
        handles[id(node)] = handles[id(node.root)]
        return
    inputs = [_input(graph, x, edge, handles) for x, edge in zip(node.inputs, node.edges)]
    handles[id(node)] = graph.add_node(
        node.op.name, inputs, node.attrs, node.output.shape, node.output.dtype, node.source,
        name=scope + node.torch_name, role=node.role)


def _origin(t):
    """The live tensor `t` was detached from, or None."""
    ref = _CUTS.get(id(t)) if t._node is None else None
    return None if ref is None else ref()


def _roots(t) -> list:
    """`t`, then the live tensors detached values in its history came from (and theirs). The
    history walk takes the last root first, so each origin's nodes exist before its cut."""
    roots = [t]
    for root in roots:
        leaves = [root] + [x for node in history([root]) for x in node.inputs]
        for origin in map(_origin, leaves):
            if origin is not None and not any(origin is r for r in roots):
                roots.append(origin)
    return roots


def _handle(graph: Graph, t, handles: dict) -> GraphTensor:
    """The graph node of tensor t: its grad_fn's, or a leaf's."""
    return handles[id(t._node)] if t._node is not None else _leaf(graph, t, handles)


def _input(graph: Graph, t, edge, handles: dict) -> GraphTensor:
    """The graph node of input t of a recorded node, whose grad_fn when used was `edge` (a
    tensor updated in place, or a view of one, has another grad_fn now)."""
    return handles[id(edge)] if isinstance(edge, Node) else _leaf(graph, t, handles)


def _leaf(graph: Graph, t, handles: dict) -> GraphTensor:
    """The input node standing for leaf `t` (one node per tensor, however often it is used)."""
    if id(t) not in handles:
        origin = _origin(t)
        if origin is not None:
            cut = _handle(graph, origin, handles)
            handles[id(t)] = graph.add_node("stop_gradient", [cut], {}, t.shape, t.dtype,
                                            t._source, name=t.name or "detach")
            return handles[id(t)]
        if t.requires_grad:
            op, attrs, name = "placeholder", {"dtype": t.dtype, "shape": t.shape}, "AccumulateGrad"
        else:
            op, attrs, name = "constant", {"value": t.numpy()}, "Const"
        if id(t) in _CUTS:
            name = "detach"
        handles[id(t)] = graph.add_node(op, [], attrs, t.shape, t.dtype, t._source,
                                        name=t.name or name)
        if id(t) in _CUTS:
            graph.nx.nodes[handles[id(t)].name]["detached"] = True
    return handles[id(t)]


# ----- the backward graph, as torchviz draws it ------------------------------------------------
@dataclass
class BackwardNode:
    """One node of a tensor's backward graph: a grad_fn (PyTorch's name) or an AccumulateGrad.

    Attributes:
        key: an id unique within the drawing; name: "MulBackward0", "AccumulateGrad", ...;
        next: the keys of its next_functions; saved: (label, tensor) for each value its vjp
        reads ("self", "other", "input2"..., "result" for its output); variable: the leaf
        tensor of an AccumulateGrad (else None).
    """
    key: int
    name: str
    next: tuple[int, ...]
    saved: tuple[tuple[str, object], ...] = ()
    variable: object = None


def backward_graph(t) -> list[BackwardNode]:
    """The backward graph of eager tensor `t`: its grad_fn and every node its gradient flows
    through to the AccumulateGrad of each leaf, inputs' nodes first (none for a leaf).

    Example:
        >>> from staticgraph import eager
        >>> x = eager.arange(3.0, requires_grad=True, name="x")
        >>> [(n.name, [label for label, _ in n.saved]) for n in backward_graph((x * x).exp())]
        [('AccumulateGrad', []), ('MulBackward0', ['self', 'other']), ('ExpBackward0', ['result'])]
    """
    nodes = graph_nodes([t._node] if t._node is not None else [])
    return [BackwardNode(id(n), n.torch_name, tuple(id(e) for e, _ in n.next_functions if e is not None),
                         _saved(n), n.variable if isinstance(n, AccumulateGrad) else None)
            for n in nodes]


def _saved(node) -> tuple[tuple[str, object], ...]:
    """The values node's vjp reads, labelled as PyTorch labels saved tensors."""
    if not isinstance(node, Node) or isinstance(node, Composite):
        return ()
    values = node.inputs + [node.output]
    labels = ["self", "other"][:len(node.inputs)] + [f"input{i}" for i in range(2, len(node.inputs))]
    return tuple((labels[i] if i < len(node.inputs) else "result", values[i])
                 for i in _read_by_vjp(node) if values[i] is not None)


def _read_by_vjp(node: Node) -> list[int]:
    """Positions (inputs, then the output) whose values the op's vjp reads, found by building
    the vjp on placeholders in a scratch graph; a use only for its shape is not a read."""
    scratch = Graph()
    with scratch.as_default():
        stand_ins = [placeholder(v.dtype, v.shape) for v in node.inputs + [node.output]]
        ct = placeholder(node.output.dtype, node.output.shape)
        cts = node.op.vjp(ct, *stand_ins[:-1], out=stand_ins[-1], **node.attrs)
    results = [c.name for c in cts if isinstance(c, GraphTensor)]
    needed = set(results).union(*(nx.ancestors(scratch.nx, r) for r in results))
    read = set()
    for name in needed:
        inputs = scratch.inputs(name)
        skip = SHAPE_ONLY.get(scratch.node(name)["op"], ())
        read |= {x for i, x in enumerate(inputs) if not (i > 0 if skip is None else i in skip)}
    return [i for i, s in enumerate(stand_ins) if s.name in read]
