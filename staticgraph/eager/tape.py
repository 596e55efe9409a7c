"""The tape: one `Node` (PyTorch's grad_fn) per recorded op application, `AccumulateGrad` for
leaves, and the walk over the nodes a tensor's value came from.

A node keeps what the op's vjp needs (the op, its input tensors, attrs and output) and, fixed
when it was recorded, the nodes its inputs came from (`next_functions`), so an in-place update
that gives a tensor a new grad_fn later does not rewire the gradients of earlier uses.
"""
from __future__ import annotations

import weakref

from staticgraph.eager import names, saved
from staticgraph.ops.registry import OpDef


class Node:
    """One recorded op application, the eager twin of a static graph node (PyTorch's grad_fn).

    Attributes:
        op: the `OpDef` that ran; inputs: its input tensors (the values its vjp may read);
        attrs: the op's attributes; output: the tensor it produced (held weakly, so that tensor
        and node make no reference cycle); source: the user's `file:line`; role: "forward", or
        "gradient" for nodes recorded by `backward(create_graph=True)`; versions: the in-place
        version of each input and of the output when recorded, checked when the vjp reads them;
        freed: set by a backward pass without `retain_graph`.
    """

    __slots__ = ("op", "inputs", "attrs", "_output", "source", "role", "versions", "freed",
                 "edges", "torch_name", "pre_hooks", "retained", "shown", "__weakref__")

    def __init__(self, op: OpDef, inputs: list, attrs: dict, output, source: str,
                 role: str) -> None:
        self.op, self.inputs, self.attrs = op, inputs, attrs
        self._output = weakref.ref(output)
        self.source, self.role = source, role
        self.versions = tuple(t._version for t in inputs) + (output._version,)
        self.freed = False
        self.edges = tuple(edge_of(t) for t in inputs)
        self.torch_name = names.backward_name(op.name, inputs, attrs)
        self.pre_hooks: list = []
        self.retained = None  # weak reference to a tensor that asked to retain_grad()
        self.shown = None  # positions of the inputs in next_functions (None: every input)

    @property
    def output(self):
        return self._output()

    def rebind(self, output) -> None:
        """Make `output` (a tensor updated in place to this node's result) the node's output."""
        self._output = weakref.ref(output)
        self.versions = self.versions[:-1] + (output._version,)

    def saved(self) -> list:
        """(tensor, version when recorded) for each input and the output, as the vjp sees them."""
        return list(zip(self.inputs + [self.output], self.versions))

    def name(self) -> str:
        """PyTorch's name of this backward function, e.g. "MulBackward0"."""
        return self.torch_name

    def vjp(self, ct, retain_graph: bool) -> list:
        """The cotangent of each input given the output's, `ct` (the op's own vjp)."""
        with saved.reading(self):
            return self.op.vjp(ct, *self.inputs, out=self.output, **self.attrs)

    @property
    def next_functions(self) -> tuple:
        """((node, 0), ...) per input: its grad_fn, its AccumulateGrad, or None, as PyTorch
        (without the Python numbers that PyTorch passes as Scalars, e.g. pow's exponent)."""
        edges = self.edges if self.shown is None else [self.edges[i] for i in self.shown]
        return tuple((edge, 0) for edge in edges)

    def register_hook(self, hook):
        """Call `hook(grad_output)` on the gradient of the output before the vjp runs."""
        self.pre_hooks.append(hook)
        return Handle(self.pre_hooks, hook)

    def __call__(self, *grads):
        raise TypeError(f"{self.torch_name} cannot be called directly; call backward() on its output")

    def __repr__(self) -> str:
        return f"<{self.torch_name} object at {hex(id(self))}>"

    def __str__(self) -> str:
        return repr(self)


class AccumulateGrad:
    """Where a leaf's gradient ends up: the last node of every chain (PyTorch's AccumulateGrad).

    Attributes:
        variable: the leaf tensor whose `.grad` this node fills.
    """

    __slots__ = ("variable", "pre_hooks", "__weakref__")
    next_functions = ()
    torch_name = "AccumulateGrad"

    def __init__(self, variable) -> None:
        self.variable = variable
        self.pre_hooks: list = []

    def name(self) -> str:
        return "AccumulateGrad"

    def register_hook(self, hook):
        self.pre_hooks.append(hook)
        return Handle(self.pre_hooks, hook)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class Handle:
    """What `register_hook` returns: `.remove()` takes the hook off again."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def accumulator(t) -> AccumulateGrad:
    """The AccumulateGrad node of leaf `t` (one per leaf while some graph uses it)."""
    found = t._accumulator() if t._accumulator is not None else None
    if found is None:
        found = AccumulateGrad(t)
        t._accumulator = weakref.ref(found)
    return found


def edge_of(t):
    """The node gradients of `t` flow into: its grad_fn, its AccumulateGrad, or None."""
    if t._node is not None:
        return t._node
    return accumulator(t) if t._requires_grad else None


def graph_nodes(roots: list, stop: set[int] = frozenset()) -> list:
    """Every node reachable from `roots` through next_functions, producers before consumers,
    not going past the nodes whose ids are in `stop` (which are listed).

    Iterative depth-first search, so long unrolled loops do not hit Python's recursion limit.
    """
    order: list = []
    seen: set[int] = set()
    stack = [(r, False) for r in roots if r is not None]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if id(node) not in stop:
            stack.extend((e, False) for e in _edges(node) if e is not None and id(e) not in seen)
    return order


def _edges(node) -> tuple:
    return node.edges if isinstance(node, Node) else ()


def history(roots) -> list[Node]:
    """Every recorded node the `roots` tensors depend on, inputs' nodes before their consumers'."""
    return [n for n in graph_nodes([t._node for t in roots]) if isinstance(n, Node)]
