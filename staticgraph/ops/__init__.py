"""Every op staticgraph has, each defined once (kernel, shape rule, vjp, jvp) in these modules."""
from staticgraph.graph import Tensor
from staticgraph.ops import array, control, create, debug, linalg, loops, math, nn, reduce, state  # noqa: F401
from staticgraph.ops import conv  # noqa: F401
from staticgraph.ops import fused  # noqa: F401
from staticgraph.ops.overloads import install_operators
from staticgraph.ops.registry import NOT_DIFFERENTIABLE, REGISTRY, OpDef, Spec, defop, get_op

install_operators(Tensor)
