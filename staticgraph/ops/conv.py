"""2-D convolution and pooling over NHWC images: the ops under TF1's `tf.nn.conv2d`, `max_pool`
and `avg_pool` (`staticgraph.nn`).

Images are (batch, height, width, channels); a filter is (height, width, in_channels,
out_channels). Padding is TF1's: "VALID" uses only whole windows, "SAME" gives ceil(size /
stride) outputs per dim, padding the input with (total // 2) before and the rest after.
Kernels read every window at once as a strided view of the padded input (no copy) and reduce it
with one tensordot, max or sum.

A convolution is bilinear in image and filter, so its vjp and jvp are two more ops,
`conv2d_input_grad` and `conv2d_filter_grad`, each the transpose of the convolution in one
argument; the three ops' rules are written in terms of one another, so derivatives of any
order are again convolutions. Max pooling sends a cotangent to the first largest element of
each window (as TF1 and PyTorch); average pooling divides by the number of elements of the
window that lie inside the image (as TF1's "SAME").
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from staticgraph.ops.batching import apply_named, batch_size, materialize
from staticgraph.ops.registry import ShapeError, Spec, defop
from staticgraph.ops.shapes import fmt, require_float, same_dtype


# ----- window geometry ---------------------------------------------------------------------
class _Geometry(NamedTuple):
    out: tuple   # output height and width
    pads: tuple  # ((top, bottom), (left, right))


def _out_size(size: int | None, k: int, stride: int, dilation: int, padding: str) -> int | None:
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    span = (k - 1) * dilation + 1
    if size < span:
        raise ShapeError(f"a window of {span} does not fit in a dim of {size} with VALID padding")
    return (size - span) // stride + 1


def _geometry(hw, k, strides, dilations, padding) -> _Geometry:
    out, pads = [], []
    for size, kk, s, d in zip(hw, k, strides, dilations):
        o = _out_size(size, kk, s, d, padding)
        same = padding == "SAME" and o is not None
        total = max((o - 1) * s + (kk - 1) * d + 1 - size, 0) if same else 0
        out.append(o)
        pads.append((total // 2, total - total // 2))
    return _Geometry(tuple(out), tuple(pads))


def _windows(x: np.ndarray, k, strides, dilations, padding, fill=0.0):
    """Every window of x, as a read-only view (N, OH, OW, KH, KW, C) of x padded with `fill`."""
    g = _geometry(x.shape[1:3], k, strides, dilations, padding)
    if any(p for pair in g.pads for p in pair):
        x = np.pad(x, ((0, 0), *g.pads, (0, 0)), constant_values=fill)
    n, _, _, c = x.shape
    sn, sh, sw, sc = x.strides
    shape = (n, *g.out, *k, c)
    strides_ = (sn, sh * strides[0], sw * strides[1], sh * dilations[0], sw * dilations[1], sc)
    return as_strided(x, shape, strides_, writeable=False), g


def _scatter_windows(cols: np.ndarray, image_shape, k, strides, dilations, padding):
    """The transpose of `_windows`: add each window's values (N, OH, OW, KH, KW, C) back at the
    places of the image it was read from; the padding is cut off."""
    n, h, w, c = image_shape
    g = _geometry((h, w), k, strides, dilations, padding)
    (top, bottom), (left, right) = g.pads
    image = np.zeros((n, h + top + bottom, w + left + right, c), cols.dtype)
    oh, ow = g.out
    for i in range(k[0]):
        for j in range(k[1]):
            r, q = i * dilations[0], j * dilations[1]
            image[:, r:r + strides[0] * (oh - 1) + 1:strides[0],
                  q:q + strides[1] * (ow - 1) + 1:strides[1], :] += cols[:, :, :, i, j, :]
    return np.ascontiguousarray(image[:, top:top + h, left:left + w, :])


def _image_rule(x: Spec, what: str) -> tuple:
    if x.shape is None:
        return (None,) * 4
    if len(x.shape) != 4:
        raise ShapeError(f"{what} must be 4-D (batch, height, width, channels), got {fmt(x.shape)}")
    return x.shape


def _out_spec(x: Spec, k, channels, dtype, strides, dilations, padding) -> Spec:
    n, h, w, _ = _image_rule(x, "the input")
    g = _geometry((h, w), k, strides, dilations, padding)
    return Spec((n, *g.out, channels), dtype)


# ----- convolution -------------------------------------------------------------------------
# Each kernel is one matrix product of the windows laid out as rows, (N*OH*OW, KH*KW*C): the
# reshape of the strided view copies them once, in the order the product reads them.
def _rows(a: np.ndarray, lead: int) -> np.ndarray:
    return a.reshape(int(np.prod(a.shape[:lead])), -1)


def _conv_kernel(x, w, *, strides, padding, dilations):
    cols, _ = _windows(x, w.shape[:2], strides, dilations, padding)
    return (_rows(cols, 3) @ _rows(w, 3)).reshape(cols.shape[:3] + w.shape[3:])


def _input_grad_kernel(ct, w, like, *, strides, padding, dilations):
    cols = (_rows(ct, 3) @ _rows(w, 3).T).reshape(ct.shape[:3] + w.shape[:3])
    return _scatter_windows(cols, like.shape, w.shape[:2], strides, dilations, padding)


def _filter_grad_kernel(x, ct, like, *, strides, padding, dilations):
    cols, _ = _windows(x, like.shape[:2], strides, dilations, padding)
    return (_rows(cols, 3).T @ _rows(ct, 3)).reshape(cols.shape[3:] + ct.shape[3:])


def _filter_rule(w: Spec) -> tuple:
    if w.shape is None:
        return (None,) * 4
    if len(w.shape) != 4:
        raise ShapeError(f"the filter must be 4-D (height, width, in, out), got {fmt(w.shape)}")
    return w.shape


def _conv_rule(x: Spec, w: Spec, *, strides, padding, dilations):
    require_float(x, w)
    dtype = same_dtype(x, w)
    kh, kw, c_in, c_out = _filter_rule(w)
    c = _image_rule(x, "the input")[3]
    if None not in (c, c_in) and c != c_in:
        raise ShapeError(f"the input has {c} channels, the filter takes {c_in}: "
                         f"{fmt(x.shape)} vs filter {fmt(w.shape)}")
    if None in (kh, kw):
        n, _, _, _ = _image_rule(x, "the input")
        return Spec((n, None, None, c_out), dtype)
    return _out_spec(x, (kh, kw), c_out, dtype, strides, dilations, padding)


def _input_grad_rule(ct: Spec, w: Spec, like: Spec, **_):
    require_float(ct, w)
    return Spec(_image_rule(like, "the image"), same_dtype(ct, w))


def _filter_grad_rule(x: Spec, ct: Spec, like: Spec, **_):
    require_float(x, ct)
    kh, kw, _, _ = _filter_rule(like)
    return Spec((kh, kw, _image_rule(x, "the input")[3], _image_rule(ct, "the cotangent")[3]),
                same_dtype(x, ct))


def _sum_tangents(*terms):
    terms = [t for t in terms if t is not None]
    return None if not terms else terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _known(values, dims) -> bool:
    """Whether every example dim is known (a batch dim may be known only at run time)."""
    return all(v.shape is not None and None not in tuple(v.shape)[d is not None:]
               for v, d in zip(values, dims))


def _per_example(op: str, values, dims, attrs):
    """The batching rule every case falls back on: the op applied to each example, stacked
    (the graph grows with the batch size, which must be known)."""
    outs = []
    for b in range(batch_size(op)):
        args = [v if d is None else apply_named("getitem", v, key=(b,)) for v, d in zip(values, dims)]
        outs.append(apply_named(op, *args, **attrs))
    return apply_named("stack", *outs, axis=0), 0


def _into_n(op: str, images: tuple):
    """The batching rule of an op batched only in its image-like inputs (`images`): the batch
    merges into their N dim, one op for the whole batch; other cases go example by example."""
    def rule(values, dims, **attrs):
        if any(d is not None for i, d in enumerate(dims) if i not in images) or \
                not _known(values, dims):
            return _per_example(op, values, dims, attrs)
        folded = list(values)
        for i in images:
            x = materialize(values[i], dims[i], op)
            folded[i] = apply_named("reshape", x, shape=(-1,) + tuple(x.shape[2:]))
        y = apply_named(op, *folded, **attrs)
        n = values[images[0]].shape[dims[images[0]] is not None]  # one example's N
        return apply_named("reshape", y, shape=(-1, n) + tuple(y.shape[1:])), 0
    return rule


def _into_out_channels(op: str, at: int):
    """The batching rule of conv2d batched in its filter, or conv2d_filter_grad in its
    cotangent (input `at`) only: the batch joins that input's out-channels (its last dim) and
    is split off the result's; other cases go through `_into_n` (conv2d) or example by example."""
    fallback = _into_n(op, (0,)) if op == "conv2d" else None

    def rule(values, dims, **attrs):
        only_at = all((d is not None) == (i == at) for i, d in enumerate(dims))
        if not only_at or not _known(values, dims):
            return fallback(values, dims, **attrs) if fallback else _per_example(op, values, dims, attrs)
        x = values[at]
        rank = len(x.shape)
        moved = apply_named("transpose", x, axes=tuple(range(1, rank - 1)) + (0, rank - 1))
        inputs = list(values)
        inputs[at] = apply_named("reshape", moved, shape=tuple(x.shape[1:-1]) + (-1,))
        y = apply_named(op, *inputs, **attrs)
        r = len(y.shape)
        split = apply_named("reshape", y, shape=tuple(y.shape[:-1]) + (-1, x.shape[-1]))
        return apply_named("transpose", split, axes=(r - 1, *range(r - 1), r)), 0
    return rule


