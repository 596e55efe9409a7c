"""Random graphs against PyTorch, where it is installed (it is never required): the same program
replayed with torch ops gives the static graph's value and gradients in float64."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from tests.fuzz_graphs import EXAMPLES, SLICE, Plan, build, feeds, programs

torch = pytest.importorskip("torch")


def _softmax(a):
    return torch.softmax(a, dim=-1) if a.ndim else a


def _loop3(a):
    for _ in range(3):
        a = torch.tanh(a) * 1.2
    return a


UNARY = {
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "exp_tanh": lambda a: torch.exp(torch.tanh(a)), "square": torch.square, "neg": lambda a: -a,
    "log1p_sq": lambda a: torch.log(1.0 + a * a), "sqrt1p_sq": lambda a: torch.sqrt(1.0 + a * a),
    "pow3": lambda a: a ** 3, "softmax": _softmax,
    "sum_last": lambda a: a.sum(dim=-1, keepdim=True) if a.ndim else a,
    "mean_all": lambda a: a.mean(), "norm_1p": lambda a: torch.linalg.vector_norm(a + 3.0),
    "flatten": lambda a: a.reshape(-1), "T": lambda a: a.permute(tuple(range(a.ndim - 1, -1, -1))),
    "first_rows": lambda a: a[:1] if a.ndim else a,
    "concat_self": lambda a: torch.cat([a, a * 2], -1) if a.ndim else a,
    "stack_self": lambda a: torch.stack([a, -a], 0),
    "max_last": lambda a: torch.amax(a * a + a, dim=-1) if a.ndim else a,
    "cond_sign": lambda a: a * 2.0 if a.sum() > 0 else torch.sin(a),
    "loop3": _loop3, "last_col": lambda a: a[..., -1:] if a.ndim else a,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b),
    "maximum_soft": lambda a, b: torch.log(torch.exp(a) + torch.exp(b)),
    "where": lambda a, b: torch.where(a > b + 0.25, a * b, a + b), "matmul": lambda a, b: a * b,
}


def build_torch(steps, inputs, plan: Plan):
    """`tests.fuzz_graphs.build` in torch, following the choices `plan` recorded."""
    values = list(inputs)
    for index, step in enumerate(steps):
        name, args = step[0], [values[i] for i in step[1]]
        if name == SLICE:
            value = args[0]
            if plan[index]:  # torch has no negative steps: index with the same positions
                positions = list(range(*slice(*step[2]).indices(value.shape[0])))
                value = value[torch.tensor(positions, dtype=torch.long)]
        elif name in BINARY:
            a, b = args
            if plan[index] == "matmul":
                value = a @ b
            else:
                value = BINARY[name](a, b.sum() if plan[index] == "sum_second" else b)
        else:
            value = UNARY[name](*args)
        values.append(value)
    total = (values[len(inputs)] * 1.0).sum()
    for v in values[len(inputs) + 1:]:
        total = total + v.sum() * 0.5
    return total


@settings(max_examples=8 * EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs(with_slices=True))
def test_random_graphs_match_pytorch(program):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    g = sg.Graph()
    with g.as_default():
        xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
        plan = Plan()
        y = build(steps, xs, plan)
        grads = sg.gradients(y, xs, unconnected_gradients="zero")
    with sg.Session(graph=g) as sess:
        y_value, *g_values = sess.run([y] + grads, dict(zip(xs, values)))
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = build_torch(steps, leaves, plan)
    out.backward()
    np.testing.assert_allclose(y_value, out.item(), rtol=1e-12, atol=1e-12)
    for got, leaf in zip(g_values, leaves):
        want = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
