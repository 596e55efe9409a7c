"""log_softmax, the cross-entropy ops and relu_grad: closed-form gradients, exactness off the
simplex, stability over any axis, errors."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager, errors
from tests.op_table import _log_softmax, _softmax


def test_cross_entropy_gradient_is_the_closed_form_also_for_labels_off_the_simplex(rng):
    """d/dz = ct (softmax(z) sum(labels) - labels), d/dlabels = -ct log_softmax(z): exact for
    labels that do not sum to 1 (checked by finite differences in float64)."""
    labels = sg.placeholder(sg.float64, (3, 4), name="labels")
    logits = sg.placeholder(sg.float64, (3, 4), name="logits")
    loss = sg.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    weights = rng.uniform(0.5, 1.5, size=3)
    y = sg.sum(loss * weights)
    dlabels, dlogits = sg.gradients(y, [labels, logits])
    lv, zv = rng.uniform(0.1, 2.0, size=(3, 4)), rng.normal(size=(3, 4)) * 3
    got = sg.Session().run([loss, dlabels, dlogits], {labels: lv, logits: zv})
    np.testing.assert_allclose(got[0], -(lv * _log_softmax(zv)).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(got[1], -weights[:, None] * _log_softmax(zv), rtol=1e-12)
    slope = _softmax(zv) * lv.sum(-1, keepdims=True) - lv
    np.testing.assert_allclose(got[2], weights[:, None] * slope, rtol=1e-10, atol=1e-12)
    sg.testing.gradcheck(y, [labels, logits], {labels: lv, logits: zv})


def test_cross_entropy_over_another_axis_with_broadcast_labels(rng):
    labels = sg.placeholder(sg.float64, (3, 1), name="labels")
    logits = sg.placeholder(sg.float64, (3, 5), name="logits")
    loss = sg.softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=0)
    assert loss.shape == (5,)
    lv, zv = rng.uniform(0.1, 1.0, size=(3, 1)), rng.normal(size=(3, 5))
    np.testing.assert_allclose(sg.Session().run(loss, {labels: lv, logits: zv}),
                               -(lv * _log_softmax(zv, 0)).sum(0), rtol=1e-12)
    sg.testing.gradcheck(sg.sum(loss * np.arange(1.0, 6.0)), [labels, logits],
                         {labels: lv, logits: zv})


def test_sparse_cross_entropy_hessian_is_diag_p_minus_p_pt(rng):
    logits = sg.placeholder(sg.float64, (5,), name="logits")
    loss = sg.sparse_softmax_cross_entropy_with_logits(labels=3, logits=logits)
    zv = rng.normal(size=5)
    p = _softmax(zv)
    hessian = sg.Session().run(sg.hessian(loss, logits), {logits: zv})
    np.testing.assert_allclose(hessian, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-12)


def test_sparse_cross_entropy_rejects_labels_out_of_range():
    logits = sg.placeholder(sg.float32, (2, 3), name="logits")
    labels = sg.placeholder(sg.int64, (2,), name="labels")
    loss = sg.sparse_softmax_cross_entropy_with_logits(labels, logits, name="xent")
    with pytest.raises(errors.InvalidArgumentError, match=r"(?s)\[0, 3\).*'xent'"):
        sg.Session().run(loss, {logits: np.zeros((2, 3)), labels: [0, 3]})
    with pytest.raises(errors.InvalidArgumentError, match="without its last dim"):
        sg.sparse_softmax_cross_entropy_with_logits(labels, sg.placeholder(sg.float32, (3, 3)))
    with pytest.raises(errors.InvalidArgumentError, match="must be known"):
        sg.sparse_softmax_cross_entropy_with_logits(labels, sg.placeholder(sg.float32, (2, None)))


def test_losses_agree_between_eager_and_static(rng):
    zv, lv = rng.normal(size=(4, 3)), np.array([2, 0, 1, 1])
    z = eager.tensor(zv, requires_grad=True)
    eager.mean(eager.sparse_softmax_cross_entropy_with_logits(lv, z)).backward()
    logits = sg.placeholder(sg.float64, (4, 3), name="logits")
    loss = sg.mean(sg.sparse_softmax_cross_entropy_with_logits(lv, logits))
    (dz,) = sg.gradients(loss, [logits])
    np.testing.assert_allclose(z.grad.numpy(), sg.Session().run(dz, {logits: zv}), rtol=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), (_softmax(zv) - np.eye(3)[lv]) / 4, rtol=1e-12)


@pytest.mark.parametrize("convention,slope", [("zero", [0, 0, 1]), ("half", [0, 0.5, 1])])
def test_relu_grad_is_linear_in_its_cotangent_and_keeps_its_convention(convention, slope):
    x = sg.placeholder(sg.float64, (3,), name="x")
    v = sg.placeholder(sg.float64, (3,), name="v")
    with sg.kink_convention(convention):
        (dx,) = sg.gradients(sg.relu(x), [x], grad_ys=v)
    (dv,) = sg.gradients(sg.sum(dx * np.array([1.0, 2.0, 3.0])), [v])
    feed = {x: np.array([-1.0, 0.0, 2.0]), v: np.array([5.0, 6.0, 7.0])}
    got_dx, got_dv = sg.Session().run([dx, dv], feed)
    np.testing.assert_array_equal(got_dx, np.array(slope) * [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(got_dv, np.array(slope) * [1.0, 2.0, 3.0])


def test_relu_grad_kernel_may_write_over_its_input():
    kernel = sg.ops.REGISTRY["relu_grad"].kernel
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(kernel(np.full(3, 4.0), x, at_zero=0.5, out=x), [0.0, 2.0, 4.0])


def test_docstring_examples():
    import doctest
    from staticgraph.ops import nn
    result = doctest.testmod(nn)
    assert result.attempted > 0 and result.failed == 0


def test_forward_and_backward_share_one_log_softmax():
    labels = sg.placeholder(sg.float32, (8, 5), name="labels")
    logits = sg.placeholder(sg.float32, (8, 5), name="logits")
    loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    (dz,) = sg.gradients(loss, [logits])
    exe = sg.compile([loss, dz])
    ops = [exe.graph.node(name)["op"] for name in exe.schedule]
    assert ops.count("log_softmax") == 1 and ops.count("exp") == 1 and "max" not in ops


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_over_any_axis_is_stable(axis, rng):
    z = rng.normal(size=(3, 4, 5)) * 300.0  # exp would overflow without the shift
    got = sg.Session().run(sg.log_softmax(sg.constant(z), axis=axis))
    np.testing.assert_allclose(got, _log_softmax(z, axis), rtol=1e-12, atol=1e-9)
    assert got.flags.c_contiguous

def test_relu_grad_against_finite_differences_and_its_jvp():
    """relu_grad's own vjp and jvp (what second order through relu uses), checked in float64."""
    x = sg.placeholder(sg.float64, (4,), name="x")
    v = sg.placeholder(sg.float64, (4,), name="v")
    (dx,) = sg.gradients(sg.relu(x), [x], grad_ys=v)
    feed = {x: np.array([-1.3, 0.4, 2.0, -0.2]), v: np.array([0.5, -1.0, 2.5, 3.0])}
    sg.testing.gradcheck(dx, [x, v], feed)
    u = np.array([1.0, 2.0, -1.0, 4.0])
    (tangent,) = sg.jvp(dx, [v], [u])
    np.testing.assert_array_equal(sg.Session().run(tangent, feed), (feed[x] > 0) * u)
