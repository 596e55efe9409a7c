"""The notes' examples as comparison workloads: §3.1-3.3, the linear-regression loss, §3.4's f(a).

Where the style does not matter the math is written once (`y = 2 * sg.dot(x, x)` builds a node
on a placeholder and runs at once on an eager tensor); what differs is how each style asks for
gradients: the explicit one adds gradient nodes with `sg.gradients` and runs them in a Session,
the implicit one calls `backward()` and reads `.grad`. For f(a) the control flow differs too:
`sg.while_loop` and `sg.cond` in the graph, Python `while` and `if` on eager values, and the
eager source itself traced by `sg.function`, whose AutoGraph writes those ops for it.
"""
from __future__ import annotations

import numpy as np

import staticgraph as sg
from staticgraph import eager
from staticgraph.compare.workload import EagerProgram, EagerStep, StaticProgram, Workload, as_numpy

X = np.arange(4.0)                   # the notes' x = torch.arange(4.0), in float64
_RNG = np.random.default_rng(7)
LINREG_X, LINREG_W = _RNG.normal(size=4), _RNG.normal(size=4)
LINREG_Y = 0.5
A_VALUES = np.random.default_rng(3).normal(size=64)  # one input of f per step


def _x_program(fetch_fn) -> StaticProgram:
    """A graph on the placeholder x whose fetches `fetch_fn(x)` gives, fed the notes' x."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, X.shape, name="x")
        fetches = fetch_fn(x)
    return StaticProgram(graph, fetches, lambda i: {x: X})


def _x_leaf() -> eager.Tensor:
    return eager.tensor(X, requires_grad=True, name="x")


# ----- §3.1 y = 2 xᵀx -----------------------------------------------------------------------
def _dot(x):
    return 2 * sg.dot(x, x)


def _dot_static():
    def fetches(x):
        y = _dot(x)
        return {"y": y, "dy/dx": sg.gradients(y, [x])[0]}
    return _x_program(fetches)


def _dot_eager():
    x = _x_leaf()

    def step(i):
        x.grad = None
        y = _dot(x)
        y.backward()
        return EagerStep(as_numpy({"y": y, "dy/dx": x.grad}), [y])
    return EagerProgram(step)


# ----- §3.1 y = x.sum() ---------------------------------------------------------------------
def _sum_static():
    def fetches(x):
        y = sg.sum(x)
        return {"y": y, "dy/dx": sg.gradients(y, [x])[0]}
    return _x_program(fetches)


def _sum_eager():
    x = _x_leaf()

    def step(i):
        x.grad = None
        y = x.sum()
        y.backward()
        return EagerStep(as_numpy({"y": y, "dy/dx": x.grad}), [y])
    return EagerProgram(step)


# ----- §3.2 y = x * x, backward with gradient ones -------------------------------------------
def _square_static():
    def fetches(x):
        y = x * x
        (dy,) = sg.gradients(y, [x], grad_ys=[sg.ones_like(y)])
        return {"y": y, "dy/dx": dy}
    return _x_program(fetches)


def _square_eager():
    x = _x_leaf()

    def step(i):
        x.grad = None
        y = x * x
        y.backward(eager.ones(len(x), dtype=eager.float64))
        return EagerStep(as_numpy({"y": y, "dy/dx": x.grad}), [y])
    return EagerProgram(step)


# ----- §3.3 u = detach(y), z = u * x ----------------------------------------------------------
def _detach_static():
    def fetches(x):
        y = x * x
        u = sg.stop_gradient(y)
        (dz,) = sg.gradients(sg.sum(u * x), [x])
        (dy,) = sg.gradients(sg.sum(y), [x])
        return {"u": u, "dz/dx": dz, "dy/dx": dy}
    return _x_program(fetches)


def _detach_eager():
    x = _x_leaf()

    def step(i):
        x.grad = None
        y = x * x
        u = y.detach()
        z = (u * x).sum()
        z.backward()
        dz = x.grad
        x.grad = None
        y_sum = y.sum()
        y_sum.backward()
        return EagerStep(as_numpy({"u": u, "dz/dx": dz, "dy/dx": x.grad}), [z, y_sum])
    return EagerProgram(step)


# ----- §1.4/§2.2 linear-regression loss z = (x·w - y)² ----------------------------------------
def _linreg(x, w, y):
    a = sg.dot(x, w)
    b = a - y
    return b ** 2


def _linreg_static():
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, LINREG_X.shape, name="x")
        w = sg.placeholder(sg.float64, LINREG_W.shape, name="w")
        y = sg.placeholder(sg.float64, (), name="y")
        z = _linreg(x, w, y)
        dz_dw, dz_dx = sg.gradients(z, [w, x])
    feed = {x: LINREG_X, w: LINREG_W, y: np.float64(LINREG_Y)}
    return StaticProgram(graph, {"z": z, "dz/dw": dz_dw, "dz/dx": dz_dx}, lambda i: feed)


def _linreg_eager():
    x = eager.tensor(LINREG_X, requires_grad=True, name="x")
    w = eager.tensor(LINREG_W, requires_grad=True, name="w")
    y = eager.tensor(np.float64(LINREG_Y), name="y")

    def step(i):
        x.grad = w.grad = None
        z = _linreg(x, w, y)
        z.backward()
        return EagerStep(as_numpy({"z": z, "dz/dw": w.grad, "dz/dx": x.grad}), [z])
    return EagerProgram(step)


# ----- §3.4 f(a): a loop and a branch that depend on the value ----------------------------
def f_static(a):
    """The notes' f with graph control flow: the loop and the branch are nodes."""
    b = a * 2
    b = sg.while_loop(lambda b: sg.norm(b) < 1000, lambda b: b * 2, [b])
    return sg.cond(sg.sum(b) > 0, lambda: b, lambda: 100 * b)


