"""The tape: one `Node` per recorded op application, and the walk over a tensor's history.

A node keeps what the op's vjp needs (the op, its input tensors, attrs and output) plus where it
was recorded. Nodes are linked through their input tensors, so the history of a tensor is the
graph of nodes reachable from the node that produced it: the dynamic graph of one run.
"""
from __future__ import annotations

import weakref

from staticgraph.ops.registry import OpDef


class Node:
    """One recorded op application, the eager twin of a static graph node (PyTorch's grad_fn).

    Attributes:
        op: the `OpDef` that ran.
        inputs: the input tensors (Python numbers already made constant tensors).
        attrs: the op's attributes.
        output: the tensor it produced. Held weakly, so tensor and node make no reference
            cycle: a node is reached only from its output or from a consumer's inputs, and
            either keeps the output alive.
        source: the user's `file:line` that applied the op.
        role: "forward", or "gradient" for nodes recorded by `backward(create_graph=True)`.
        versions: the in-place version of each input and of the output when recorded; a
            backward pass refuses to run the vjp on values changed since.
        freed: set by a backward pass without `retain_graph`; a second pass is refused.
    """

    __slots__ = ("op", "inputs", "attrs", "_output", "source", "role", "versions", "freed")

    def __init__(self, op: OpDef, inputs: list, attrs: dict, output, source: str,
                 role: str) -> None:
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self._output = weakref.ref(output)
        self.source = source
        self.role = role
        self.versions = tuple(t._version for t in inputs) + (output._version,)
        self.freed = False

    @property
    def output(self):
        return self._output()

    @property
    def name(self) -> str:
        """PyTorch-style name of the backward function, e.g. "MultiplyBackward"."""
        return "".join(part.capitalize() for part in self.op.name.split("_")) + "Backward"

    @property
    def next_functions(self) -> tuple:
        """The nodes that produced this node's inputs (None for leaves), as in PyTorch."""
        return tuple(t.grad_fn for t in self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name}>"


def history(roots) -> list[Node]:
    """Every node the `roots` tensors depend on, inputs' nodes before their consumers' nodes.

    Iterative depth-first search, so long unrolled loops do not hit Python's recursion limit.
    """
    order: list[Node] = []
    seen: set[int] = set()
    stack = [(t._node, False) for t in roots if t._node is not None]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((t._node, False) for t in node.inputs
                     if t._node is not None and id(t._node) not in seen)
    return order