conv2d_ = defop(
    "conv2d", kernel=_conv_kernel, shape_rule=_conv_rule, traits={"foldable"},
    vjp=lambda ct, x, w, out, **a: [input_grad_(ct, w, x, **a), filter_grad_(x, ct, w, **a)],
    jvp=lambda t, x, w, out, **a: _sum_tangents(
        None if t[0] is None else conv2d_(t[0], w, **a),
        None if t[1] is None else conv2d_(x, t[1], **a)),
    batch=_into_out_channels("conv2d", 1),
    doc="2-D convolution (cross-correlation, as TF1) of NHWC images with an HWIO filter.")

# <g, input_grad(ct, w)> = <conv2d(g, w), ct>: so d/dct = conv2d(g, w), d/dw = filter_grad(g, ct).
input_grad_ = defop(
    "conv2d_input_grad", kernel=_input_grad_kernel, shape_rule=_input_grad_rule,
    traits={"foldable"},
    vjp=lambda g, ct, w, like, out, **a: [conv2d_(g, w, **a), filter_grad_(g, ct, w, **a), None],
    jvp=lambda t, ct, w, like, out, **a: _sum_tangents(
        None if t[0] is None else input_grad_(t[0], w, like, **a),
        None if t[1] is None else input_grad_(ct, t[1], like, **a)),
    batch=_into_n("conv2d_input_grad", (0, 2)),
    doc="The transpose of conv2d in its image: a cotangent of its output back to `like`'s shape.")

