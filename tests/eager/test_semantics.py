"""The PyTorch semantics the notes rely on, each checked on the eager tape."""
import gc
import weakref

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.compare.notes import f_eager as notes_f  # the notes' §3.4 f, as written
from staticgraph.errors import FailedPreconditionError, GraphError, InvalidArgumentError


# ----- §3.1 ----------------------------------------------------------------------------------
def test_notes_simple_example_prints_like_pytorch():
    x = eager.arange(4.0)
    assert repr(x) == "tensor([0., 1., 2., 3.])" and x.dtype == sg.float32
    x.requires_grad_(True)
    assert x.grad is None
    y = 2 * eager.dot(x, x)
    assert repr(y) == "tensor(28., grad_fn=<MulBackward0>)" and float(y) == 28.0
    y.backward()
    assert repr(x.grad) == "tensor([ 0.,  4.,  8., 12.])"
    assert repr(x.grad == 4 * x) == "tensor([True, True, True, True])"
    assert repr(x) == "tensor([0., 1., 2., 3.], requires_grad=True)"


def test_gradients_accumulate_until_zeroed():
    x = eager.arange(4.0, requires_grad=True)
    x.sum().backward()
    grad = x.grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1 + 2 * np.arange(4.0))
    assert x.grad is grad, "accumulation happens in place, as in PyTorch"
    assert x.grad.zero_() is grad
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(4))


# ----- §3.2 ----------------------------------------------------------------------------------
def test_non_scalar_backward_needs_a_gradient():
    x = eager.arange(4.0, requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    y.backward(eager.ones(len(x)))
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(4.0))
    x.grad.zero_()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(4.0))


def test_gradient_argument_weights_and_is_checked():
    x = eager.arange(3.0, requires_grad=True)
    (x * x).backward(gradient=[1.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 8.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[4\]\)"):
        (x * x).backward(eager.ones(4))


# ----- §3.3 ----------------------------------------------------------------------------------
def test_detach_treats_the_value_as_a_constant():
    x = eager.arange(4.0, requires_grad=True)
    y = x * x
    u = y.detach()
    assert u.is_leaf and not u.requires_grad and u.grad_fn is None
    z = u * x
    z.sum().backward()
    assert bool((x.grad == u).numpy().all())
    x.grad.zero_()
    y.sum().backward()
    assert bool((x.grad == 2 * x).numpy().all())


def test_second_backward_needs_retain_graph():
    x = eager.arange(3.0, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    y = (x * x).sum()
    x.grad = None
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 4 * np.arange(3.0))


def test_create_graph_gives_higher_order_gradients():
    x = eager.tensor([0.5, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad and not first.is_leaf
    np.testing.assert_allclose(first.detach().numpy(), 3 * x.detach().numpy() ** 2)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())


def test_grad_function_returns_gradients_without_touching_dot_grad():
    x = eager.tensor(3.0, requires_grad=True, dtype=sg.float64)
    w = eager.tensor(1.0, requires_grad=True)
    (dx,) = eager.grad(eager.sin(x) * x, x, create_graph=True)
    (d2x,) = eager.grad(dx, x)
    assert x.grad is None
    assert float(dx) == pytest.approx(np.cos(3) * 3 + np.sin(3))
    assert float(d2x) == pytest.approx(-np.sin(3) * 3 + 2 * np.cos(3))
    assert eager.grad(x * 2, [x, w.astype(sg.float64)], allow_unused=True)[1] is None
    with pytest.raises(FailedPreconditionError, match="allow_unused"):
        eager.grad(x * 2, [x, w.astype(sg.float64)])


# ----- leaves, grad mode, requires_grad ------------------------------------------------------
def test_only_leaves_keep_grad_unless_retained():
    x = eager.arange(3.0, requires_grad=True)
    y = x * 2
    z = x * 3
    z.retain_grad()
    (y.sum() + (z * z).sum()).backward()
    assert x.is_leaf and not y.is_leaf
    assert y.grad is None
    np.testing.assert_array_equal(z.grad.numpy(), 2 * z.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 2 + 18 * x.detach().numpy())


def test_no_grad_stops_recording_as_block_and_decorator():
    x = eager.arange(3.0, requires_grad=True)
    with eager.no_grad():
        y = x * 2
        assert not eager.is_grad_enabled()
        with eager.enable_grad():
            z = x * 2
    assert eager.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and z.grad_fn.name() == "MulBackward0"
    double = eager.no_grad()(lambda t: t * 2)
    assert not double(x).requires_grad


def test_requires_grad_rules():
    x = eager.tensor([1.0, 2.0])
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not (x * 2).requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        eager.tensor([1, 2], requires_grad=True)
    y = eager.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        eager.tensor(1.0).backward()


def test_non_differentiable_ops_stop_the_flow():
    x = eager.tensor([-1.0, 2.0], requires_grad=True)
    assert not (x > 0).requires_grad
    assert not eager.argmax(x, 0).requires_grad
    assert not eager.stop_gradient(x).requires_grad
    assert not eager.cast(x, sg.int64).requires_grad
    y = (eager.cast(x > 0, sg.float32) * x + eager.stop_gradient(x) * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0 - 1.0, 1.0 + 2.0])


# ----- Python on values ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_notes_control_flow_gradient_is_f_over_a(seed):
    eager.manual_seed(seed)
    a = eager.randn(size=(), requires_grad=True)
    d = notes_f(a)
    d.backward()
    np.testing.assert_allclose(a.grad.numpy(), (d / a).detach().numpy(), rtol=1e-6)
    k = float(a.grad)
    assert k == 2.0 ** round(np.log2(k)) or k / 100 == 2.0 ** round(np.log2(k / 100))
    if float(a) > 0:
        assert bool(a.grad == d / a)


def test_python_scalars_bool_len_and_iteration():
    x = eager.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert len(x) == 2 and x.ndim == 2 and x.shape == (2, 2)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[0] * rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 4.0], [1.0, 2.0]])
    assert bool(x.sum() > 9) and float(x.sum()) == 10.0 and int(x[1, 1]) == 4
    assert x[0, 0].item() == 1.0 and f"{x.sum():.1f}" == "10.0"
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x > 0)
    with pytest.raises(TypeError, match="0-d"):
        len(x.sum())
    with pytest.raises(TypeError, match="0-d"):
        iter(x.sum())


