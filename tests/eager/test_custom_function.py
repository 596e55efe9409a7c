"""eager.autograd.Function (custom forward/backward) and gradcheck, as PyTorch's, in float64."""
import numpy as np
import pytest

from staticgraph import eager
from staticgraph.eager.autograd import Function, GradcheckError, gradcheck

RNG = np.random.default_rng(1)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y


class MulConst(Function):
    """x * k with a number k: backward returns None for it, as PyTorch requires."""

    @staticmethod
    def forward(ctx, x, w, k):
        ctx.save_for_backward(x, w)
        ctx.k = k
        return x * w * k

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        gx = grad_output * w * ctx.k if ctx.needs_input_grad[0] else None
        gw = grad_output * x * ctx.k if ctx.needs_input_grad[1] else None
        return gx, gw, None


class WrongExp(Exp):
    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y * 1.01


def _leaf(*shape):
    return eager.tensor(RNG.normal(size=shape), requires_grad=True)


def test_gradcheck_passes_for_a_correct_function_and_composes():
    x, w = _leaf(3, 2), _leaf(2)
    assert gradcheck(Exp.apply, (x,), eps=1e-6, atol=1e-4)
    assert gradcheck(lambda a, b: MulConst.apply(Exp.apply(a), b, 2.5).sum(0), (x, w))
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward" and y.grad_fn.next_functions[0][0].variable is x
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.detach().numpy()), rtol=1e-12)


def test_gradcheck_raises_with_both_jacobians_on_a_wrong_backward():
    x = _leaf(3)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0") as info:
        gradcheck(WrongExp.apply, (x,))
    assert isinstance(info.value, RuntimeError) and "numerical:" in str(info.value)
    assert gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


def test_needs_input_grad_and_no_gradient_for_inputs_without_grad():
    x = _leaf(4)
    w = eager.tensor(RNG.normal(size=4))
    seen = []

    class Probe(MulConst):
        @staticmethod
        def backward(ctx, grad_output):
            seen.append(ctx.needs_input_grad)
            return MulConst.backward(ctx, grad_output)

    Probe.apply(x, w, 3.0).sum().backward()
    assert seen == [(True, False, False)]
    np.testing.assert_allclose(x.grad.numpy(), 3 * w.numpy())
    assert not MulConst.apply(w, w, 1.0).requires_grad, "no input requires grad: no node"


def test_double_backward_through_a_backward_written_with_ops():
    x = _leaf(3)
    (g,) = eager.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (h,) = eager.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp(x.detach().numpy()), rtol=1e-12)


def test_saved_tensor_modified_in_place_or_freed_raises():
    x = _leaf(3)
    y = Exp.apply(x)
    z = y.sum()
    with eager.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    y = Exp.apply(x)
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.backward()


def test_mark_non_differentiable_and_wrong_gradient_counts():
    class SortValues(Function):
        @staticmethod
        def forward(ctx, x):
            order = eager.tensor(np.argsort(x.detach().numpy()))
            values = x[order]
            ctx.mark_non_differentiable(order)
            ctx.save_for_backward(order)
            return values, order

        @staticmethod
        def backward(ctx, grad_values):
            (order,) = ctx.saved_tensors
            grad = eager.zeros_like(grad_values)
            grad[order] = grad_values
            return grad

    x = _leaf(5)
    values, order = SortValues.apply(x)
    assert values.requires_grad and not order.requires_grad
    (values * eager.arange(5.0, dtype=eager.float64)).sum().backward()
    expected = np.empty(5)
    expected[np.argsort(x.detach().numpy())] = np.arange(5.0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    class TooMany(Exp):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, grad_output

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                           r"\(expected 1, got 2\)"):
        TooMany.apply(_leaf(2)).sum().backward()

    class BadShape(Exp):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.sum()

    with pytest.raises(RuntimeError, match="returned an invalid gradient at index 0"):
        BadShape.apply(_leaf(2)).sum().backward()


def test_a_broadcast_gradient_is_summed_to_the_input_shape():
    x, w = _leaf(3, 2), _leaf(2)
    MulConst.apply(x, w, 2.0).sum().backward()  # backward returns w's gradient as (3, 2)
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.detach().numpy().sum(0), rtol=1e-12)
