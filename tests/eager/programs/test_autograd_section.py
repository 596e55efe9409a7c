"""The book's autograd section, written as PyTorch code, run on staticgraph.eager."""
import numpy as np

from staticgraph import eager as torch


def test_gradient_of_2_x_dot_x_then_sum_then_detach_and_control_flow():
    x = torch.arange(4.0)
    x.requires_grad_(True)
    assert x.grad is None
    y = 2 * torch.dot(x, x)
    y.backward()
    assert torch.equal(x.grad, 4 * x.detach())
    x.grad.zero_()
    y = x.sum()
    y.backward()
    assert x.grad.tolist() == [1.0] * 4
    x.grad.zero_()
    y = x * x
    y.backward(gradient=torch.ones(len(y)))
    assert torch.equal(x.grad, 2 * x.detach())
    x.grad.zero_()
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    assert torch.equal(x.grad, u)
    x.grad.zero_()
    y.sum().backward()
    assert torch.equal(x.grad, 2 * x.detach())

    def f(a):
        b = a * 2
        while b.norm() < 1000:
            b = b * 2
        if b.sum() > 0:
            c = b
        else:
            c = 100 * b
        return c

    torch.manual_seed(0)
    a = torch.randn(size=(), requires_grad=True)
    d = f(a)
    d.backward()
    assert a.grad == d / a
    np.testing.assert_allclose(a.grad.item(), (d / a).item())
