"""Differential tests: the same autograd programs run through PyTorch and through eager.

Each program is written once, as a function of the module (`torch` or `staticgraph.eager`), and
both runs must agree in float64 on values, dtypes, `requires_grad`, `is_leaf`, the grad_fn chain
(PyTorch's names, `next_functions` down to AccumulateGrad), the leaves' gradients, and, where the
program fails, the error's type and message. Random programs are drawn with hypothesis.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staticgraph import eager

torch = pytest.importorskip("torch")


# ----- running a program both ways --------------------------------------------------------------
def _name(fn) -> str:
    return fn.name().rsplit("::", 1)[-1]  # torch::autograd::AccumulateGrad -> AccumulateGrad


def _chain(fn, depth: int = 0):
    """The grad_fn graph below `fn` as nested (name, children) tuples."""
    if fn is None or depth > 25:
        return None
    return (_name(fn), tuple(_chain(n, depth + 1) for n, _ in fn.next_functions))


def _is_tensor(T, v) -> bool:
    return isinstance(v, T.Tensor)


def _describe(T, v):
    """What a program's result must agree on (tensors: dtype, flags, grad_fn chain, value)."""
    if isinstance(v, (tuple, list)):
        return [_describe(T, u) for u in v]
    if not _is_tensor(T, v):
        return ("python", v)
    return (str(v.dtype).replace("torch.", ""), v.requires_grad, v.is_leaf, _chain(v.grad_fn),
            np.array(v.detach().numpy(), copy=True))


def _weights(T, t):
    """A fixed cotangent for `t` with distinct entries, so gradients are not symmetric."""
    w = np.cos(np.arange(int(np.prod(t.shape))) + 0.5).reshape(t.shape)
    return T.tensor(w, dtype=t.dtype)


def _run(prog, T):
    """(results described, leaves' grads, error) of `prog(T)` followed by a backward pass."""
    leaves, results = [], []
    try:
        outs = prog(T, leaves, results)
        loss = None
        for t in outs:
            if _is_tensor(T, t) and t.requires_grad:
                term = (t * _weights(T, t)).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
        error = None
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        error = exc
    described = [_describe(T, r) for r in results]
    grads = [None if x.grad is None else x.grad.numpy().copy() for x in leaves]
    return described, grads, error


def _same(a, b, where: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape, where
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=where)
    elif isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: torch {a!r}, eager {b!r}"


def agree(prog, fragment: str | None = None) -> None:
    """Run `prog` both ways and assert everything observable agrees."""
    want, want_grads, want_error = _run(prog, torch)
    got, grads, error = _run(prog, eager)
    if want_error is not None or error is not None:
        assert want_error is not None, f"only eager raised: {error!r}"
        assert error is not None, f"only torch raised: {want_error!r}"
        assert isinstance(error, type(want_error)), f"torch {want_error!r}, eager {error!r}"
        if fragment is not None:
            assert fragment in str(want_error) and fragment in str(error), (want_error, error)
        return  # how far a failed backward got before raising is PyTorch's engine's detail
    _same(want, got, "results")
    _same([g is None for g in want_grads], [g is None for g in grads], "which grads exist")
    for i, (a, b) in enumerate(zip(want_grads, grads)):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=f"grad {i}")


def leaf(T, leaves, data):
    x = T.tensor(np.asarray(data, np.float64), dtype=T.float64, requires_grad=True)
    leaves.append(x)
    return x


RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4, 2))
V = RNG.normal(size=4)


# ----- written programs ---------------------------------------------------------------------------
def p_elementwise(T, leaves, res):
    x = leaf(T, leaves, A)
    y = T.exp(T.tanh(x)) * T.sin(x) + x.pow(2) / (1 + x * x) - T.sigmoid(x).relu()
    res += [y, y.abs(), T.sqrt(y * y + 1), T.log1p(x.abs())]
    return [y]


