"""A hypothesis strategy for random well-typed graphs, built by a tiny program of op choices.

A program is a list of steps over a growing list of values; replaying it with `build` on static
placeholders or on eager tensors gives the same computation in both styles. Every op keeps
values in a tame range (no poles, no overflow, no kinks), so finite differences are reliable.

Placeholders may leave dims unknown (`None`), and a step may slice its operand along the first
axis with any start, stop and step. What a step does can depend on the operands' run-time
shapes (whether two values broadcast, whether a slice is empty): a replay on concrete values
records those choices in a `Plan`, and a static replay with unknown dims follows it.
"""
from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

import staticgraph as sg

EXAMPLES = int(os.environ.get("STATICGRAPH_FUZZ_EXAMPLES", "25"))
SHAPES = [(2, 3), (3,), (1, 3), (2, 1), (), (4, 2), (5,)]

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
    "last_col": lambda a: a[..., -1:] if a.ndim else a,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b), "maximum_soft": lambda a, b: sg.log(sg.exp(a) + sg.exp(b)),
    "where": lambda a, b: sg.where(a > b + 0.25, a * b, a + b),  # no tie where a is b
    "matmul": lambda a, b: a * b,  # replaced by a @ b where the run-time shapes allow it
}
SLICE = "slice"  # a step (SLICE, (i,), (start, stop, step)) slices value i along axis 0


class Plan(dict):
    """The shape-dependent choices of one replay, by step index (recorded, then followed)."""

    def choose(self, index: int, decide):
        if index not in self:
            self[index] = decide()
        return self[index]


@st.composite
def slices(draw):
    """A slice along one axis: starts and stops negative, beyond the end or missing; any step."""
    bound = st.one_of(st.none(), st.integers(-7, 7))
    step = draw(st.one_of(st.none(), st.sampled_from([1, 2, 3, 100, -1, -2, -100])))
    return draw(bound), draw(bound), step


@st.composite
def programs(draw, with_slices: bool = False):
    """(input shapes, steps, seed): each step is (op name, operand indices[, slice])."""
    n_inputs = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_inputs)]
    steps = []
    for _ in range(draw(st.integers(2, 6))):
        count = n_inputs + len(steps)
        operand = st.integers(0, count - 1)
        kind = draw(st.sampled_from(("unary", "binary", SLICE) if with_slices else ("unary", "binary")))
        if kind == SLICE:
            steps.append((SLICE, (draw(operand),), draw(slices())))
        elif kind == "unary":
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(operand),)))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))), (draw(operand), draw(operand))))
    seed = draw(st.integers(0, 2 ** 16))
    return shapes, steps, seed


def unknown_dims(draw_mask: int, shapes):
    """The shapes with the dims whose bit is set in `draw_mask` made unknown (None)."""
    out, bit = [], 0
    for shape in shapes:
        dims = []
        for d in shape:
            dims.append(None if draw_mask >> bit & 1 else d)
            bit += 1
        out.append(tuple(dims))
    return out


def build(steps, inputs, plan: Plan | None = None, values_out: list | None = None,
          substitute: dict | None = None):
    """Replay `steps` on `inputs` (static or eager); the result is a scalar of every value used.

    `plan` holds the run-time-shape choices: a replay on concrete values (eager, or static with
    known shapes) records them, a static replay with unknown dims must be given them.
    `values_out`, when given, receives every value of the program in order. `substitute` maps
    a value's index to what later steps use in its place (a placeholder, say).
    """
    plan = Plan() if plan is None else plan
    substitute = substitute or {}
    values = list(inputs)
    for index, step in enumerate(steps):
        name, operands = step[0], step[1]
        args = [values[i] for i in operands]
        if name == SLICE:
            value = _slice(args[0], step[2], plan, index)
        elif name in BINARY:
            value = _binary(name, args, plan, index)
        else:
            value = UNARY[name](*args)
        values.append(substitute.get(len(values), value))
    total = sg.sum(values[len(inputs)] * 1.0)
    for v in values[len(inputs) + 1:]:
        total = total + sg.sum(v) * 0.5
    if values_out is not None:
        values_out.extend(values)
    return total


def _concrete(value) -> tuple:
    shape = tuple(value.shape)
    if None in shape:
        raise ValueError("a replay with unknown dims needs the plan of a concrete replay")
    return shape


def _slice(a, bounds, plan: Plan, index: int):
    """a[start:stop:step] along axis 0; the value itself where that would be empty or a is 0-d."""
    def decide():
        shape = _concrete(a)
        return bool(shape) and len(range(*slice(*bounds).indices(shape[0]))) > 0
    return a[slice(*bounds)] if plan.choose(index, decide) else a


def _binary(name, args, plan: Plan, index: int):
    def decide():
        a, b = (_concrete(v) for v in args)
        matmul = name == "matmul" and len(a) == 2 and len(b) in (1, 2) and a[-1] == b[0]
        return "matmul" if matmul else "as_is" if _broadcastable(a, b) else "sum_second"
    choice = plan.choose(index, decide)
    if choice == "matmul":
        return args[0] @ args[1]
    if choice == "sum_second":
        args = [args[0], sg.sum(args[1])]
    return BINARY[name](*args)


def _broadcastable(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def feeds(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=s) for s in shapes]


def value_and_gradients(program):
    """`program` built afresh in the default graph on float64 placeholders: (the placeholders,
    [y] + the gradients of y by each, unconnected ones zero; the values to feed)."""
    shapes, steps, seed = program
    sg.reset_default_graph()
    xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
    y = build(steps, xs)
    return xs, [y] + sg.gradients(y, xs, unconnected_gradients="zero"), feeds(shapes, seed)