# <h, filter_grad(x, ct)> = <conv2d(x, h), ct>: so d/dx = input_grad(ct, h), d/dct = conv2d(x, h).
filter_grad_ = defop(
    "conv2d_filter_grad", kernel=_filter_grad_kernel, shape_rule=_filter_grad_rule,
    traits={"foldable"},
    vjp=lambda h, x, ct, like, out, **a: [input_grad_(ct, h, x, **a), conv2d_(x, h, **a), None],
    jvp=lambda t, x, ct, like, out, **a: _sum_tangents(
        None if t[0] is None else filter_grad_(t[0], ct, like, **a),
        None if t[1] is None else filter_grad_(x, t[1], like, **a)),
    batch=_into_out_channels("conv2d_filter_grad", 1),
    doc="The transpose of conv2d in its filter: a cotangent of its output back to a filter "
        "of `like`'s height and width.")


# ----- pooling -----------------------------------------------------------------------------
def _first_max(x, *, ksize, strides, padding):
    """The position within its window (0 .. KH*KW-1) of each window's first largest element."""
    windows, g = _windows(x, ksize, strides, (1, 1), padding, fill=-np.inf)
    n, oh, ow, kh, kw, c = windows.shape
    flat = windows.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, kh * kw)
    return flat.argmax(axis=-1)


def _max_pool_kernel(x, *, ksize, strides, padding):
    windows, _ = _windows(x, ksize, strides, (1, 1), padding, fill=-np.inf)
    return windows.max(axis=(3, 4))


def _max_pool_grad_kernel(ct, x, *, ksize, strides, padding):
    where = _first_max(x, ksize=ksize, strides=strides, padding=padding)
    cols = np.zeros(ct.shape[:3] + tuple(ksize) + ct.shape[3:], ct.dtype)
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            cols[:, :, :, i, j, :] = np.where(where == i * ksize[1] + j, ct, 0)
    return _scatter_windows(cols, x.shape, ksize, strides, (1, 1), padding)


def _max_pool_select_kernel(g, x, *, ksize, strides, padding):
    where = _first_max(x, ksize=ksize, strides=strides, padding=padding)
    windows, _ = _windows(g, ksize, strides, (1, 1), padding)
    n, oh, ow, kh, kw, c = windows.shape
    flat = windows.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, kh * kw)
    return np.take_along_axis(flat, where[..., None], axis=-1)[..., 0]


