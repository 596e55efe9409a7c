"""tf.nn.conv2d / max_pool / avg_pool: values and gradients against PyTorch (layouts converted)
and finite differences in float64, second order, forward mode, vmap, and TF1's errors."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph.testing import gradcheck

RNG = np.random.default_rng(7)


def _same_pads(hw, k, strides, dilations):
    """TF1's SAME padding per dim: (before, after)."""
    pads = []
    for size, kk, s, d in zip(hw, k, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _torch_nchw(torch, x, pads, fill=0.0):
    t = torch.tensor(x).permute(0, 3, 1, 2)
    return torch.nn.functional.pad(t, (*pads[1], *pads[0]), value=fill)


CONV_CASES = [((1, 1), "VALID", (1, 1)), ((2, 2), "SAME", (1, 1)), ((2, 1), "SAME", (1, 1)),
              ((1, 1), "SAME", (2, 2)), ((1, 2), "VALID", (2, 1)), ((3, 3), "SAME", (1, 1))]


@pytest.mark.parametrize("strides, padding, dilations", CONV_CASES)
def test_conv2d_values_and_gradients_match_torch(strides, padding, dilations):
    torch = pytest.importorskip("torch")
    x_val, w_val = RNG.normal(size=(2, 7, 6, 3)), RNG.normal(size=(3, 2, 3, 4))
    x, w = tf.placeholder(tf.float64, [None, 7, 6, 3]), tf.placeholder(tf.float64, [3, 2, 3, 4])
    y = tf.nn.conv2d(x, w, strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1])
    weights = RNG.normal(size=tf.Session().run(y, {x: x_val, w: w_val}).shape)
    gx, gw = tf.gradients(tf.reduce_sum(y * weights), [x, w])
    got_y, got_gx, got_gw = tf.Session().run([y, gx, gw], {x: x_val, w: w_val})

    pads = _same_pads((7, 6), (3, 2), strides, dilations) if padding == "SAME" else [(0, 0)] * 2
    xt = torch.tensor(x_val, requires_grad=True)
    wt = torch.tensor(w_val, requires_grad=True)
    padded = torch.nn.functional.pad(xt.permute(0, 3, 1, 2), (*pads[1], *pads[0]))
    yt = torch.nn.functional.conv2d(padded, wt.permute(3, 2, 0, 1), stride=strides,
                                    dilation=dilations).permute(0, 2, 3, 1)
    (yt * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(got_y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got_gx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(got_gw, wt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pools_match_torch(padding):
    torch = pytest.importorskip("torch")
    x_val = RNG.normal(size=(2, 7, 5, 3))
    x = tf.placeholder(tf.float64, x_val.shape)
    ksize, strides = (3, 2), (2, 2)
    mx = tf.nn.max_pool(x, [1, *ksize, 1], [1, *strides, 1], padding)
    av = tf.nn.avg_pool(x, [1, *ksize, 1], [1, *strides, 1], padding)
    wm, wa = RNG.normal(size=mx.shape), RNG.normal(size=av.shape)
    gm, ga = tf.gradients(tf.reduce_sum(mx * wm), [x])[0], tf.gradients(tf.reduce_sum(av * wa), [x])[0]
    got = tf.Session().run([mx, av, gm, ga], {x: x_val})

    pads = _same_pads((7, 5), ksize, strides, (1, 1)) if padding == "SAME" else [(0, 0)] * 2
    xt = torch.tensor(x_val, requires_grad=True)
    nchw = xt.permute(0, 3, 1, 2)
    mt = torch.nn.functional.max_pool2d(
        torch.nn.functional.pad(nchw, (*pads[1], *pads[0]), value=-np.inf), ksize, strides)
    # TF1's SAME average counts only the elements inside the image.
    summed = torch.nn.functional.avg_pool2d(
        torch.nn.functional.pad(nchw, (*pads[1], *pads[0])), ksize, strides, divisor_override=1)
    inside = torch.nn.functional.avg_pool2d(
        torch.nn.functional.pad(torch.ones_like(nchw), (*pads[1], *pads[0])), ksize, strides,
        divisor_override=1)
    at = summed / inside
    mt, at = mt.permute(0, 2, 3, 1), at.permute(0, 2, 3, 1)
    gmt, = torch.autograd.grad((mt * torch.tensor(wm)).sum(), xt)
    gat, = torch.autograd.grad((at * torch.tensor(wa)).sum(), xt)
    for mine, theirs in zip(got, [mt, at, gmt, gat]):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), atol=1e-12)


def test_finite_differences_and_second_order():
    x, w = tf.placeholder(tf.float64, (1, 5, 4, 2)), tf.placeholder(tf.float64, (2, 3, 2, 2))
    feed = {x: RNG.normal(size=(1, 5, 4, 2)), w: RNG.normal(size=(2, 3, 2, 2))}
    y = tf.nn.conv2d(x, w, 2, "SAME", dilations=1)
    assert gradcheck(tf.reduce_sum(tf.sin(y)), [x, w], feed)
    gx, gw = tf.gradients(tf.reduce_sum(tf.sin(y)), [x, w])
    assert gradcheck(tf.reduce_sum(gx * gx) + tf.reduce_sum(tf.sin(gw)), [x, w], feed)
    pooled = tf.nn.avg_pool(tf.nn.conv2d(x, w, 1, "VALID") ** 2, 2, 1, "SAME")
    assert gradcheck(tf.reduce_sum(tf.nn.max_pool(pooled, 2, 2, "SAME")), [x, w], feed)
    (gp,) = tf.gradients(tf.reduce_sum(tf.nn.max_pool(tf.sin(x), 2, 1, "VALID") ** 2), [x])
    assert gradcheck(tf.reduce_sum(gp * x), [x], feed)


def test_forward_mode_agrees_with_reverse_mode():
    x_val, w_val = RNG.normal(size=(2, 5, 5, 2)), RNG.normal(size=(3, 3, 2, 3))
    u, v = RNG.normal(size=x_val.shape), RNG.normal(size=w_val.shape)
    x, w = tf.constant(x_val), tf.constant(w_val)
    y = tf.nn.max_pool(tf.nn.conv2d(x, w, 1, "SAME"), 2, 2, "SAME")
    y = y + tf.nn.avg_pool(tf.nn.conv2d(x, w, 2, "SAME"), 3, 1, "SAME")
    (tangent,) = tf.jvp([y], [x, w], [u, v])
    ct = RNG.normal(size=y.shape)
    gx, gw = tf.gradients(y, [x, w], grad_ys=ct)
    t, a, b = tf.Session().run([tangent, gx, gw])
    np.testing.assert_allclose((t * ct).sum(), (a * u).sum() + (b * v).sum(), rtol=1e-10)


def test_vmap_over_images_and_jacobians_of_the_filter():
    xs_val, w_val = RNG.normal(size=(3, 2, 5, 4, 2)), RNG.normal(size=(2, 2, 2, 3))
    w = tf.constant(w_val)
    # The batch size is known only when run: the images' batch joins their N dim.
    images = tf.placeholder(tf.float64, (None, 2, 5, 4, 2))
    batched = tf.vmap(lambda x: tf.nn.max_pool(tf.nn.conv2d(x, w, 1, "SAME"), 2, 2, "VALID"))(images)
    one = tf.placeholder(tf.float64, (2, 5, 4, 2))
    single = tf.nn.max_pool(tf.nn.conv2d(one, w, 1, "SAME"), 2, 2, "VALID")
    got = tf.Session().run(batched, {images: xs_val})
    for i in range(3):
        np.testing.assert_allclose(got[i], tf.Session().run(single, {one: xs_val[i]}), rtol=1e-12)
    filters = tf.placeholder(tf.float64, (None, 2, 2, 2, 3))
    per_filter = tf.vmap(lambda f: tf.nn.conv2d(one, f, 1, "SAME"))(filters)
    ws = RNG.normal(size=(2, 2, 2, 2, 3))
    got = tf.Session().run(per_filter, {filters: ws, one: xs_val[0]})
    for i in range(2):
        np.testing.assert_allclose(got[i], tf.Session().run(tf.nn.conv2d(one, ws[i], 1, "SAME"),
                                                            {one: xs_val[0]}), rtol=1e-12)
    # The Jacobian of a small conv in its filter, by forward and reverse mode and by differences.
    x = tf.constant(xs_val[0, :1, :3, :3])
    wp = tf.placeholder(tf.float64, (2, 2, 2, 3))
    y = tf.nn.conv2d(x, wp, 1, "SAME")
    fwd, rev = tf.Session().run([tf.jacobian(y, wp, mode="fwd"), tf.jacobian(y, wp, mode="rev")],
                                {wp: w_val})
    np.testing.assert_allclose(fwd, rev, atol=1e-12)
    eps, k = 1e-6, (1, 0, 1, 2)
    bumped = w_val.copy()
    bumped[k] += eps
    diff = (tf.Session().run(y, {wp: bumped}) - tf.Session().run(y, {wp: w_val})) / eps
    np.testing.assert_allclose(fwd[(...,) + k], diff, atol=1e-6)


def test_float32_and_tf1_argument_forms():
    x = tf.constant(RNG.normal(size=(1, 4, 4, 2)).astype(np.float32))
    w = tf.constant(RNG.normal(size=(2, 2, 2, 1)).astype(np.float32))
    y = tf.nn.conv2d(input=x, filters=w, strides=(2, 2), padding="same", name="c")
    assert y.dtype == tf.float32 and y.shape == (1, 2, 2, 1) and y.name == "c"
    assert tf.nn.max_pool(x, 2, 2, "VALID").shape == (1, 2, 2, 2)
    assert tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 1, 1, 1], "SAME").shape == (1, 4, 4, 2)
    p = tf.placeholder(tf.float32, [None, None, None, 2])
    assert tf.nn.conv2d(p, w, 1, "SAME").shape == (None, None, None, 1)


def test_errors_name_the_problem():
    x = tf.placeholder(tf.float32, (1, 4, 4, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="3 channels, the filter takes 2"):
        tf.nn.conv2d(x, tf.ones([2, 2, 2, 1]), 1, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.conv2d(x, tf.ones([2, 2, 3, 1]), 1, "FULL")
    with pytest.raises(tf.errors.UnimplementedError, match="NHWC"):
        tf.nn.max_pool(x, 2, 2, "SAME", data_format="NCHW")
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not fit"):
        tf.nn.max_pool(x, 5, 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="1 for the batch and channel"):
        tf.nn.avg_pool(x, [2, 2, 2, 1], 1, "SAME")
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be 4-D"):
        tf.nn.conv2d(tf.ones([4, 4, 3]), tf.ones([2, 2, 3, 1]), 1, "SAME")
