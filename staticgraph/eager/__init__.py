"""The implicit (define-by-run) style: eager tensors that run each op at once and record a tape.

It mirrors the notes' PyTorch code on the very same op definitions as the static style: an op
function asks its inputs' builder to apply it, and for eager tensors that builder runs the
kernel now and, when some input requires grad, records a node; `backward()` calls the same vjps.

    >>> from staticgraph import eager
    >>> x = eager.arange(4.0, requires_grad=True)
    >>> y = 2 * eager.dot(x, x)
    >>> y.backward()
    >>> x.grad == 4 * x
    tensor([True, True, True, True])

Because values exist as the code runs, Python `if` and `while` work on them, and each run
records only what ran: `recorded_graph(t)` (or `sg.to_dot(t)`) shows the branch taken and the
loop unrolled. Semantics follow PyTorch: `.grad` is None until the first backward and then
accumulates (`x.grad.zero_()` clears it); only leaves keep `.grad` unless `retain_grad()`;
`backward()` of a non-scalar needs `gradient=`; a second backward through the same graph needs
`retain_graph=True` on the first; `create_graph=True` gives higher-order gradients;
`detach()` and `no_grad()` stop recording. Python floats make float32 tensors, numpy arrays
keep their dtype. Variables and assign ops are static-only: `eager.optim.SGD` and `Adam` update
parameters in place under no_grad instead. `sg.function` traces eager-style code into a static
graph.
"""
from staticgraph.dtypes import bool_, float32, float64, int32, int64
from staticgraph.eager import optim
from staticgraph.eager.apply import apply_eager
from staticgraph.eager.backward import grad
from staticgraph.eager.factories import (arange, fill, full, manual_seed, ones, randn, tensor,
                                         zeros)
from staticgraph.eager.mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from staticgraph.eager.recorded import recorded_graph
from staticgraph.eager.tape import Node
from staticgraph.eager.tensor import Tensor
from staticgraph.ops.registry import set_eager_apply

# The op functions are the static style's own: they dispatch on their inputs' style.
from staticgraph.ops.array import (broadcast_to, concat, expand_dims, gather, getitem, one_hot,
                                   reshape, squeeze, stack, transpose)
from staticgraph.ops.control import cond
from staticgraph.ops.loops import while_loop
from staticgraph.ops.create import identity, ones_like, stop_gradient, zeros_like
from staticgraph.ops.debug import check_numerics
from staticgraph.ops.linalg import dot, matmul
from staticgraph.ops.math import (abs, add, add_n, cast, cos, divide, equal, exp, greater,
                                  greater_equal, less, less_equal, log, logical_and, logical_not,
                                  logical_or, logical_xor, maximum, minimum, multiply, negative,
                                  not_equal, power, relu, sigmoid, sign, sin, sqrt, square,
                                  subtract, tanh, where)
from staticgraph.ops.nn import (log_softmax, softmax, softmax_cross_entropy_with_logits,
                                sparse_softmax_cross_entropy_with_logits)
from staticgraph.ops.reduce import argmax, argmin, max, mean, min, norm, sum

set_eager_apply(apply_eager)
