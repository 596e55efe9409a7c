"""eager.nn.functional losses and eager.nn modules against numpy formulas."""
import numpy as np
import pytest

from staticgraph import eager as torch
from staticgraph.eager import nn
from staticgraph.eager.nn import functional as F


def test_binary_cross_entropy_forms_agree_with_numpy():
    z = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    p = 1 / (1 + np.exp(-z.detach().numpy()))
    expected = -np.mean(t.numpy() * np.log(p) + (1 - t.numpy()) * np.log(1 - p))
    loss = F.binary_cross_entropy_with_logits(z, t)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy(torch.sigmoid(z), t).item(), expected,
                               rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), (p - t.numpy()) / 3, rtol=1e-12)


def test_mse_nll_softmax_and_reductions():
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    y = torch.zeros(2, 2, dtype=torch.float64)
    assert F.mse_loss(x, y).item() == 39 / 4 and F.mse_loss(x, y, reduction="sum").item() == 39
    assert F.mse_loss(x, y, reduction="none").tolist() == [[1.0, 4.0], [9.0, 25.0]]
    np.testing.assert_allclose(F.softmax(x, dim=1).sum(1).numpy(), [1.0, 1.0])
    logp = F.log_softmax(x, dim=1)
    assert F.nll_loss(logp, torch.tensor([0, 1])).item() == pytest.approx(
        -(logp[0, 0].item() + logp[1, 1].item()) / 2)


def test_module_registration_modes_and_state_dict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(3, 4)
            self.out = nn.Linear(4, 1)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x))) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert net.hidden.weight.shape == (4, 3) and all(p.requires_grad for p in net.parameters())
    net(torch.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert not net.eval().training and not net.hidden.training and net.train().out.training
    other = Net()
    other.load_state_dict(net.state_dict())
    x = torch.randn(2, 3)
    assert torch.equal(other(x), net(x))
    with pytest.raises(RuntimeError, match="size mismatch"):
        nn.Linear(2, 2).load_state_dict({"weight": torch.ones(3, 3), "bias": torch.ones(2)})