def test_dtypes_follow_pytorch():
    assert eager.tensor(1.5).dtype == sg.float32
    assert eager.tensor([1, 2]).dtype == sg.int64
    assert eager.tensor(np.arange(4.0)).dtype == sg.float64
    assert eager.arange(4).dtype == sg.int64 and eager.arange(4.0).dtype == sg.float32
    assert (eager.tensor(np.ones(2)) * 2.5).dtype == sg.float64
    assert (eager.arange(3.0) * 2).dtype == sg.float32
    assert repr(eager.tensor(np.ones(2))) == "tensor([1., 1.], dtype=float64)"
    assert eager.ones(2, 3).shape == eager.zeros((2, 3)).shape == eager.randn(size=(2, 3)).shape
    eager.manual_seed(7)
    first = eager.randn(3).numpy()
    eager.manual_seed(7)
    np.testing.assert_array_equal(eager.randn(3).numpy(), first)


def test_fill_and_full_make_eager_tensors():
    assert repr(eager.full((2,), 1.5)) == "tensor([1.5000, 1.5000])"
    assert eager.full(3, 7).dtype == sg.int64
    v = eager.tensor(2.0, requires_grad=True)
    filled = eager.fill((2, 3), v)
    assert isinstance(eager.fill((2,), 1.0), eager.Tensor) and filled.requires_grad
    filled.sum().backward()
    assert float(v.grad) == 6.0


def test_numpy_arrays_on_either_side_are_recorded():
    x = eager.arange(3.0, requires_grad=True)
    y = np.array([1.0, 2.0, 3.0]) * x
    # a float64 array with dims decides the dtype, as PyTorch promotes
    assert isinstance(y, eager.Tensor) and y.dtype == sg.float64
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    assert np.asarray(x.detach()).dtype == np.float32
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        np.asarray(x)  # __array__ refuses as PyTorch's does
    x.detach().numpy()[0] = 5.0  # numpy() shares the storage, as in PyTorch
    assert float(x[0]) == 5.0


# ----- in-place updates ----------------------------------------------------------------------
def test_in_place_updates_need_no_grad_for_tensors_that_require_grad():
    w = eager.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        w -= 0.1 * w.grad
    with eager.no_grad():
        w -= 0.25 * w.grad
    assert w.is_leaf and w.requires_grad and w.version == 1
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 1.0])


def test_backward_refuses_values_changed_in_place_since_recorded():
    x = eager.tensor([1.0, 2.0], requires_grad=True)
    scale = eager.tensor([3.0, 4.0])
    y = (x * scale).sum()
    scale += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


# ----- errors --------------------------------------------------------------------------------
def test_shape_errors_name_the_op_and_the_source_line():
    message = r"matmul: inner dims differ: \(3, 4\) @ \(5, 6\) at test_semantics\.py:\d+"
    with pytest.raises(InvalidArgumentError, match=message):
        eager.ones(3, 4) @ eager.ones(5, 6)


def test_static_only_ops_and_mixed_styles_are_refused():
    from staticgraph.ops.state import assign_
    with pytest.raises(GraphError, match="only in static graphs"):
        assign_(eager.ones(2), var="v", shape=(2,), dtype=sg.float32)
    with pytest.raises(GraphError, match="cannot mix eager tensors with static"):
        eager.ones(2) * sg.placeholder(sg.float32, (2,))


def test_kernel_failures_name_the_op():
    x = eager.tensor([1.0, -1.0])
    with np.errstate(invalid="ignore"), \
            pytest.raises(sg.errors.NumericsError, match="x has a NaN.*at test_semantics"):
        eager.check_numerics(eager.log(x), "x has a NaN")


def test_results_are_freed_without_the_cycle_collector():
    x = eager.arange(4.0, requires_grad=True)
    gc.disable()
    try:
        y = (x * x).sum()
        alive = weakref.ref(y)
        del y
        assert alive() is None, "a tensor and its node must not form a reference cycle"
    finally:
        gc.enable()
