"""The benchmark's MLP in handwritten numpy: initial weights, a batch, and one SGD step.

It imports numpy only, so that tools/bench_rss.py can measure a numpy-only process with it.
"""
from __future__ import annotations

import numpy as np


def init_params(sizes: list[int], seed: int = 0) -> list[np.ndarray]:
    """He-initialised float32 weights and zero biases, alternating, for layers of `sizes`."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params.append((rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32))
        params.append(np.zeros(n_out, np.float32))
    return params


def batch_data(sizes: list[int], batch: int, seed: int = 1):
    """A float32 batch of inputs and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return x, labels


def numpy_products(params: list[np.ndarray], x) -> None:
    """Only the matrix products of `numpy_step`, of the same shapes and layouts (the forward
    products, then each weight's gradient and each layer's cotangent): the floor of any step
    that calls the same BLAS."""
    layers = len(params) // 2
    acts, h = [x], x
    for i in range(layers):
        h = h @ params[2 * i]
        acts.append(h)
    d = h
    for i in reversed(range(layers)):
        acts[i].T @ d
        if i > 0:
            d = d @ params[2 * i].T


def numpy_step(params: list[np.ndarray], x, labels, lr: float, eager_updates: bool = True) -> float:
    """One handwritten SGD step, in place; with eager_updates each update as soon as its gradient."""
    layers = len(params) // 2
    acts, h = [x], x
    for i in range(layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < layers - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    shifted = h - h.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    loss = -(labels * (shifted - np.log(total))).sum(axis=1).mean()
    d = (e / total - labels) / np.float32(len(x))
    pending = []
    for i in reversed(range(layers)):
        w, b = params[2 * i], params[2 * i + 1]
        dw, db = acts[i].T @ d, d.sum(axis=0)
        if i > 0:
            d = (d @ w.T) * (acts[i] > 0)
        if eager_updates:
            w -= np.float32(lr) * dw
            b -= np.float32(lr) * db
        else:
            pending.append((w, b, dw, db))
    for w, b, dw, db in pending:
        w -= np.float32(lr) * dw
        b -= np.float32(lr) * db
    return float(loss)
