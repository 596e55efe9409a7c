"""The implicit (define-by-run) style: a stand-in for autograd-level PyTorch code.

`from staticgraph import eager as torch` runs PyTorch programs that use tensors, autograd,
`torch.nn` (a small part) and `torch.optim.SGD / Adam`: the same names, results, errors (as
RuntimeError where PyTorch raises one), dtypes and grad_fn names. Underneath are the very same op
definitions as the static style: an op function asks its inputs' builder to apply it, and for
eager tensors that builder runs the kernel now and, when some input requires grad, records a
node; `backward()` calls the same vjps.

    >>> from staticgraph import eager as torch
    >>> x = torch.arange(4.0, requires_grad=True)
    >>> y = 2 * torch.dot(x, x)
    >>> y.backward()
    >>> x.grad == 4 * x
    tensor([True, True, True, True])

Because values exist as the code runs, Python `if` and `while` work on them, and each run
records only what ran: `recorded_graph(t)` (or `sg.to_dot(t)`) shows the branch taken and the
loop unrolled. Semantics follow PyTorch: `.grad` is None until the first backward and then
accumulates; only leaves keep `.grad` unless `retain_grad()`; in-place updates bump version
counters and are recorded; views share storage. Variables and assign ops are static-only.
`sg.function` traces eager-style code into a static graph.
"""
from staticgraph.dtypes import bool_, float32, float64, int32, int64
from staticgraph.eager.apply import apply_eager
from staticgraph.eager.tensor import Tensor
from staticgraph.eager import methods as _methods
from staticgraph.eager import autograd, nn, optim
from staticgraph.eager.autograd import grad
from staticgraph.eager.device import cuda, device
from staticgraph.eager.factories import (Generator, arange, as_tensor, empty, empty_like, eye, fill,
                                         from_numpy, full, full_like, linspace, manual_seed,
                                         normal, ones, ones_like, rand, rand_like, randint,
                                         randn, randn_like, seed, tensor, zeros, zeros_like)
from staticgraph.eager.functions import (add, all, allclose, any, argmax, argmin, bmm, cat,
                                         clamp, clone, concat, concatenate, div, dot, eq, equal,
                                         expm1, flatten, ge, gt, index_select, is_floating_point,
                                         is_tensor, isclose, le, log1p, log_softmax, logsumexp,
                                         lt, matmul, max, mean, min, mm, mul, mv, ne, neg, norm,
                                         numel, outer, permute, pow, reshape, softmax, squeeze,
                                         stack, std, sub, sum, swapaxes, swapdims, t, transpose,
                                         unsqueeze, var, where)
from staticgraph.eager.mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                    set_grad_enabled)
from staticgraph.eager.recorded import recorded_graph
from staticgraph.eager.tape import Node
from staticgraph.ops.registry import set_eager_apply

# The op functions are the static style's own: they dispatch on their inputs' style.
from staticgraph.ops.array import (broadcast_to, expand_dims, gather, getitem, one_hot)
from staticgraph.ops.control import cond
from staticgraph.ops.loops import while_loop
from staticgraph.ops.create import identity, stop_gradient
from staticgraph.ops.debug import check_numerics
from staticgraph.ops.math import (abs, add_n, cast, cos, divide, exp, greater, greater_equal,
                                  less, less_equal, log, logical_and, logical_not, logical_or,
                                  logical_xor, maximum, minimum, multiply, negative, not_equal,
                                  relu, sigmoid, sign, sin, sqrt, square, subtract, tanh)
from staticgraph.ops.nn import (softmax_cross_entropy_with_logits,
                                sparse_softmax_cross_entropy_with_logits)

# PyTorch's dtype names (`torch.float` is float32, `torch.long` int64 ...).
float = float32
double = float64
long = int64
int = int32
bool = bool_

set_eager_apply(apply_eager)
_methods.install(Tensor)
Size = tuple