def p_reductions(T, leaves, res):
    x = leaf(T, leaves, A)
    outs = [x.sum(), x.sum(1), x.sum(0, keepdim=True), x.mean(), x.mean(dim=1, keepdim=True),
            x.norm(), T.sum(x, dim=(0, 1))]
    res += outs
    return outs


def p_max_min_dim(T, leaves, res):
    x = leaf(T, leaves, A)
    values, indices = x.max(dim=1)
    small = T.min(x, 0, keepdim=True)
    res += [values, indices, small.values, small.indices, x.max(), x.min(), x.argmax(1)]
    return [values, small.values, x.max()]


def p_matmul(T, leaves, res):
    x, w, v = leaf(T, leaves, A), leaf(T, leaves, B), leaf(T, leaves, V)
    outs = [x @ w, T.mm(x, w), x.matmul(v), T.dot(v, v), x.t() @ x, T.mv(x, v), w.T @ x.T]
    res += outs
    return outs


def p_views(T, leaves, res):
    x = leaf(T, leaves, A)
    y = x * 2
    outs = [y.view(12), y.view(2, 6), y.reshape(4, 3), y.t(), y.unsqueeze(0), y[1], y[:, 1:3],
            y[..., 0], y.transpose(0, 1), y.flatten(), y[None], y.squeeze()]
    res += outs
    return outs


def p_indexing(T, leaves, res):
    x = leaf(T, leaves, A)
    idx = T.tensor([2, 0, 2])
    mask = T.tensor(A > 0)
    outs = [x[idx], x[:, idx], x[mask], x[1][2], x[[0, 1], [1, 3]], x[:, 1][idx]]
    res += outs
    return outs


def p_inplace_nonleaf(T, leaves, res):
    x = leaf(T, leaves, A)
    y = x * 1.5
    y.add_(1).mul_(x)
    y.relu_()
    z = y.clone()
    z[0] = x[1] * 3
    z[:, 2] += x[:, 0]
    res += [y, z]
    return [y, z]


def p_inplace_views(T, leaves, res):
    x = leaf(T, leaves, A)
    y = x.exp()
    v = y[1:]
    y = y * 1.0
    v = y[1:]
    y[0].mul_(x[2])
    v.add_(x[:2])
    res += [y, v, y._version]
    return [y, v]


def p_detach_and_no_grad(T, leaves, res):
    x = leaf(T, leaves, A)
    y = x * x
    d = y.detach()
    with T.no_grad():
        n = x * 3
    e = d * x + n * x
    res += [d, n, e, y.data]
    return [e]


def p_dtypes(T, leaves, res):
    x = leaf(T, leaves, A)
    i = T.tensor([1, 2, 3])
    f = T.tensor([1.0, 2.0])
    res += [x.float(), x.float().double(), i * 2, i / 2, i + 1.5, f * i[:2], i.sum(),
            (x > 0).sum(), x.to(T.float32), T.arange(3), T.arange(3.0), i.float().mean()]
    return [x.float().double()]


def p_retain_grad(T, leaves, res):
    x = leaf(T, leaves, V)
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    res += [y.grad, x.grad, y.retains_grad]
    return [z]


def p_autograd_grad(T, leaves, res):
    x = leaf(T, leaves, V)
    y = (x ** 3).sum()
    (g,) = T.autograd.grad(y, x, create_graph=True)
    (h,) = T.autograd.grad((g * g).sum(), x)
    res += [g.detach(), g.requires_grad, h]
    return []


def p_functional(T, leaves, res):
    F = T.nn.functional
    x = leaf(T, leaves, A)
    labels = T.tensor([1, 0, 3])
    probs = T.sigmoid(x).detach()
    outs = [F.cross_entropy(x, labels), F.mse_loss(x, probs), F.l1_loss(x, probs),
            F.binary_cross_entropy(T.sigmoid(x), probs),
            F.binary_cross_entropy_with_logits(x, probs), F.softmax(x, dim=1),
            F.log_softmax(x, dim=1), F.nll_loss(F.log_softmax(x, dim=1), labels)]
    res += outs
    return outs


