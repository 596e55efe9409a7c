"""In-place updates of views autograd must record (PyTorch's CopySlices / AsStridedBackward0):
gradients equal the same computation written without in-place ops and finite differences."""
import numpy as np
import pytest

from staticgraph import eager


def _leaves(arrays):
    return [eager.tensor(a, requires_grad=True) for a in arrays]


def _numeric(f, arrays, eps=1e-6):
    """Central differences of scalar f(*tensors) with respect to each float64 array."""
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for j in np.ndindex(a.shape):
            hi, lo = [x.copy() for x in arrays], [x.copy() for x in arrays]
            hi[i][j] += eps
            lo[i][j] -= eps
            g[j] = (float(f(*_leaves(hi))) - float(f(*_leaves(lo)))) / (2 * eps)
        grads.append(g)
    return grads


def _analytic(f, arrays):
    leaves = _leaves(arrays)
    f(*leaves).backward()
    return [t.grad.numpy() for t in leaves]


def _check(f, reference, *arrays):
    """f's gradients (in place) equal reference's (out of place) and finite differences."""
    got = _analytic(f, arrays)
    for g, r, n in zip(got, _analytic(reference, arrays), _numeric(f, list(arrays))):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7)
    assert float(f(*_leaves(arrays))) == pytest.approx(float(reference(*_leaves(arrays))),
                                                       rel=1e-12)


RNG = np.random.default_rng(0)
X = RNG.normal(size=5)
M = RNG.normal(size=(2, 3))
W = RNG.normal(size=())


def test_slice_times_equals():
    def f(x):
        c = x * 1
        c[1:] *= 2
        return (c * c * x).sum()

    def ref(x):
        c = eager.cat([x[:1], x[1:] * 2])
        return (c * c * x).sum()

    _check(f, ref, X)


def test_add_into_a_selected_element_with_a_second_input():
    def f(x, w):
        c = x.sin()  # sin saves its input, so its output may change (exp's may not)
        v = c[0]
        v.add_(w * w)
        return (c.sum() * v).sin()

    def ref(x, w):
        c0 = x[0].sin() + w * w
        return ((c0 + x[1:].sin().sum()) * c0).sin()

    _check(f, ref, X, W)


def test_view_of_a_view_of_a_transposed_matrix():
    def f(m, w):
        c = m * m
        row = c.t()[1]
        row[0:1].mul_(w)
        row.add_(1.5)
        return (c * m).sum()

    def ref(m, w):
        col = (m * m)[:, 1]
        col = eager.stack([col[0] * w, col[1]]) + 1.5
        c = eager.stack([(m * m)[:, 0], col, (m * m)[:, 2]], dim=1)
        return (c * m).sum()

    _check(f, ref, M, W)


def test_views_used_after_their_base_changed_follow_the_new_history():
    def f(x):
        c = x * 1
        v = c[1:]
        c.mul_(3)  # v sees the new values, so its gradient must reach the new history
        return (v * v).sum() + c.sum()

    def ref(x):
        return ((3 * x[1:]) ** 2).sum() + (3 * x).sum()

    _check(f, ref, X)


def test_other_views_of_an_updated_view_s_base():
    def f(x, w):
        c = x.sin()
        head, tail = c[:2], c[2:]
        tail.mul_(w)
        return (head * tail[:2]).sum() + (c ** 2).sum()

    def ref(x, w):
        c = eager.cat([x[:2].sin(), x[2:].sin() * w])
        return (c[:2] * c[2:4]).sum() + (c ** 2).sum()

    _check(f, ref, X, W)


def test_base_without_grad_takes_the_history_of_the_value_written():
    w = eager.tensor(np.array([2.0, -1.0]), requires_grad=True)
    c = eager.zeros(4, dtype=eager.float64)
    c[1:3].add_(w * w)
    assert c.requires_grad and c.grad_fn.name() == "CopySlices"
    assert c.grad_fn.next_functions[0][0] is None
    assert c.grad_fn.next_functions[1][0].name() == "MulBackward0"
    (c * eager.tensor(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2 * 2 * 2.0, 3 * 2 * -1.0])


