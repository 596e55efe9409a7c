"""Shared helpers for running the op table (tests/op_table.py) through forward mode."""
import numpy as np

import staticgraph as sg
from tests.op_table import ROWS

CASES = [(row, i) for row in ROWS for i in range(len(row.cases))]
DIFF = [(row, i) for row, i in CASES if row.differentiable]
# stop_gradient rows differ from finite differences on purpose; both modes still agree there.
TRUE_DERIVATIVE = [(row, i) for row, i in DIFF if "stops" not in row.tags]
SMOOTH = [(row, i) for row, i in TRUE_DERIVATIVE if row.smooth]


def ids(cases) -> list[str]:
    return [f"{row.name}-{i}" for row, i in cases]


def build(row, shapes, unknown: bool = False):
    """Float64 placeholders for a row's inputs (every dim None when `unknown`) and its output."""
    xs = [sg.placeholder(sg.float64, tuple(None for _ in s) if unknown else s, name=f"in{k}")
          for k, s in enumerate(shapes)]
    return xs, row.build(*xs)


def sample(row, shapes, rng) -> list[np.ndarray]:
    return [row.sample(rng, s) for s in shapes]


def directions(shapes, rng) -> list[np.ndarray]:
    """One random tangent per input."""
    return [rng.normal(size=s) for s in shapes]


def central_difference(sess, fetch, xs, values, us, eps: float = 1e-6):
    """(f(x + eps u) - f(x - eps u)) / 2 eps for the fetched value f, all inputs moving at once."""
    plus = sess.run(fetch, {x: v + eps * u for x, v, u in zip(xs, values, us)})
    minus = sess.run(fetch, {x: v - eps * u for x, v, u in zip(xs, values, us)})
    if isinstance(fetch, list):
        return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)