def f_eager(a):
    """The notes' f as written for PyTorch: Python decides on the values."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def _a(i: int) -> np.float64:
    return np.float64(A_VALUES[i % len(A_VALUES)])


def _control_static():
    graph = sg.Graph()
    with graph.as_default():
        a = sg.placeholder(sg.float64, (), name="a")
        d = f_static(a)
        (grad,) = sg.gradients(d, [a])
    return StaticProgram(graph, {"a": a, "f(a)": d, "df/da": grad}, lambda i: {a: _a(i)})


def _autograph_static():
    """f_eager itself, traced by sg.function: AutoGraph turns its while and if into graph ops."""
    @sg.function
    def f_and_gradient(a):
        d = f_eager(a)
        return d, sg.gradients(d, [a])[0]
    trace = f_and_gradient.trace_for(_a(0))
    (a,) = trace.placeholders
    d, grad = trace.outputs
    return StaticProgram(trace.graph, {"a": a, "f(a)": d, "df/da": grad}, lambda i: {a: _a(i)})


def _control_eager():
    def step(i):
        a = eager.tensor(_a(i), requires_grad=True, name="a")
        d = f_eager(a)
        d.backward()
        return EagerStep(as_numpy({"a": a, "f(a)": d, "df/da": a.grad}), [d])
    return EagerProgram(step)


_X_GRADS = frozenset({"dy/dx"})
WORKLOADS = (
    Workload("dot", "§3.1 y = 2xᵀx", "a scalar of a vector: dy/dx = 4x",
             _dot_static, _dot_eager, _X_GRADS),
    Workload("sum", "§3.1 y = x.sum()", "the gradient of a sum is ones",
             _sum_static, _sum_eager, _X_GRADS),
    Workload("square", "§3.2 y = x * x, gradient ones", "a non-scalar y needs a cotangent: 2x",
             _square_static, _square_eager, _X_GRADS),
    Workload("detach", "§3.3 u = detach(x * x), z = u * x",
             "stop_gradient / detach: dz/dx = u, while y keeps its own gradient 2x",
             _detach_static, _detach_eager, frozenset({"dz/dx", "dy/dx"})),
    Workload("linreg", "§1.4 z = (x·w − y)²",
             "the notes' linear-regression loss: dz/dw = 2b x",
             _linreg_static, _linreg_eager, frozenset({"dz/dw", "dz/dx"})),
    Workload("control", "§3.4 f(a): while and if on values",
             "a different a each step: one static graph serves all, eager records anew",
             _control_static, _control_eager, frozenset({"df/da"})),
    Workload("autograph", "§3.4 f(a) as written for PyTorch, traced by sg.function",
             "AutoGraph rewrites the Python while and if into while_loop and cond: the same "
             "source gives one graph for every a",
             _autograph_static, _control_eager, frozenset({"df/da"})),
)
