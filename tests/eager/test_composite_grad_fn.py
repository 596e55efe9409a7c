"""Composite eager functions present one grad_fn with PyTorch's name, whose next_functions are
the real inputs, and whose gradients equal the inner ops' (checked by gradcheck in float64)."""
import numpy as np

from staticgraph import eager
from staticgraph.eager.autograd import gradcheck
from staticgraph.eager.nn import functional as F

RNG = np.random.default_rng(2)


def _leaf(*shape):
    return eager.tensor(RNG.normal(size=shape), requires_grad=True)


def _next(t):
    return [None if n is None else getattr(n, "variable", n) for n, _ in t.grad_fn.next_functions]


def test_linear_is_one_addmm_node():
    x, w, b = _leaf(4, 3), _leaf(2, 3), _leaf(2)
    y = F.linear(x, w, b)
    assert y.grad_fn.name() == "AddmmBackward0" and _next(y) == [x, w, b]
    assert gradcheck(lambda *a: F.linear(*a), (x, w, b))


def test_losses_and_softmax_are_one_node():
    x, t = _leaf(3, 4), eager.tensor(RNG.normal(size=(3, 4)))
    loss = F.mse_loss(x, t)
    assert loss.grad_fn.name() == "MseLossBackward0" and _next(loss) == [x, None]
    assert gradcheck(lambda a: F.mse_loss(a, t), (x,))
    s = eager.softmax(x, dim=1)
    assert s.grad_fn.name() == "SoftmaxBackward0" and _next(s) == [x]
    assert gradcheck(lambda a: eager.softmax(a, dim=1), (x,))
    labels = eager.tensor([1, 0, 3])
    nll = F.nll_loss(F.log_softmax(x, dim=1), labels)
    assert nll.grad_fn.name() == "NllLossBackward0"
    assert nll.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"
    assert gradcheck(lambda a: F.nll_loss(F.log_softmax(a, dim=1), labels), (x,))


def test_second_derivative_through_a_composite():
    x = _leaf(3)
    (g,) = eager.autograd.grad(eager.softmax(x, dim=0)[0], x, create_graph=True)
    assert gradcheck(lambda a: eager.autograd.grad(eager.softmax(a, dim=0)[0], a,
                                                   create_graph=True)[0], (x,))
    assert g.requires_grad
