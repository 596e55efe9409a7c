"""Gradient checking: symbolic gradients against central finite differences, in float64."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from staticgraph.autodiff.reverse import gradients
from staticgraph.graph import Graph, Tensor
from staticgraph.ops import create, reduce
from staticgraph.runtime.session import Session


def numeric_gradient(f: Callable[[list[np.ndarray]], float], inputs: Sequence[np.ndarray],
                     eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2eps of a scalar function f(inputs)."""
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    grads = []
    for x in inputs:
        grad = np.zeros_like(x)
        flat, gflat = x.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            plus = f(inputs)
            flat[i] = keep - eps
            minus = f(inputs)
            flat[i] = keep
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


class GradcheckError(AssertionError):
    """A symbolic gradient disagrees with finite differences."""


def gradcheck(y: Tensor, xs: Sequence[Tensor], feed_dict: dict, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4, weights: np.ndarray | None = None) -> bool:
    """Check `sg.gradients(y, xs)` against finite differences of sum(weights * y) at `feed_dict`.

    Every x must be a fed float64 tensor (a placeholder, usually). `weights` (default: a fixed
    random array of y's shape) makes a non-scalar y's every element count.

    Returns True, or raises GradcheckError naming the x, the worst element and both values.

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> sg.testing.gradcheck(sg.sin(x) * x, [x], {x: np.array([0.1, 0.5, 2.0])})
        True
    """
    graph: Graph = y.graph
    session = Session(graph)
    feed = {k: np.asarray(v, dtype=np.float64) if isinstance(v, (float, list)) else v
            for k, v in feed_dict.items()}
    y_shape = np.shape(session.run(y, feed))
    if weights is None:
        weights = np.random.default_rng(0).uniform(0.5, 1.5, size=y_shape)
    with graph.as_default():
        scalar = reduce.sum(y * create.constant(weights, dtype=y.dtype))
    symbolic = gradients(scalar, list(xs), unconnected_gradients="zero")
    analytic = session.run(symbolic, feed)

    def f(values):
        run_feed = dict(feed)
        run_feed.update({x: v for x, v in zip(xs, values)})
        return float(session.run(scalar, run_feed))

    numeric = numeric_gradient(f, [feed[x] for x in xs], eps)
    for x, a, n in zip(xs, analytic, numeric):
        a = np.asarray(a)
        if a.shape != n.shape:
            raise GradcheckError(f"gradient for {x.name!r} has shape {a.shape}, expected {n.shape}")
        bad = ~np.isclose(a, n, atol=atol, rtol=rtol)
        if bad.any():
            i = np.unravel_index(np.argmax(np.abs(a - n) * bad), a.shape)
            raise GradcheckError(f"gradient for {x.name!r} is wrong at {i}: symbolic {a[i]!r}, "
                                 f"numeric {n[i]!r} ({int(bad.sum())} of {a.size} elements differ)")
    return True