def p_composites(T, leaves, res):
    x = leaf(T, leaves, A)
    outs = [x.var(), x.var(1), x.std(0, keepdim=True), x.std(), T.logsumexp(x, 1),
            x.logsumexp(0, keepdim=True), x.clamp(-0.5, 0.5), T.clamp(x, min=0.1),
            x.clamp(max=0.2)]
    res += outs
    return outs


WRITTEN = [p_elementwise, p_reductions, p_max_min_dim, p_matmul, p_views, p_indexing,
           p_inplace_nonleaf, p_inplace_views, p_detach_and_no_grad, p_dtypes, p_retain_grad,
           p_autograd_grad, p_functional, p_composites]


@pytest.mark.parametrize("prog", WRITTEN, ids=lambda p: p.__name__[2:])
def test_written_program_agrees(prog):
    agree(prog)


# Differences left in grad_fn chains (values and gradients agree): each fails until fixed.
def k_index_of_several_ints(T, leaves, res):
    res.append(leaf(T, leaves, A)[1, 2])  # PyTorch: SelectBackward0 over SelectBackward0
    return res


def k_view_update_by_a_number(T, leaves, res):
    y = leaf(T, leaves, A) * 1.0
    y[:, 2] += 1  # PyTorch: CopySlices shows the number as a None input
    res.append(y)
    return res


def k_number_over_tensor(T, leaves, res):
    res.append(2 / leaf(T, leaves, A))  # PyTorch: MulBackward0 over ReciprocalBackward0
    return res


def k_promoted_operand(T, leaves, res):
    x = leaf(T, leaves, A)
    res.append(x.float() * x)  # PyTorch: no ToCopyBackward0 for the promotion to float64
    return res


@pytest.mark.xfail(strict=True, reason="grad_fn chain differs (see README, Coming from PyTorch)")
@pytest.mark.parametrize("prog", [k_index_of_several_ints, k_view_update_by_a_number,
                                  k_number_over_tensor, k_promoted_operand],
                         ids=lambda p: p.__name__[2:])
def test_known_chain_difference(prog):
    agree(prog)


# ----- errors ------------------------------------------------------------------------------------
def e_non_scalar_backward(T, leaves, res):
    x = leaf(T, leaves, V)
    (x * 2).backward()


def e_second_backward(T, leaves, res):
    x = leaf(T, leaves, V)
    y = (x * x).sum()
    y.backward()
    y.backward()


def e_inplace_leaf(T, leaves, res):
    x = leaf(T, leaves, V)
    x.add_(1)


def e_modified_saved(T, leaves, res):
    x = leaf(T, leaves, V)
    y = x.exp()
    z = y.sum() * 1.0
    w = (y * y).sum()
    y.add_(1)
    (z + w).backward()


def e_numpy_requires_grad(T, leaves, res):
    leaf(T, leaves, V).numpy()


def e_array_requires_grad(T, leaves, res):
    np.asarray(leaf(T, leaves, V))


def e_view_non_contiguous(T, leaves, res):
    leaf(T, leaves, A).t().view(12)


def e_gradient_shape(T, leaves, res):
    x = leaf(T, leaves, V)
    (x * 2).backward(T.ones(3, dtype=T.float64))


ERRORS = [(e_non_scalar_backward, "grad can be implicitly created only for scalar outputs"),
          (e_second_backward, "Trying to backward through the graph a second time"),
          (e_inplace_leaf, "a leaf Variable that requires grad is being used in an in-place "
                           "operation."),
          (e_modified_saved, "one of the variables needed for gradient computation has been "
                             "modified by an inplace operation"),
          (e_numpy_requires_grad, "Can't call numpy() on Tensor that requires grad. Use "
                                  "tensor.detach().numpy() instead."),
          (e_array_requires_grad, "Can't call numpy() on Tensor that requires grad."),
          (e_view_non_contiguous, "view size is not compatible with input tensor's size and "
                                  "stride"),
          (e_gradient_shape, "Mismatch in shape")]


