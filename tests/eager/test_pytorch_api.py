"""PyTorch's autograd API on the eager tape: eager.autograd, grad modes, Tensor attributes and
methods, module functions, in-place updates and views, each checked against PyTorch's values,
errors and names (written from PyTorch's documented behaviour)."""
import threading

import numpy as np
import pytest

from staticgraph import eager as torch


# ----- 1. eager.autograd and grad modes -------------------------------------------------------
def test_autograd_backward_with_grad_tensors_and_inputs():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    torch.autograd.backward([a * b, a + b], [torch.tensor(1.0), torch.tensor(10.0)])
    assert a.grad.item() == 3.0 + 10.0 and b.grad.item() == 2.0 + 10.0
    a.grad = b.grad = None
    torch.autograd.backward(a * b, inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None


def test_autograd_grad_outputs_unused_and_higher_order():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(1.0, requires_grad=True)
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, 4.0]))
    (h,) = torch.autograd.grad(g, x, grad_outputs=torch.ones(2, dtype=torch.float64))
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
    assert x.grad is None and not h.requires_grad
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        torch.autograd.grad((x * 2).sum(), [x, w])
    assert torch.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)[1] is None
    zeros = torch.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True)[1]
    assert zeros.item() == 0.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((x * 2).sum(), torch.ones(2))


def test_grad_of_a_non_leaf_input():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (gy,) = torch.autograd.grad((y * y).sum(), y)
    np.testing.assert_allclose(gy.numpy(), 2 * np.array([3.0, 6.0]))


def test_backward_gradient_is_cast_and_shape_checked():
    y = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (y * y).backward(torch.tensor([1.0, 1.0]))  # a float32 gradient for a float64 output
    assert y.grad.dtype == torch.float64 and y.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of "
                                           r"torch.Size\(\[2\]\)"):
        (y * y).backward(torch.ones(3))
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (y * y).backward()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        torch.ones(2).sum().backward()


def test_no_grad_and_enable_grad_as_context_managers_and_decorators():
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad
    def bare(t):
        return t * 2

    @torch.no_grad()
    def called(t):
        return t * 2

    @torch.enable_grad()
    def enabled(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad
    with torch.no_grad():
        assert enabled(x).requires_grad and not (x * 2).requires_grad
    assert torch.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context_manager():
    x = torch.ones(2, requires_grad=True)
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled() and (x * 2).requires_grad


def test_grad_mode_is_per_thread():
    seen = []
    with torch.no_grad():
        thread = threading.Thread(target=lambda: seen.append(torch.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not torch.is_grad_enabled()
    assert seen == [True]


# ----- 2. Tensor attributes and methods --------------------------------------------------------
def test_grad_fn_names_and_next_functions_end_in_accumulate_grad():
    w = torch.randn(3, 2, requires_grad=True)
    x = torch.randn(4, 3)
    loss = (x @ w).relu().sum()
    names = []
    node = loss.grad_fn
    while node is not None:
        names.append(node.name())
        node = next((f for f, _ in node.next_functions if f is not None), None)
    assert names == ["SumBackward0", "ReluBackward0", "MmBackward0", "AccumulateGrad"]
    assert names[-1] == "AccumulateGrad"
    a = torch.tensor(2.0, requires_grad=True)
    assert [(f(a)).grad_fn.name() for f in (lambda t: t * 2, lambda t: t + 1, lambda t: t ** 2,
                                            lambda t: t.exp(), lambda t: t - 1, lambda t: t / 2)] \
        == ["MulBackward0", "AddBackward0", "PowBackward0", "ExpBackward0", "SubBackward0",
            "DivBackward0"]
    v = torch.ones(2, 3, requires_grad=True)
    assert v.mean().grad_fn.name() == "MeanBackward0"
    assert v.sum(0).grad_fn.name() == "SumBackward1"
    assert v.t().grad_fn.name() == "TBackward0" and v.view(6).grad_fn.name() == "ViewBackward0"
    assert v[0].grad_fn.name() == "SelectBackward0" and v[:, 1:].grad_fn.name() == "SliceBackward0"
    assert repr(a * 2) == "tensor(4., grad_fn=<MulBackward0>)"


def test_leaf_flags_grad_and_requires_grad_rules():
    x = torch.tensor([1.0, 2.0])
    x.requires_grad = True
    assert x.is_leaf and x.grad is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        torch.tensor([1, 2]).requires_grad_()
    x.grad = torch.tensor([5.0, 5.0])
    y.sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]
    x.grad = None
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = torch.ones(3)


def test_numpy_of_a_tensor_that_requires_grad_is_refused():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        x.numpy()
    arr = x.detach().numpy()
    arr[0] = 3.0  # shares storage
    assert x.tolist() == [3.0, 1.0]


def test_detach_data_clone_and_conversions():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.is_leaf and not d.requires_grad
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert x.double().dtype == torch.float64 and x.float() is x
    assert x.to(torch.float64).grad_fn.name() == "ToCopyBackward0"
    assert torch.tensor([1.7, -1.7]).long().tolist() == [1, -1]
    assert torch.tensor(3.5).item() == 3.5 and torch.tensor([[1, 2]]).tolist() == [[1, 2]]
    y = x * 1
    y.detach_()
    assert y.is_leaf and not y.requires_grad


def test_hooks_and_retain_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.array([3.0, 6.0]) * 10)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([3.0, 6.0]) * 10 * 3)
    handle.remove()
    x.grad = None
    y = x * 3
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


