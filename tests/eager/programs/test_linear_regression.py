"""Linear regression from scratch and concise (the book's chapters), on synthetic data; the
learned parameters are compared with the least-squares solution computed by numpy."""
import random

import numpy as np

from staticgraph import eager as torch
from staticgraph.eager import nn

TRUE_W, TRUE_B = [2, -3.4], 4.2


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def least_squares(X, y):
    A = np.hstack([X.numpy().astype(np.float64), np.ones((len(X), 1))])
    return np.linalg.lstsq(A, y.numpy().astype(np.float64), rcond=None)[0].ravel()


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def test_from_scratch():
    torch.manual_seed(0)
    random.seed(0)
    features, labels = synthetic_data(torch.tensor(TRUE_W), TRUE_B, 1000)
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    for epoch in range(3):
        for X, y in data_iter(10, features, labels):
            l = squared_loss(linreg(X, w, b), y)
            l.sum().backward()
            sgd([w, b], 0.03, 10)
        with torch.no_grad():
            train_l = squared_loss(linreg(features, w, b), labels)
    assert float(train_l.mean()) < 1e-3
    solution = least_squares(features, labels)
    np.testing.assert_allclose(w.detach().numpy().ravel(), solution[:2], atol=2e-3)
    np.testing.assert_allclose(b.item(), solution[2], atol=2e-3)


def test_concise():
    torch.manual_seed(1)
    features, labels = synthetic_data(torch.tensor(TRUE_W), TRUE_B, 1000)
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    batches = [(features[i:i + 10], labels[i:i + 10]) for i in range(0, 1000, 10)]
    for epoch in range(3):
        for X, y in batches:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
    assert loss(net(features), labels).item() < 1e-3
    solution = least_squares(features, labels)
    w, b = net[0].weight.data, net[0].bias.data
    np.testing.assert_allclose(w.numpy().ravel(), solution[:2], atol=2e-3)
    np.testing.assert_allclose(b.numpy(), solution[2:], atol=2e-3)
    state = net.state_dict()
    assert list(state) == ["0.weight", "0.bias"]
    clone = nn.Sequential(nn.Linear(2, 1))
    clone.load_state_dict(state)
    assert torch.equal(clone(features), net(features).detach())
