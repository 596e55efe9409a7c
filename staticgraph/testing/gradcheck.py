"""Gradient checking: symbolic gradients against central finite differences, in float64."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import networkx as nx

from staticgraph.autodiff.paths import path_nodes
from staticgraph.autodiff.reverse import gradients
from staticgraph.graph import Graph, Tensor
from staticgraph.ops import create, reduce
from staticgraph.ops.create import placeholder
from staticgraph.ops.registry import get_op
from staticgraph.runtime.session import Session
from staticgraph.testing.kinkcheck import warn_at_kinks


def numeric_gradient(f: Callable[[list[np.ndarray]], float], inputs: Sequence[np.ndarray],
                     eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2eps of a scalar function f(inputs)."""
    inputs = [np.array(x, dtype=np.float64, order="C") for x in inputs]  # reshape(-1) a view
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
              atol: float = 1e-5, rtol: float = 1e-4, weights: np.ndarray | None = None,
              per_node: bool = False, warn_kinks: bool = True) -> bool:
    """Check `sg.gradients(y, xs)` against finite differences of sum(weights * y) at `feed_dict`.

    Every x must be a fed float64 tensor (a placeholder, usually). `weights` (default: 1 for a
    scalar y, whose gradient is then checked as it is; else a fixed random array of y's shape)
    makes a non-scalar y's every element count. With `per_node=True`
    each node between xs and y is checked on its own instead (see `check_nodes`), so a wrong
    vjp rule is found at its node. With `warn_kinks` a `staticgraph.kinks.KinkWarning` names
    each relu/abs/max/maximum/minimum node whose input sits exactly on a kink at `feed_dict`,
    where the two sides need not agree.

    Returns True, or raises GradcheckError naming the x, the worst element and both values
    (as plain floats).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> sg.testing.gradcheck(sg.sin(x) * x, [x], {x: np.array([0.1, 0.5, 2.0])})
        True
    """
    if warn_kinks:
        warn_at_kinks(y, xs, feed_dict, stacklevel=3)
    if per_node:
        return check_nodes(y, xs, feed_dict, eps=eps, atol=atol, rtol=rtol)
    graph: Graph = y.graph
    session = Session(graph)
    feed = {k: np.asarray(v, dtype=np.float64) if isinstance(v, (float, list)) else v
            for k, v in feed_dict.items()}
    y_shape = np.shape(session.run(y, feed))
    if weights is None:  # a scalar y is checked as it is; other shapes through sum(weights * y)
        weights = 1.0 if y_shape == () else np.random.default_rng(0).uniform(0.5, 1.5, size=y_shape)
    with graph.as_default():
        scalar = reduce.sum(y * create.constant(weights, dtype=y.dtype))
    symbolic = gradients(scalar, list(xs), unconnected_gradients="zero")
    analytic = session.run(symbolic, feed)

    def f(values):
        run_feed = dict(feed)
        run_feed.update({x: v for x, v in zip(xs, values)})
        return float(session.run(scalar, run_feed))

    numeric = numeric_gradient(f, [feed[x] for x in xs], eps)
    of = "" if np.ndim(weights) == 0 and weights == 1.0 else " of sum(weights * y)"
    for x, a, n in zip(xs, analytic, numeric):
        _compare(f"gradient{of} for {x.name!r}", np.asarray(a), n, atol, rtol)
    return True


def _compare(what: str, symbolic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> None:
    if symbolic.shape != numeric.shape:
        raise GradcheckError(f"{what} has shape {symbolic.shape}, expected {numeric.shape}")
    bad = ~np.isclose(symbolic, numeric, atol=atol, rtol=rtol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.abs(symbolic - numeric) * bad), symbolic.shape)
        at = f" at {tuple(int(k) for k in i)}" if symbolic.ndim else ""
        raise GradcheckError(f"{what} is wrong{at}: symbolic {symbolic[i].item()!r}, numeric "
                             f"{numeric[i].item()!r} ({int(bad.sum())} of {symbolic.size} "
                             f"element{'s' if symbolic.size != 1 else ''} differ"
                             f"{'s' if int(bad.sum()) == 1 else ''})")


def check_nodes(y: Tensor, xs: Sequence[Tensor], feed_dict: dict, eps: float = 1e-6,
                atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Check the vjp of every node between xs and y, one node at a time, in topological order.

    Each node's op is rebuilt alone in a fresh graph on its inputs' values (in float64) from
    one run of the graph, and its vjp is compared with finite differences of its kernel. The
    first node whose rule disagrees raises GradcheckError naming it, its op, its input shapes,
    the worst element and both values: the place to look when a custom op's gradient is wrong.

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> sg.testing.check_nodes(sg.sum(sg.tanh(x) * x), [x], {x: np.array([0.1, -0.4, 2.0])})
        True
    """
    graph = y.graph
    between = path_nodes(graph, [y.name], [x.name for x in xs], set())
    order = [n for n in nx.topological_sort(graph.nx.subgraph(between))]
    # One run gives every node on the path and every input those nodes read.
    needed = list(dict.fromkeys(order + [i for n in order for i in graph.inputs(n)]))
    values = dict(zip(needed, Session(graph).run(needed, feed_dict)))
    for name in order:
        node = graph.node(name)
        op = get_op(node["op"])
        inputs = graph.inputs(name)
        if not op.differentiable or not inputs or op.traits & {"stateful", "packed"}:
            continue
        _check_node(graph, name, op, [values[i] for i in inputs], eps, atol, rtol)
    return True


def _check_node(graph: Graph, name: str, op, arrays: list, eps: float, atol: float, rtol: float) -> None:
    node = graph.node(name)
    arrays = [np.asarray(a) for a in arrays]
    local = Graph()
    with local.as_default():
        inputs = [placeholder(np.float64 if a.dtype.kind == "f" else a.dtype, a.shape, name=f"in{i}")
                  for i, a in enumerate(arrays)]
        out = op(*inputs, **node["attrs"])
    feed = {t: a.astype(np.float64) if a.dtype.kind == "f" else a for t, a in zip(inputs, arrays)}
    floats = [t for t in inputs if t.dtype.kind == "f"]
    where = (f"node {name!r} ({op.name}, created at {node['source']}, inputs "
             f"{', '.join(str(a.shape) for a in arrays)})")
    try:
        gradcheck(out, floats, feed, eps=eps, atol=atol, rtol=rtol, warn_kinks=False)
    except GradcheckError as exc:
        raise GradcheckError(f"the vjp of {where} disagrees with finite differences: {exc}") from None
