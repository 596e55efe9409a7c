"""Every op-table row in the eager style: values and gradients equal the static style's, and
second-order gradients on the tape agree with finite differences."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.testing import numeric_gradient
from tests import op_table
from tests.op_table import ROWS

CASES = [(row, i) for row in ROWS for i in range(len(row.cases))]
IDS = [f"{row.name}-{i}" for row, i in CASES]


class EagerNamespace:
    """`sg` as the rows see it, except that the ops with no tensor input (which would otherwise
    add nodes to the default graph) make eager tensors."""

    def __getattr__(self, name):
        return getattr(sg, name)

    @staticmethod
    def constant(value, dtype=None):
        return eager.tensor(value, dtype=dtype)

    @staticmethod
    def ones(shape, dtype=sg.float32):
        return eager.ones(shape, dtype=dtype)

    @staticmethod
    def zeros(shape, dtype=sg.float32):
        return eager.zeros(shape, dtype=dtype)


@pytest.fixture(autouse=True)
def eager_rows(monkeypatch):
    monkeypatch.setattr(op_table, "sg", EagerNamespace())


def _static(row, values, weights):
    """The row's value and the gradients of sum(weights * y), from a Session."""
    with sg.Graph().as_default() as graph, pytest.MonkeyPatch.context() as patch:
        patch.setattr(op_table, "sg", sg)
        xs = [sg.placeholder(sg.float64, v.shape, name=f"in{k}") for k, v in enumerate(values)]
        y = row.build(*xs)
        fetches = [y]
        if row.differentiable:
            fetches += sg.gradients(sg.sum(y * weights), xs, unconnected_gradients="zero")
        return sg.Session(graph).run(fetches, dict(zip(xs, values)))


def _weights(rng, row, values):
    shape = np.shape(row.ref(*values))
    return rng.uniform(0.5, 1.5, size=shape)


@pytest.mark.parametrize("row,case", CASES, ids=IDS)
def test_value_and_gradient_equal_static(row, case, rng):
    values = [row.sample(rng, s) for s in row.cases[case]]
    weights = _weights(rng, row, values)
    static = _static(row, values, weights)
    xs = [eager.tensor(v, requires_grad=True) for v in values]
    y = row.build(*xs)
    assert y.shape == np.shape(static[0]) and y.dtype == sg.float64
    np.testing.assert_allclose(y.detach().numpy(), static[0], rtol=1e-12, atol=1e-12)
    if not row.differentiable:
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None
        return
    (y * weights).sum().backward()
    for x, expected in zip(xs, static[1:]):
        got = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row,case", CASES, ids=IDS)
def test_float32_value_and_dtype(row, case, rng):
    values = [row.sample(rng, s) for s in row.cases[case]]
    y = row.build(*[eager.tensor(v.astype(np.float32)) for v in values])
    assert y.dtype == sg.float32
    np.testing.assert_allclose(y.numpy(), row.ref(*values), rtol=1e-5, atol=1e-5)


SMOOTH = [(row, 0) for row in ROWS if row.differentiable and row.smooth and "stops" not in row.tags]


def _inner(row, values, weights, directions, create_graph):
    """<grad sum(weights * y), directions>, computed on the tape."""
    xs = [eager.tensor(v, requires_grad=True) for v in values]
    grads = eager.grad((row.build(*xs) * weights).sum(), xs, create_graph=create_graph,
                       allow_unused=True)
    terms = [(g * d).sum() for g, d in zip(grads, directions) if g is not None]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return xs, total


@pytest.mark.parametrize("row,case", SMOOTH, ids=[r.name for r, _ in SMOOTH])
def test_second_order_matches_finite_differences(row, case, rng):
    shapes = row.cases[case]
    values = [row.sample(rng, s) for s in shapes]
    weights = _weights(rng, row, values)
    directions = [rng.normal(size=s) for s in shapes]
    xs, inner = _inner(row, values, weights, directions, create_graph=True)
    if inner.requires_grad:
        inner.backward()
    numeric = numeric_gradient(
        lambda vs: float(_inner(row, vs, weights, directions, create_graph=False)[1]), values)
    for x, expected in zip(xs, numeric):
        got = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
