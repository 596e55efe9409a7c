"""A hypothesis strategy for random well-typed graphs, built by a tiny program of op choices.

A program is a list of steps over a growing list of values; replaying it with `build` on static
placeholders or on eager tensors gives the same computation in both styles. Every op keeps
values in a tame range (no poles, no overflow, no kinks), so finite differences are reliable.
"""
from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

import staticgraph as sg

EXAMPLES = int(os.environ.get("STATICGRAPH_FUZZ_EXAMPLES", "25"))
SHAPES = [(2, 3), (3,), (1, 3), (2, 1), ()]

# name -> (arity, builder). Builders take values and return a value; all are smooth.
UNARY = {
    "sin": sg.sin, "cos": sg.cos, "tanh": sg.tanh, "sigmoid": sg.sigmoid,
    "exp_tanh": lambda a: sg.exp(sg.tanh(a)), "square": sg.square, "neg": lambda a: -a,
    "log1p_sq": lambda a: sg.log(1.0 + a * a), "sqrt1p_sq": lambda a: sg.sqrt(1.0 + a * a),
    "pow3": lambda a: a ** 3, "softmax": lambda a: sg.softmax(a) if a.ndim else a,
    "sum_last": lambda a: a.sum(axis=-1, keepdims=True) if a.ndim else a,
    "mean_all": lambda a: sg.mean(a), "norm_1p": lambda a: sg.norm(a + 3.0),
    "flatten": lambda a: sg.reshape(a, (-1,)), "T": lambda a: sg.transpose(a),
    "first_rows": lambda a: a[:1] if a.ndim else a, "concat_self": lambda a: sg.concat([a, a * 2], -1) if a.ndim else a,
    "stack_self": lambda a: sg.stack([a, -a], 0), "max_last": lambda a: sg.max(a * a + a, axis=-1) if a.ndim else a,
    "cond_sign": lambda a: sg.cond(sg.sum(a) > 0, lambda: a * 2.0, lambda: sg.sin(a)),
    "loop3": lambda a: sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, sg.tanh(v) * 1.2), (0, a))[1],
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b), "maximum_soft": lambda a, b: sg.log(sg.exp(a) + sg.exp(b)),
    "where": lambda a, b: sg.where(a > b, a * b, a + b),
    "matmul": lambda a, b: _matmul(a, b),
}


def _matmul(a, b):
    if a.ndim == 2 and b.ndim >= 1 and a.shape[-1] == b.shape[0]:
        return a @ b
    return a * b


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a.shape, b.shape)
        return True
    except ValueError:
        return False


@st.composite
def programs(draw):
    """(input shapes, steps): each step is (op name, operand indices)."""
    n_inputs = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_inputs)]
    steps = []
    for _ in range(draw(st.integers(2, 6))):
        count = n_inputs + len(steps)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(st.integers(0, count - 1)),)))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))),
                          (draw(st.integers(0, count - 1)), draw(st.integers(0, count - 1)))))
    seed = draw(st.integers(0, 2 ** 16))
    return shapes, steps, seed


def build(steps, inputs):
    """Replay `steps` on `inputs` (static or eager); the result is a scalar of every value used."""
    values = list(inputs)
    for name, operands in steps:
        args = [values[i] for i in operands]
        if name in BINARY and not _broadcastable(*args):
            args = [args[0], sg.sum(args[1])]
        values.append((UNARY.get(name) or BINARY[name])(*args))
    total = sg.sum(values[len(inputs)] * 1.0)
    for v in values[len(inputs) + 1:]:
        total = total + sg.sum(v) * 0.5
    return total


def feeds(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
