"""Softmax regression (from scratch and concise) and a small MLP, on separable synthetic
classes; the from-scratch gradients are checked against the closed form softmax - one_hot."""
import numpy as np

from staticgraph import eager as torch
from staticgraph.eager import nn


def make_classes(n_per_class=60, num_classes=3, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (num_classes, dim))
    X = np.concatenate([c + rng.normal(0, 1, (n_per_class, dim)) for c in centres])
    y = np.repeat(np.arange(num_classes), n_per_class)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum()) / len(y)


def test_softmax_regression_from_scratch_gradient_is_the_closed_form():
    X, y = make_classes()
    W = torch.normal(0, 0.01, size=(4, 3), requires_grad=True, dtype=torch.float64)
    b = torch.zeros(3, requires_grad=True, dtype=torch.float64)
    Xd = X.double()
    probs = softmax(torch.matmul(Xd, W) + b)
    cross_entropy(probs, y).mean().backward()
    slope = (probs.detach().numpy() - np.eye(3)[y.numpy()]) / len(y)
    np.testing.assert_allclose(W.grad.numpy(), Xd.numpy().T @ slope, rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), slope.sum(0), rtol=1e-10, atol=1e-15)


def test_softmax_regression_from_scratch_trains():
    X, y = make_classes()
    W = torch.normal(0, 0.01, size=(4, 3), requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    for _ in range(50):
        l = cross_entropy(softmax(torch.matmul(X, W) + b), y).mean()
        l.backward()
        with torch.no_grad():
            for p in (W, b):
                p -= 0.1 * p.grad
                p.grad.zero_()
    assert accuracy(torch.matmul(X, W) + b, y) > 0.9


def test_concise_softmax_and_mlp_train_with_optimizers():
    X, y = make_classes(seed=1)
    torch.manual_seed(0)
    for net, optimizer in [
        (nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), lambda p: torch.optim.SGD(p, lr=0.1)),
        (nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)),
         lambda p: torch.optim.Adam(p, lr=0.01)),
    ]:
        def init_weights(m):
            if type(m) == nn.Linear:
                nn.init.normal_(m.weight, std=0.01)
        net.apply(init_weights)
        loss = nn.CrossEntropyLoss(reduction="none")
        trainer = optimizer(net.parameters())
        net.train()
        first = None
        for epoch in range(60):
            l = loss(net(X), y)
            first = float(l.mean()) if first is None else first
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
        net.eval()
        with torch.no_grad():
            final = float(loss(net(X), y).mean())
            assert accuracy(net(X), y) > 0.9
        assert final < first / 4


def test_cross_entropy_matches_numpy():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]], dtype=torch.float64,
                          requires_grad=True)
    labels = torch.tensor([1, 2])
    loss = nn.functional.cross_entropy(logits, labels)
    z = logits.detach().numpy()
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -(log_p[0, 1] + log_p[1, 2]) / 2, rtol=1e-14)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), (np.exp(log_p) - np.eye(3)[[1, 2]]) / 2)