def test_grad_fn_names_and_edges_as_pytorch():
    x = eager.tensor(X, requires_grad=True)
    w = eager.tensor(W, requires_grad=True)
    c = x.clone()
    v = c[0]
    v.mul_(w)
    assert c.grad_fn.name() == "CopySlices"
    (old, _), (mul, _) = c.grad_fn.next_functions
    assert old.name() == "CloneBackward0" and mul.variable is w, \
        "CopySlices leads to the base's old grad_fn and to the update's other inputs"
    assert v.grad_fn.name() == "AsStridedBackward0"
    assert v.grad_fn.next_functions[0][0] is c.grad_fn
    assert not c.is_leaf and not v.is_leaf and v.version == c.version == 1


def test_update_of_a_view_of_a_leaf_is_refused():
    x = eager.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[1:].mul_(2)
    assert x.version == 0 and x.tolist() == X.tolist()
    with eager.no_grad():
        x[1:].mul_(2)  # not recorded: allowed, as in PyTorch
    np.testing.assert_allclose(x.detach().numpy()[1:], 2 * X[1:])


def test_view_made_under_no_grad_is_refused_an_update_recorded_outside():
    c = eager.tensor(X, requires_grad=True) * 1
    with eager.no_grad():
        v = c[1:]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(eager.tensor(2.0, requires_grad=True))


def test_a_value_backward_still_needs_changed_through_a_view():
    x = eager.tensor(X, requires_grad=True)
    c = x * 1
    y = c ** 3  # saves c
    c[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    e = x.exp()  # exp's vjp reads its output
    e[1:].add_(1)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward0, is at version 1"):
        e.sum().backward()


def test_second_derivative_through_copy_slices():
    def first(x):
        c = x * x
        c[1:3] *= x[0]
        (g,) = eager.autograd.grad(c.sum() ** 2, x, create_graph=True)
        return (g * g).sum()

    def ref(x):
        c = eager.cat([x[:1] * x[:1], x[1:3] * x[1:3] * x[0], x[3:] * x[3:]])
        (g,) = eager.autograd.grad(c.sum() ** 2, x, create_graph=True)
        return (g * g).sum()

    _check(first, ref, X)


def test_item_assignment_keeps_pytorch_edges():
    x = eager.tensor(X, requires_grad=True)
    w = eager.tensor(W, requires_grad=True)
    c = x * 2
    c[2] = w
    (old, _), (acc, _) = c.grad_fn.next_functions
    assert c.grad_fn.name() == "CopySlices" and old.name() == "MulBackward0" and acc.variable is w
    (c * c).sum().backward()
    expected = 8 * X
    expected[2] = 0
    np.testing.assert_allclose(x.grad.numpy(), expected)
    assert float(w.grad) == pytest.approx(2 * W)


def test_retain_grad_of_a_view_survives_its_base_being_updated():
    x = eager.ones(4, dtype=eager.float64, requires_grad=True)
    b = x * 2
    v = b[:2]
    v.retain_grad()
    b.mul_(3)
    assert v.grad_fn.name() == "AsStridedBackward0" and v.retains_grad
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [12.0, 12.0])  # 2 v, v = 6
    np.testing.assert_array_equal(x.grad.numpy(), [72.0, 72.0, 0.0, 0.0])  # 2 v * 3 * 2


def test_a_view_updated_again_after_an_update_whose_vjp_reads_its_result_raises_as_pytorch():
    import numpy as np
    from staticgraph import eager
    x = eager.tensor(np.cos(np.arange(3) * 1.7 + 0.3), dtype=eager.float64, requires_grad=True)
    t = x.abs()
    v = t[1:]
    v.exp_()        # exp's vjp reads its result, which now lives in v
    v.add_(1.0)     # ... and is changed here
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (v.sum() + t.sum()).backward()
