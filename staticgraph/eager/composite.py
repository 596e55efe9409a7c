"""One grad_fn for a composition of ops, as PyTorch has one for `mse_loss` or `CopySlices`.

`composite(name, fn, *args)` runs `fn` on stand-ins for the tensor arguments that require grad
and records its result as a single `Composite` node named `name`, whose `next_functions` are the
real arguments'. Its backward replays the inner nodes' vjps (the ops' own, so nothing is defined
twice) from the result back to the stand-ins. A stand-in shares its tensor's storage and version
counter, and its node leads to the tensor's node, so in-place checks, freed graphs and
`create_graph` (higher-order gradients reach the real arguments) behave as for plain nodes.
"""
from __future__ import annotations

import weakref

from staticgraph.eager.backward import run_backward
from staticgraph.eager.mode import is_grad_enabled, recording_role
from staticgraph.eager.tape import Node, edge_of
from staticgraph.eager.tensor import Tensor
from staticgraph.ops import create as C
from staticgraph.sourceinfo import user_source


class Composite(Node):
    """A node standing for a whole recorded computation (`root` is its last inner node).

    Attributes:
        root: the inner node that produced the result; stand_ins: per input, the tensor the inner
            computation used in its place (None where the input needs no gradient, or repeats).
    """

    __slots__ = ("root", "stand_ins")

    def __init__(self, name: str, inputs: list, stand_ins: list, output, source: str,
                 role: str) -> None:
        self.op, self.inputs, self.attrs = None, inputs, {}
        self._output = weakref.ref(output)
        self.source, self.role = source, role
        self.versions, self.freed = (), False
        self.edges = tuple(edge_of(t) for t in inputs)
        self.torch_name = name
        self.pre_hooks: list = []
        self.retained = self.shown = None
        self.root, self.stand_ins = output._node, stand_ins

    def rebind(self, output) -> None:
        self._output = weakref.ref(output)
        self.root.rebind(output)

    def saved(self) -> list:
        return []  # the inner nodes check what they read

    def vjp(self, ct, retain_graph: bool) -> list:
        """The inner nodes' vjps from the result back to each stand-in."""
        targets = [s._node for s in self.stand_ins if s is not None]
        found = run_backward([self.root], [ct], targets, is_grad_enabled(), retain_graph)
        return [None if s is None else found.get(id(s._node), (None, None))[1]
                for s in self.stand_ins]


def composite(name: str, fn, *args):
    """`fn(*args)`, recorded as one node named `name` when gradients flow through it."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not (is_grad_enabled() and any(t._requires_grad for t in tensors)):
        return fn(*args)
    source, role = user_source(), recording_role()
    stand_in = {id(t): _stand_in(t, source, role) for t in tensors if t._requires_grad}
    out = fn(*[stand_in.get(id(a), a) if isinstance(a, Tensor) else a for a in args])
    if out._node is None:
        return out
    if out._base is not None:  # a view of an inner tensor: the result owns its storage
        out._value, out._base, out._counter = out._value.copy(), None, [0]
    seen: set[int] = set()
    stand_ins = []
    for t in tensors:  # a tensor passed twice gets its gradient once
        stand_ins.append(None if id(t) in seen else stand_in.get(id(t)))
        seen.add(id(t))
    out._node = Composite(name, tensors, stand_ins, out, source, role)
    return out


def _stand_in(t: Tensor, source: str, role: str) -> Tensor:
    """A tensor with t's storage and version counter whose node leads to t's."""
    s = Tensor.wrap(t._value, source)
    s._counter = t._counter
    s._node = Node(C.identity_, [t], {}, s, source, role)
    s._requires_grad = True
    return s