def _pool_rule(x: Spec, *more: Spec, ksize, strides, padding):
    require_float(x, *more)
    dtype = same_dtype(x, *more)
    return _out_spec(x, ksize, _image_rule(x, "the input")[3], dtype, strides, (1, 1), padding)


def _like_rule(ct: Spec, x: Spec, **_):
    require_float(ct, x)
    return Spec(_image_rule(x, "the image"), same_dtype(ct, x))


def _select_rule(g: Spec, x: Spec, **attrs):
    return _pool_rule(x, g, **attrs)


max_pool_ = defop(
    "max_pool", kernel=_max_pool_kernel, shape_rule=_pool_rule, traits={"foldable"},
    vjp=lambda ct, x, out, **a: [max_pool_grad_(ct, x, **a)],
    jvp=lambda t, x, out, **a: None if t[0] is None else max_pool_select_(t[0], x, **a),
    batch=_into_n("max_pool", (0,)),
    doc="The largest element of each window, per channel.")

# Linear in ct; piecewise constant in x (which only says where each window's maximum is).
max_pool_grad_ = defop(
    "max_pool_grad", kernel=_max_pool_grad_kernel, shape_rule=_like_rule, traits={"foldable"},
    vjp=lambda g, ct, x, out, **a: [max_pool_select_(g, x, **a), None],
    jvp=lambda t, ct, x, out, **a: None if t[0] is None else max_pool_grad_(t[0], x, **a),
    batch=_into_n("max_pool_grad", (0, 1)),
    doc="max_pool's cotangent, sent to the first largest element of each window of x.")

max_pool_select_ = defop(
    "max_pool_select", kernel=_max_pool_select_kernel, shape_rule=_select_rule,
    traits={"foldable"},
    vjp=lambda ct, g, x, out, **a: [max_pool_grad_(ct, x, **a), None],
    jvp=lambda t, g, x, out, **a: None if t[0] is None else max_pool_select_(t[0], x, **a),
    batch=_into_n("max_pool_select", (0, 1)),
    doc="g at the first largest element of each window of x (max_pool's tangent).")


def _counts(shape, ksize, strides, padding, dtype):
    """How many elements of each window lie inside an image of `shape` (N, H, W, C)."""
    ones = np.ones((1, shape[1], shape[2], 1), dtype)
    windows, _ = _windows(ones, ksize, strides, (1, 1), padding)
    return windows.sum(axis=(3, 4))


def _avg_pool_kernel(x, *, ksize, strides, padding):
    windows, _ = _windows(x, ksize, strides, (1, 1), padding)
    return windows.sum(axis=(3, 4)) / _counts(x.shape, ksize, strides, padding, x.dtype)


def _avg_pool_grad_kernel(ct, like, *, ksize, strides, padding):
    share = ct / _counts(like.shape, ksize, strides, padding, ct.dtype)
    cols = np.broadcast_to(share[:, :, :, None, None, :],
                           ct.shape[:3] + tuple(ksize) + ct.shape[3:])
    return _scatter_windows(cols, like.shape, ksize, strides, (1, 1), padding)


avg_pool_ = defop(
    "avg_pool", kernel=_avg_pool_kernel, shape_rule=_pool_rule, traits={"foldable"},
    vjp=lambda ct, x, out, **a: [avg_pool_grad_(ct, x, **a)],
    jvp=lambda t, x, out, **a: None if t[0] is None else avg_pool_(t[0], **a),
    batch=_into_n("avg_pool", (0,)),
    doc="The mean of each window's elements inside the image, per channel.")

# avg_pool is linear, so its transpose's transpose is itself.
avg_pool_grad_ = defop(
    "avg_pool_grad", kernel=_avg_pool_grad_kernel, shape_rule=_like_rule, traits={"foldable"},
    vjp=lambda g, ct, like, out, **a: [avg_pool_(g, **a), None],
    jvp=lambda t, ct, like, out, **a: None if t[0] is None else avg_pool_grad_(t[0], like, **a),
    batch=_into_n("avg_pool_grad", (0, 1)),
    doc="avg_pool's cotangent, shared among the elements of each window (like's shape).")


__all__ = ["conv2d_", "input_grad_", "filter_grad_", "max_pool_", "max_pool_grad_",
           "max_pool_select_", "avg_pool_", "avg_pool_grad_"]
