"""One row per op: how to build it, a numpy reference, input shapes and a domain.

The generic tests in test_ops.py run every row; a meta-test checks every registered op is
reached by some row's forward or gradient graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import staticgraph as sg


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


@dataclass
class Row:
    name: str
    build: Callable
    ref: Callable
    cases: list                 # each case: a list of input shapes
    domain: str = "any"         # any | positive | nonzero (away from kinks and poles)
    differentiable: bool = True
    smooth: bool = True         # second order checked
    float_only: bool = True
    tags: set = field(default_factory=set)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        if self.domain == "positive":
            return rng.uniform(0.5, 2.0, size=shape)
        if self.domain == "nonzero":
            return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape)
        return rng.uniform(-2.0, 2.0, size=shape)


def _windows_ref(x, k, strides, padding, fill=0.0):
    """Naive NHWC windows (N, OH, OW, KH, KW, C), TF1's SAME / VALID padding."""
    pads = []
    for size, kk, s in zip(x.shape[1:3], k, strides):
        out = -(-size // s) if padding == "SAME" else (size - kk) // s + 1
        total = max((out - 1) * s + kk - size, 0)
        pads.append((total // 2, total - total // 2, out))
    xp = np.pad(x, ((0, 0), pads[0][:2], pads[1][:2], (0, 0)), constant_values=fill)
    return np.array([[[xp[:, i * strides[0]:i * strides[0] + k[0], j * strides[1]:j * strides[1] + k[1], :]
                       for j in range(pads[1][2])] for i in range(pads[0][2])]]).transpose(3, 1, 2, 4, 5, 6, 0)[..., 0]


def _conv_ref(x, w, strides, padding):
    return np.einsum("nhwijc,ijco->nhwo", _windows_ref(x, w.shape[:2], strides, padding), w)


def _max_pool_select_ref(g, x):
    """g at the largest element of each 2x2 window of x (max_pool's tangent along g)."""
    windows = _windows_ref(x, (2, 2), (2, 2), "VALID").reshape(x.shape[0], 2, 2, 4, x.shape[3])
    where = windows.argmax(axis=3)[:, :, :, None, :]
    picked = _windows_ref(g, (2, 2), (2, 2), "VALID").reshape(windows.shape)
    return np.take_along_axis(picked, where, axis=3)[:, :, :, 0, :]


def _avg_pool_ref(x, k, strides):
    inside = _windows_ref(np.ones_like(x), k, strides, "SAME").sum(axis=(3, 4))
    return _windows_ref(x, k, strides, "SAME").sum(axis=(3, 4)) / inside


BINARY_CASES = [[(3,), (3,)], [(2, 3), (3,)], [(2, 1), (1, 3)], [(), (2, 2)], [(2, 2), ()]]
UNARY_CASES = [[()], [(4,)], [(2, 3)]]
MASK = np.array([[True, False, True], [False, True, True]])
IDX = np.array([2, 0, 2, 1])

ROWS = [
    Row("add", lambda x, y: x + y, np.add, BINARY_CASES),
    Row("subtract", lambda x, y: x - y, np.subtract, BINARY_CASES),
    Row("multiply", lambda x, y: x * y, np.multiply, BINARY_CASES),
    Row("divide", lambda x, y: x / y, np.divide, BINARY_CASES, domain="nonzero"),
    Row("negative", lambda x: -x, np.negative, UNARY_CASES),
    Row("power", lambda x, y: x ** y, np.power, [[(3,), (3,)], [(2, 3), ()]], domain="positive"),
    Row("power_int_exponent", lambda x: x ** 3, lambda x: x ** 3, UNARY_CASES),
    Row("square", sg.square, np.square, UNARY_CASES),
    Row("sqrt", sg.sqrt, np.sqrt, UNARY_CASES, domain="positive"),
    Row("exp", sg.exp, np.exp, UNARY_CASES),
    Row("log", sg.log, np.log, UNARY_CASES, domain="positive"),
    Row("sin", sg.sin, np.sin, UNARY_CASES),
    Row("cos", sg.cos, np.cos, UNARY_CASES),
    Row("tanh", sg.tanh, np.tanh, UNARY_CASES),
    Row("sigmoid", sg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), UNARY_CASES),
    Row("relu", sg.relu, lambda x: np.maximum(x, 0), UNARY_CASES, domain="nonzero", smooth=False),
    Row("abs", sg.abs, np.abs, UNARY_CASES, domain="nonzero", smooth=False),
    Row("sign", lambda x: sg.sign(x) * x, lambda x: np.sign(x) * x, UNARY_CASES, domain="nonzero",
        smooth=False),
    Row("floormod", lambda x, y: x % y, np.remainder, BINARY_CASES, domain="nonzero"),
    Row("floor_divide_truncatemod", lambda x, y: x // y + sg.truncatemod(x, y),
        lambda x, y: x // y + np.fmod(x, y), BINARY_CASES, domain="nonzero", differentiable=False),
    Row("maximum", sg.maximum, np.maximum, BINARY_CASES, smooth=False),
    Row("minimum", sg.minimum, np.minimum, BINARY_CASES, smooth=False),
    Row("where", lambda x, y: sg.where(sg.constant(MASK), x * y, y), lambda x, y: np.where(MASK, x * y, y),
        [[(2, 3), (2, 3)], [(3,), (2, 1)]]),
    Row("where_on_values", lambda x: sg.where(x > 0, x, x * x), lambda x: np.where(x > 0, x, x * x),
        [[(5,)]], domain="nonzero", smooth=False),
    Row("add_n", lambda a, b, c: sg.add_n([a, b, c]), lambda a, b, c: a + b + c,
        [[(3,), (3,), (3,)], [(2, 3), (3,), ()]]),
    Row("cast", lambda x: sg.cast(x, x.dtype) * x, lambda x: x * x, UNARY_CASES),
    Row("cast_to_int", lambda x: sg.cast(sg.cast(x, sg.int64), x.dtype), lambda x: x.astype(np.int64).astype(float),
        [[(4,)]], domain="nonzero", differentiable=False),
    Row("compare", lambda x, y: sg.cast(sg.logical_and(x < y, sg.logical_not(sg.equal(x, y))), x.dtype)
        + sg.cast(sg.logical_or(x >= y, sg.logical_xor(x <= y, x > y)), x.dtype)
        + sg.cast(sg.not_equal(x, y), x.dtype),
        lambda x, y: ((x < y) & ~(x == y)).astype(float) + ((x >= y) | ((x <= y) ^ (x > y))).astype(float)
        + (x != y).astype(float), [[(3,), (3,)]], differentiable=False),
    Row("matmul", lambda a, b: a @ b, np.matmul,
        [[(2, 3), (3, 4)], [(3,), (3, 4)], [(2, 3), (3,)], [(3,), (3,)], [(2, 2, 3), (3, 4)],
         [(2, 1, 2, 3), (5, 3, 2)]]),
    Row("dot", sg.dot, np.dot, [[(4,), (4,)]]),
    Row("sum", lambda x: sg.sum(x), np.sum, UNARY_CASES),
    Row("sum_axis", lambda x: sg.sum(x, axis=(0, 2)), lambda x: x.sum(axis=(0, 2)), [[(2, 3, 4)]]),
    Row("sum_keepdims", lambda x: x.sum(axis=-1, keepdims=True), lambda x: x.sum(-1, keepdims=True), [[(2, 3)]]),
    Row("mean", lambda x: sg.mean(x, axis=1), lambda x: x.mean(axis=1), [[(2, 3)], [(2, 1, 4)]]),
    Row("max", lambda x: sg.max(x, axis=0), lambda x: x.max(axis=0), [[(3, 4)], [(5,)]], smooth=False),
    Row("max_keepdims", lambda x: sg.max(x, axis=1, keepdims=True), lambda x: x.max(1, keepdims=True),
        [[(3, 4)]], smooth=False),
    Row("min", lambda x: sg.min(x), lambda x: x.min(), [[(3, 4)]], smooth=False),
    Row("norm", lambda x: sg.norm(x), np.linalg.norm, [[(4,)], [(2, 3)]]),
    Row("norm_axis", lambda x: sg.norm(x, axis=1), lambda x: np.linalg.norm(x, axis=1), [[(2, 3)]]),
    Row("argmax", lambda x: sg.cast(sg.argmax(x, 1) + sg.argmin(x, 0), x.dtype),
        lambda x: (x.argmax(1) + x.argmin(0)[:3]).astype(float), [[(3, 3)]], differentiable=False),
    Row("reshape", lambda x: sg.reshape(x, (3, -1)) * 2, lambda x: x.reshape(3, -1) * 2, [[(2, 3)], [(6,)]]),
    Row("transpose", lambda x: sg.transpose(x, (1, 2, 0)), lambda x: x.transpose(1, 2, 0), [[(2, 3, 4)]]),
    Row("transpose_T", lambda x: x.T, lambda x: x.T, [[(2, 3)]]),
    Row("broadcast_to", lambda x: sg.broadcast_to(x, (2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)),
        [[(3, 1)], [(4,)]]),
    Row("expand_dims", lambda x: sg.expand_dims(x, (0, -1)), lambda x: x[None, ..., None], [[(3,)]]),
    Row("squeeze", lambda x: sg.squeeze(x, 1), lambda x: x.squeeze(1), [[(3, 1, 2)]]),
    Row("concat", lambda a, b: sg.concat([a, b, a], axis=1), lambda a, b: np.concatenate([a, b, a], 1),
        [[(2, 3), (2, 1)]]),
    Row("stack", lambda a, b: sg.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), [[(2, 3), (2, 3)]]),
    Row("getitem", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [[(3, 5)]]),
    Row("getitem_int", lambda x: x[1] * x[:, None, 0], lambda x: x[1] * x[:, None, 0], [[(3, 3)]]),
    Row("getitem_advanced", lambda x: x[[0, 2, 2]], lambda x: x[[0, 2, 2]], [[(3, 2)]]),
    Row("getitem_steps", lambda x: x[::-2, -3:5:2] * x[-1:, 10::-3][:, :2], lambda x: x[::-2, -3:5:2] * x[-1:, 10::-3][:, :2],
        [[(5, 4)]]),
    Row("getitem_mask", lambda x: x[MASK], lambda x: x[MASK], [[(2, 3)]]),
    Row("gather", lambda x: sg.gather(x, sg.constant(IDX), axis=1), lambda x: np.take(x, IDX, axis=1),
        [[(2, 3)]]),
    Row("gather_list", lambda x: sg.gather(x, [1, 1, 0]), lambda x: x[[1, 1, 0]], [[(3, 2)]]),
    Row("one_hot", lambda x: sg.one_hot(sg.constant(IDX), 3, dtype=x.dtype) * x,
        lambda x: np.eye(3)[IDX] * x, [[(4, 3)]]),
    Row("conv2d", lambda x, w: sg.nn.conv2d(x, w, strides=[1, 2, 1, 1], padding="SAME"),
        lambda x, w: _conv_ref(x, w, (2, 1), "SAME"), [[(2, 5, 4, 3), (3, 2, 3, 2)]]),
    Row("conv2d_valid", lambda x, w: sg.nn.conv2d(x, w, strides=1, padding="VALID"),
        lambda x, w: _conv_ref(x, w, (1, 1), "VALID"), [[(1, 4, 5, 2), (2, 3, 2, 3)]]),
    Row("max_pool", lambda x: sg.nn.max_pool(x, [1, 2, 3, 1], [1, 2, 2, 1], "SAME"),
        lambda x: _windows_ref(x, (2, 3), (2, 2), "SAME", -np.inf).max(axis=(3, 4)),
        [[(2, 5, 4, 3)]], smooth=False),
    Row("max_pool_select", lambda g, x: sg.ops.conv.max_pool_select_(
        g, x, ksize=(2, 2), strides=(2, 2), padding="VALID"), _max_pool_select_ref, [[(1, 4, 4, 2), (1, 4, 4, 2)]],
        smooth=False),
    Row("avg_pool", lambda x: sg.nn.avg_pool(x, 3, 2, "SAME"), lambda x: _avg_pool_ref(x, (3, 3), (2, 2)),
        [[(2, 5, 4, 3)]]),
    Row("softmax", lambda x: sg.softmax(x), _softmax, [[(2, 4)], [(3,)]]),
    Row("log_softmax", lambda x: sg.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0), [[(3, 2)]]),
    Row("softmax_cross_entropy", lambda l, z: sg.softmax_cross_entropy_with_logits(labels=sg.softmax(l), logits=z),
        lambda l, z: -(_softmax(l) * _log_softmax(z)).sum(-1), [[(2, 4), (2, 4)]]),
    Row("sparse_softmax_cross_entropy",
        lambda z: sg.sparse_softmax_cross_entropy_with_logits(labels=sg.constant(IDX), logits=z),
        lambda z: -_log_softmax(z)[np.arange(4), IDX], [[(4, 3)]]),
    Row("zeros_like", lambda x: x * sg.ones_like(x) + sg.zeros_like(x), lambda x: x, UNARY_CASES),
    Row("fill", lambda x: sg.fill((2, 3), x) * sg.ones((2, 3), x.dtype) + sg.zeros((3,), x.dtype),
        lambda x: np.full((2, 3), x), [[()]]),
    Row("identity", lambda x: sg.identity(x) * x, lambda x: x * x, UNARY_CASES),
    Row("stop_gradient", lambda x: sg.stop_gradient(x * x) * x, lambda x: x ** 3, UNARY_CASES,
        tags={"stops"}),
    Row("cond", lambda x, y: sg.cond(sg.sum(x) > 0, lambda: x * y, lambda: sg.sin(x) + y),
        lambda x, y: x * y if x.sum() > 0 else np.sin(x) + y, [[(3,), (3,)], [(2,), ()]],
        tags={"subgraphs"}),
    Row("while_loop", lambda x: sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, sg.sin(v) * 1.5), (0, x))[1],
        lambda x: np.sin(np.sin(np.sin(x) * 1.5) * 1.5) * 1.5, [[(3,)], [()]], tags={"subgraphs"}),
    Row("prod", lambda x: sg.prod(x, axis=1), lambda x: x.prod(1), [[(3, 4)], [(2, 3, 2)]]),
    Row("prod_all_keepdims", lambda x: sg.reduce_prod(x, keep_dims=True), lambda x: x.prod(keepdims=True),
        [[(2, 3)], [()]]),
    Row("reduce_logsumexp", lambda x: sg.reduce_logsumexp(x, axis=1),
        lambda x: np.log(np.exp(x).sum(1)), [[(3, 4)]]),
    Row("nn_elu", sg.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), UNARY_CASES,
        domain="nonzero"),
    Row("nn_relu6", lambda x: sg.nn.relu6(3 * x), lambda x: np.clip(3 * x, 0, 6), UNARY_CASES,
        domain="nonzero", smooth=False),
    Row("nn_softplus", sg.nn.softplus, lambda x: np.log1p(np.exp(x)), UNARY_CASES),
    Row("nn_sigmoid_cross_entropy",
        lambda z, x: sg.nn.sigmoid_cross_entropy_with_logits(labels=sg.sigmoid(z), logits=x),
        lambda z, x: -(1 / (1 + np.exp(-z))) * np.log(1 / (1 + np.exp(-x)))
        - (1 - 1 / (1 + np.exp(-z))) * np.log(1 - 1 / (1 + np.exp(-x))), [[(2, 3), (2, 3)]]),
    Row("nn_l2_loss", sg.nn.l2_loss, lambda x: (x * x).sum() / 2, UNARY_CASES),
    Row("check_numerics", lambda x: sg.check_numerics(x, "x") * x, lambda x: x * x, UNARY_CASES),
    Row("ensure_shape_like", lambda x, y: sg.ops.debug.ensure_shape_like(x, y, "x") * y, np.multiply,
        [[(3,), (3,)], [(2, 3), (2, 3)]]),
]

ROW_BY_NAME = {row.name: row for row in ROWS}
