"""Subjects of PyTorch's own test/test_autograd.py, restated in our words on staticgraph.eager:
what PyTorch asserts there (values, errors, flags) must hold here."""
import numpy as np
import pytest

from staticgraph import eager as torch


def _pair(shape=(3, 3)):
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    y = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    return x, y


def test_function_with_several_inputs_and_grad_output():
    x, y = _pair()
    go = torch.ones(3, 3, dtype=torch.float64)
    result = x * 2 + x * y + y
    (gx, gy) = torch.autograd.grad(result, [x, y], go)
    np.testing.assert_allclose(gx.numpy(), 2 + y.detach().numpy())
    np.testing.assert_allclose(gy.numpy(), x.detach().numpy() + 1)


def test_accumulate_grad_across_backward_calls():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0] * 3


def test_grad_nonleaf_and_retain_grad():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y ** 2).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.detach().numpy())


def test_hook_on_leaf_changes_the_accumulated_grad_and_can_be_removed():
    x = torch.ones(2, requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(g.tolist()) or g * 2)
    (x * 3).sum().backward()
    assert calls == [[3.0, 3.0]] and x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [9.0, 9.0] and len(calls) == 1


def test_backward_twice_with_and_without_saved_values():
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(3, dtype=torch.float64)
    c[[1, 2]] = b[[1, 1]]
    c.backward(torch.ones(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        c.backward(torch.ones(3, dtype=torch.float64))
    d = b + 1
    d.backward(torch.ones(3, dtype=torch.float64))
    d.backward(torch.ones(3, dtype=torch.float64))


def test_no_grad_results_do_not_require_grad_and_mode_is_restored_after_errors():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError("inside")
    assert torch.is_grad_enabled()
    with torch.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None


def test_requires_grad_propagates_and_detach_cuts():
    x = torch.randn(2, requires_grad=True)
    y = torch.randn(2)
    assert (x + y).requires_grad and not (y * 2).requires_grad
    z = (x * 2).detach()
    assert not z.requires_grad and z.grad_fn is None
    z.requires_grad_()
    (z * 3).sum().backward()
    assert x.grad is None and z.grad.tolist() == [3.0, 3.0]


def test_inplace_on_leaf_errors_and_version_counter_counts():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.mul_(2)
    y = torch.zeros(3)
    assert y.version == 0
    y.add_(1)
    y[0] = 3.0
    y.zero_()
    assert y.version == 3


def test_inplace_error_for_a_saved_input():
    a = torch.randn(3, dtype=torch.float64, requires_grad=True)
    b = a * 1
    c = b * b  # saves b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_inplace_exp_then_backward_uses_the_result():
    a = torch.randn(3, dtype=torch.float64, requires_grad=True)
    b = (a * 1).exp_()
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(a.detach().numpy()))


def test_index_gradient_accumulates_duplicates():
    x = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([0, 0, 3])
    x[idx].sum().backward()
    expected = np.zeros((4, 4))
    expected[0] = 2
    expected[3] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_setitem_gradient_flows_to_value_and_rest():
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, dtype=torch.float64, requires_grad=True)
    y = x.clone()
    y[1:3] = v
    (y * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 3.0] and v.grad.tolist() == [1.0, 2.0]


def test_grad_unreachable_and_allow_unused():
    x = torch.ones(1, requires_grad=True)
    y = torch.ones(1, requires_grad=True)
    z = x * 2
    (gx, gy) = torch.autograd.grad(z, [x, y], allow_unused=True)
    assert gx.tolist() == [2.0] and gy is None
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        torch.autograd.grad(x * 2, [x, y])


def test_double_backward_of_a_product():
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    y = x ** 4
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    assert g.item() == 108.0 and h.item() == 108.0


def test_set_grad_enabled_nested_in_no_grad():
    x = torch.ones(1, requires_grad=True)
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_backward_with_inputs_accumulates_only_there():
    x = torch.ones(2, requires_grad=True)
    w = torch.ones(2, requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0, 1.0]


def test_grad_fn_chain_of_a_leaf_use_is_accumulate_grad():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    (fn, _), (const, _) = y.grad_fn.next_functions
    assert fn.name() == "AccumulateGrad" and fn.variable is x and const is None


def test_numpy_refused_for_tensors_that_require_grad():
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        torch.ones(2, requires_grad=True).numpy()