# ----- 3. module functions ----------------------------------------------------------------------
def test_dtypes_and_factories():
    assert torch.float is torch.float32 and torch.double is torch.float64
    assert torch.long is torch.int64 and torch.tensor([True]).dtype == torch.bool
    assert torch.zeros(2, 3).dtype == torch.float32 and torch.arange(3).dtype == torch.int64
    torch.manual_seed(0)
    first = torch.normal(0, 1, (3, 2))
    torch.manual_seed(0)
    assert torch.equal(first, torch.normal(0, 1, (3, 2))) and first.dtype == torch.float32
    assert torch.randint(0, 5, (100,)).numpy().max() < 5
    assert torch.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    arr = np.arange(3.0)
    shared = torch.from_numpy(arr)
    arr[0] = 7.0
    assert shared[0].item() == 7.0 and shared.dtype == torch.float64
    assert torch.as_tensor(arr) is not None and torch.ones_like(shared).dtype == torch.float64
    assert torch.empty(2, 2).shape == (2, 2) and torch.rand(4).dtype == torch.float32


def test_type_promotion_as_pytorch():
    assert (torch.arange(3) * 0.5).dtype == torch.float32
    assert (torch.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]
    assert (torch.ones(2) * torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float32
    assert (torch.ones(2) + torch.ones(2, dtype=torch.float64)).dtype == torch.float64
    assert torch.tensor([1, 2]).exp().dtype == torch.float32


def test_math_functions():
    m = torch.tensor([[1.0, 5.0], [3.0, 2.0]])
    values, indices = torch.max(m, 1)
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    assert torch.max(m).item() == 5.0 and torch.argmax(m).item() == 1
    assert torch.min(m, dim=0).values.tolist() == [1.0, 2.0]
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = torch.clamp(x, 0, 1)
    y.sum().backward()
    assert y.tolist() == [0.0, 0.5, 1.0] and x.grad.tolist() == [0.0, 1.0, 0.0]
    assert torch.cat([torch.ones(2), torch.zeros(1)]).tolist() == [1.0, 1.0, 0.0]
    assert torch.stack([torch.ones(2), torch.zeros(2)], 1).shape == (2, 2)
    assert torch.where(m > 2, m, torch.zeros(2, 2)).tolist() == [[0.0, 5.0], [3.0, 0.0]]
    assert torch.sum(m, dim=1).tolist() == [6.0, 5.0] and torch.mean(m).item() == 2.75
    assert torch.abs(torch.tensor([-2.0])).item() == 2.0
    np.testing.assert_allclose(torch.mm(m, m).numpy(), m.numpy() @ m.numpy())
    assert torch.dot(torch.ones(3), torch.ones(3)).item() == 3.0
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        torch.mm(torch.ones(2, 3), torch.ones(4, 5))
    with pytest.raises(RuntimeError):  # shape errors are RuntimeErrors, as PyTorch's
        torch.ones(3) + torch.ones(4)


# ----- 4. in-place updates and views --------------------------------------------------------------
def test_views_share_storage_and_version_counters():
    base = torch.zeros(4)
    view = base[1:3]
    view += 1
    assert base.tolist() == [0.0, 1.0, 1.0, 0.0] and base.version == view.version == 1
    m = torch.zeros(2, 3)
    m.view(6)[0] = 5.0
    m.t()[1, 0] = 2.0
    assert m.tolist() == [[5.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        m.t().view(6)


def test_data_update_of_a_parameter_is_seen_and_not_tracked():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.1 * w.grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])
    assert w.is_leaf and w.requires_grad and w.version == 0


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        w.add_(1)
    with torch.no_grad():
        w.mul_(3)
    assert w.tolist() == [3.0, 3.0]


def test_in_place_ops_on_non_leaves_are_recorded():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    h.add_(1)
    h.mul_(3)
    assert h.grad_fn.name() == "MulBackward0" and h.tolist() == [9.0, 15.0]
    h.sum().backward()
    assert a.grad.tolist() == [6.0, 6.0]


def test_modified_saved_value_raises_pytorchs_error():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    s = a.sigmoid()
    s.mul_(2)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient "
                                           r"computation has been modified by an inplace "
                                           r"operation: \[torch.FloatTensor \[2\]\], which is "
                                           r"output 0 of SigmoidBackward0, is at version 1; "
                                           r"expected version 0 instead"):
        s.sum().backward()
    # a value no gradient reads may change: add saves nothing
    b = a + 1
    b.add_(1)
    b.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_item_assignment_is_differentiable():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = torch.tensor(4.0, requires_grad=True)
    c = a * 1
    c[0] = v * 2
    assert c.grad_fn.name() == "CopySlices" and c.tolist() == [8.0, 2.0, 3.0]
    (c * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert a.grad.tolist() == [0.0, 2.0, 3.0] and v.grad.item() == 2.0
    z = torch.zeros(3)
    z[1:] = v
    z.sum().backward()
    assert v.grad.item() == 4.0


def test_tensor_and_mask_indices_accumulate_duplicates():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[torch.tensor([0, 0, 2])].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]
    x.grad = None
    picked = x[x > 1.5]
    assert picked.grad_fn.name() == "IndexBackward0"
    picked.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_second_backward_after_saved_values_were_freed():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    z = (x + 1).sum()  # saves nothing: a second pass works
    z.backward()
    z.backward()
    assert x.grad.tolist() == [4.0, 6.0]
    k = (x * x).sum()
    k.backward(retain_graph=True)
    k.backward()