@pytest.mark.parametrize("prog,fragment", ERRORS, ids=[p.__name__[2:] for p, _ in ERRORS])
def test_error_agrees(prog, fragment):
    want, _, want_error = _run(prog, torch)
    assert want_error is not None, "the program must fail in PyTorch"
    agree(prog, fragment)


# ----- random programs ---------------------------------------------------------------------------
def _unary(name):
    return lambda T, t, o: getattr(t, name)()


STEPS = {
    "exp_tanh": lambda T, t, o: T.exp(T.tanh(t)),
    "sin": _unary("sin"), "sigmoid": _unary("sigmoid"), "relu": _unary("relu"),
    "abs": _unary("abs"), "square": lambda T, t, o: t * t,
    "pow3": lambda T, t, o: t ** 3, "div": lambda T, t, o: t / (1 + t * t) * 1.0,  # a quotient's vjp reads it here, not in torch
    "add_other": lambda T, t, o: t + o[0] if t.shape[-1:] == o[0].shape else t + 1,
    "mul_other": lambda T, t, o: t * o[0] if t.shape[-1:] == o[0].shape else t * 2,
    "sum": lambda T, t, o: t.sum(o[1] % t.ndim, keepdim=o[2]) if t.ndim else t.sum(),
    "mean": lambda T, t, o: t.mean(o[1] % t.ndim, keepdim=o[2]) if t.ndim else t.mean(),
    "max_dim": lambda T, t, o: t.max(o[1] % t.ndim, keepdim=o[2])[0] if t.ndim else t.max(),
    "sum_all": lambda T, t, o: t.sum(),
    "matmul": lambda T, t, o: t @ t.t() if t.ndim == 2 else T.dot(t, t) if t.ndim == 1 else t,
    "index": lambda T, t, o: t[o[1] % t.shape[0]] if t.ndim and t.shape[0] else t,
    "slice": lambda T, t, o: t[1:] if t.ndim and t.shape[0] > 1 else t,
    "index_tensor": lambda T, t, o: t[T.tensor([0, 0, t.shape[0] - 1])] if t.ndim else t,
    "view": lambda T, t, o: t.view(-1),
    "unsqueeze": lambda T, t, o: t.unsqueeze(0) if t.ndim < 3 else t,
    "transpose": lambda T, t, o: t.t() if t.ndim == 2 else t,
    "mul_": lambda T, t, o: t.mul_(o[0][0]),
    "add_": lambda T, t, o: t.add_(o[0].sum()),
    "exp_": lambda T, t, o: t.exp_() if t.ndim else t,
    "view_mul_": lambda T, t, o: (t[0].mul_(o[0][0]), t)[1] if t.ndim and t.shape[0] else t,
    "setitem": lambda T, t, o: (t.__setitem__(0, o[0].sum()), t)[1] if t.ndim else t,
    "clone": lambda T, t, o: t.clone(),
    "detach_plus": lambda T, t, o: t.detach() * 0.5 + t,
    "no_grad": lambda T, t, o: _no_grad_step(T, t),
}


def _no_grad_step(T, t):
    with T.no_grad():
        u = t * 2
    return t * u


def _random_program(steps, shape):
    def prog(T, leaves, res):
        data = np.cos(np.arange(int(np.prod(shape))) * 1.7 + 0.3).reshape(shape)
        x = leaf(T, leaves, data)
        other = (leaf(T, leaves, np.sin(np.arange(shape[-1]) + 1.0)), 0, False)
        t = x
        for name, dim, keepdim in steps:
            t = STEPS[name](T, t, (other[0], dim, keepdim))
            res.append(t)
        return [t]
    return prog


_STEP = st.tuples(st.sampled_from(sorted(STEPS)), st.integers(0, 3), st.booleans())


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_STEP, min_size=1, max_size=6),
       shape=st.sampled_from([(3,), (2, 3), (3, 3), (2, 1, 3)]))
def test_random_program_agrees(steps, shape):
    agree(_random_program(steps, shape))
