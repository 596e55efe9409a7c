"""eager.optim: PyTorch's SGD and Adam, step for step equal to the static optimizers."""
import numpy as np
import pytest

import staticgraph as sg
import staticgraph.train  # noqa: F401  (sg.train)
from staticgraph import eager
from staticgraph.errors import InvalidArgumentError

A = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.3, -0.7])


def _eager_trajectory(make_optimizer, steps: int) -> list[np.ndarray]:
    w = eager.tensor(W0, requires_grad=True)
    opt = make_optimizer([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        r = eager.tensor(A) @ w - B
        (r * r).sum().backward()
        opt.step()
        out.append(w.detach().numpy().copy())
    assert w.is_leaf and w.requires_grad
    return out


def _static_trajectory(optimizer, steps: int) -> list[np.ndarray]:
    with sg.Graph().as_default() as graph:
        w = sg.Variable(W0, name="w")
        r = sg.matmul(sg.constant(A), w) - B
        train = optimizer.minimize(sg.sum(r * r))
        with sg.Session(graph) as sess:
            sess.run(sg.global_variables_initializer())
            out = []
            for _ in range(steps):
                sess.run(train)
                out.append(sess.run(w))
            return out


def test_sgd_step_is_the_closed_form():
    w = eager.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    eager.optim.SGD([w], lr=0.25).step()
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, -1.0])


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_the_static_momentum_optimizer(momentum):
    eager_steps = _eager_trajectory(lambda ps: eager.optim.SGD(ps, lr=0.02, momentum=momentum), 4)
    static_opt = (sg.train.MomentumOptimizer(0.02, momentum) if momentum
                  else sg.train.GradientDescentOptimizer(0.02))
    np.testing.assert_allclose(eager_steps, _static_trajectory(static_opt, 4), rtol=1e-12)


def test_adam_matches_the_static_adam_without_epsilon():
    # The two place epsilon differently (see AdamOptimizer); with epsilon 0 they agree exactly.
    eager_steps = _eager_trajectory(lambda ps: eager.optim.Adam(ps, lr=0.1, eps=0.0), 4)
    static_steps = _static_trajectory(sg.train.AdamOptimizer(0.1, epsilon=0.0), 4)
    np.testing.assert_allclose(eager_steps, static_steps, rtol=1e-12)
    np.testing.assert_allclose(eager_steps[0], W0 - 0.1 * np.sign(2 * A.T @ (A @ W0 - B)))


def test_zero_grad_and_invalid_parameters():
    w = eager.tensor([1.0], requires_grad=True)
    opt = eager.optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    opt.step()
    assert w.tolist() == [1.0], "no gradient, no update"
    with pytest.raises(InvalidArgumentError, match="leaf eager tensor with requires_grad=True"):
        eager.optim.Adam([w * 2])
    with pytest.raises(InvalidArgumentError, match="empty"):
        eager.optim.SGD([], lr=0.1)
