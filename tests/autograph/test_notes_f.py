"""The notes' §3.4 f(a), written as for PyTorch, traced once by sg.function with AutoGraph: one
graph with a while_loop and a cond that runs for every a, with the exact gradient f(a) / a."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def f_numpy(a: np.ndarray) -> np.ndarray:
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    return b if b.sum() > 0 else 100 * b


@sg.function
def f_and_grad(a):
    c = f(a)
    return c, sg.gradients(sg.sum(c), [a])[0]


A_VALUES = [0.3, -0.7, 1e-3, -2e-3, 5.0, -1234.5, 999.0, 2.0 ** -20]


@pytest.mark.parametrize("a", A_VALUES)
def test_one_trace_gives_f_and_its_gradient_for_every_a(a):
    c, grad = f_and_grad(np.float64(a))
    np.testing.assert_allclose(c, f_numpy(np.float64(a)), rtol=1e-15)
    np.testing.assert_allclose(grad, c / a, rtol=1e-15)
    x = eager.tensor(np.float64(a), requires_grad=True)
    y = f(x)                                   # the same Python function, run eagerly
    y.backward()
    np.testing.assert_allclose(c, y.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-15)


def test_every_scalar_a_shares_one_trace_with_one_while_and_one_cond():
    for a in A_VALUES:
        f_and_grad(np.float64(a))
    (trace,) = [t for t in f_and_grad.traces if t.placeholders[0].shape == ()]
    ops = [d["op"] for _, d in trace.graph.nx.nodes(data=True) if d["role"] == "forward"]
    assert ops.count("while_loop") == 1 and ops.count("cond") == 1  # the gradient has its own
    assert "norm" not in ops, "the loop's test lives in its cond sub-graph only"


@pytest.mark.parametrize("seed", range(3))
def test_a_vector_a(seed):
    a = np.random.default_rng(seed).normal(size=3).astype(np.float64) * 10 ** -seed
    c, grad = f_and_grad(a)
    np.testing.assert_allclose(c, f_numpy(a), rtol=1e-15)
    np.testing.assert_allclose(grad, c / a, rtol=1e-12)


def test_to_code_shows_the_loop_and_the_branch_as_helper_calls():
    code = sg.autograph.to_code(f)
    assert "ag__.while_stmt(" in code and "ag__.if_stmt(" in code
    assert "while b.norm() < 1000" not in code
    assert "return b.norm() < 1000" in code
