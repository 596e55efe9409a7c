"""micrograd's two engine checks against PyTorch, restated: scalar expressions mixing +, *, **,
relu, in-place += on intermediate results and division, written as PyTorch code and run on
eager. The expected numbers are PyTorch's (and where it is installed, PyTorch is run too)."""
import pytest

from staticgraph import eager


def sanity(torch):
    x = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y.item(), x.grad.item()


def more_ops(torch):
    a = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g.item(), a.grad.item(), b.grad.item()


def more_ops_in_place(torch):
    """The same with the in-place updates micrograd's test writes as `c += ...`."""
    a = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g.item(), a.grad.item(), b.grad.item()


EXPECTED = {sanity: (-20.0, 46.0),
            more_ops: (24.70408163265306, 138.83381924198252, 645.5772594752186),
            more_ops_in_place: (24.70408163265306, 138.83381924198252, 645.5772594752186)}


@pytest.mark.parametrize("program", list(EXPECTED), ids=lambda p: p.__name__)
def test_eager_gives_pytorchs_numbers(program):
    assert program(eager) == pytest.approx(EXPECTED[program], rel=1e-12)


@pytest.mark.parametrize("program", list(EXPECTED), ids=lambda p: p.__name__)
def test_pytorch_gives_the_same(program):
    torch = pytest.importorskip("torch")
    assert program(torch) == pytest.approx(program(eager), rel=1e-12)
