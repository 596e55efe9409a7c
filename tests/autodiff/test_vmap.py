"""sg.vmap: every op-table row batched over 3 examples equals a Python loop over them (values and
per-example gradients, float64; with example dims known, and unknown until run time, which
reaches the run-time-shaped ops); every op has a rule or says why not; in_axes / out_axes,
nested maps, composition with gradients and jvp, control flow."""
from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.verify import verify
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.ops.registry import REGISTRY, NotBatchable
from staticgraph.ops import array as A
from tests.op_table import ROWS, Row

BATCH = 3
CASES = [(row, case) for row in ROWS for case in row.cases]


def _per_example_gradients(row):
    def grads(*xs):
        return sg.gradients(sg.sum(row.build(*xs)), list(xs), unconnected_gradients="zero")
    return grads


def _check_against_loop(fn, row, case, seed=0, unknown=False):
    rng = np.random.default_rng(seed)
    values = [row.sample(rng, (BATCH,) + tuple(shape)) for shape in case]
    graph = sg.Graph()
    with graph.as_default():
        shapes = [(None,) * len(s) if unknown else tuple(s) for s in case]
        batched_in = [sg.placeholder(sg.float64, (BATCH,) + s) for s in shapes]
        batched = sg.vmap(fn)(*batched_in)
        single_in = [sg.placeholder(sg.float64, s) for s in shapes]
        single = fn(*single_in)
        verify(graph)  # the batched nodes agree with their ops' shape rules
        sess = sg.Session()
        got = sess.run(batched, dict(zip(batched_in, values)))
        for i in range(BATCH):
            want = sess.run(single, {p: v[i] for p, v in zip(single_in, values)})
            for g, w in zip(sg.nest.flatten(got), sg.nest.flatten(want)):
                np.testing.assert_allclose(g[i], w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row,case", CASES, ids=[f"{r.name}-{c}" for r, c in CASES])
def test_vmap_equals_loop(row, case):
    _check_against_loop(row.build, row, case)


@pytest.mark.parametrize("row,case", [(r, c) for r, c in CASES if r.differentiable],
                         ids=[f"{r.name}-{c}" for r, c in CASES if r.differentiable])
def test_vmap_of_gradients_equals_loop_of_gradients(row, case):
    _check_against_loop(_per_example_gradients(row), row, case)


# Rows that need their example's dims known when built (a boolean mask, a shape argument).
NEEDS_KNOWN_DIMS = {"getitem_mask", "sparse_softmax_cross_entropy"}
UNKNOWN_ROWS = [(r, r.cases[-1]) for r in ROWS if r.differentiable and r.name not in NEEDS_KNOWN_DIMS]


@pytest.mark.parametrize("row,case", UNKNOWN_ROWS, ids=[r.name for r, _ in UNKNOWN_ROWS])
def test_vmap_with_unknown_example_dims_equals_loop(row, case):
    """Example dims unknown when built: the ops that read shapes at run time (shape, size, rank,
    count, reshape_like, keepdims_like, swap_last...) are batched too."""
    def value_and_gradients(*xs):
        y = row.build(*xs)
        return [y] + sg.gradients(sg.sum(y), list(xs), unconnected_gradients="zero")
    _check_against_loop(value_and_gradients, row, case, unknown=True)


def test_the_loop_tests_reach_every_batchable_op():
    """Every op with a batching rule is built by some row (known or unknown dims, values or
    gradients), so the loop tests above check its rule."""
    reached = set()
    for row in ROWS:
        for unknown in (False, True):
            graph = sg.Graph()
            with graph.as_default():
                shapes = [(None,) * len(s) if unknown else tuple(s) for s in row.cases[-1]]
                xs = [sg.placeholder(sg.float64, s) for s in shapes]
                try:
                    y = row.build(*xs)
                    if row.differentiable:
                        sg.gradients(sg.sum(y), xs, unconnected_gradients="zero")
                except (sg.errors.ShapeError, sg.errors.InvalidArgumentError):
                    continue
            reached |= _ops_in(graph)
    batchable = {name for name, op in REGISTRY.items() if not isinstance(op.batch, NotBatchable)}
    assert batchable - reached <= BUILT_BELOW, sorted(batchable - reached)


# Ops built only for an unknown rank, which a batched value never has: called directly below;
# and ops that the compiler's fusion pass makes after vmap has run (tests/compiler/test_fusion.py).
BUILT_BELOW = {"shape", "size", "rank", "swap_last", "keepdims_like", "fused", "fused_output"}


def test_run_time_shape_ops_equal_loop():
    def fn(x):
        to_float = [A.shape_(x, dtype=sg.int64), A.size_(x, dtype=sg.int64),
                    A.rank_(x, dtype=sg.int64)]
        return [sg.cast(t, x.dtype) for t in to_float] + [
            A.swap_last_(x) * 2.0, A.keepdims_like(sg.sum(x, axis=1), x, axis=1)]
    row = Row("shape_ops", fn, None, [[(2, 3, 4)]])
    _check_against_loop(fn, row, row.cases[0])
    _check_against_loop(fn, row, row.cases[0], unknown=True)


def _ops_in(graph) -> set:
    """The ops of a graph and of the sub-graphs its nodes hold (branches, loop bodies)."""
    ops = set()
    for _, node in graph.nx.nodes(data=True):
        ops.add(node["op"])
        for value in sg.nest.flatten(list(node["attrs"].values())):
            if hasattr(value, "nx"):
                ops |= _ops_in(value)
    return ops


def test_every_op_has_a_batching_rule_or_says_why_not():
    """A newly registered op must give a rule, be elementwise, or be marked NotBatchable."""
    for name, op in REGISTRY.items():
        assert op.batch is not None or "elementwise" in op.traits, \
            f"op {name} has no batching rule and is not marked NotBatchable(reason)"
        if isinstance(op.batch, NotBatchable):
            assert len(op.batch.reason) > 20, name


def test_an_op_that_cannot_be_batched_says_why():
    x = sg.placeholder(sg.float64, (BATCH, 2), name="x")
    v = sg.Variable(np.zeros(2))
    with pytest.raises(UnimplementedError, match=r"op assign .*updates a variable"):
        sg.vmap(lambda e: sg.assign(v, e))(x)
    with pytest.raises(UnimplementedError, match=r"op random_shuffle .*draws once per run"):
        sg.vmap(lambda e: sg.random_shuffle(e))(x)


def test_in_axes_none_shares_an_input_and_out_axes_moves_the_batch():
    rng = np.random.default_rng(1)
    xv, wv = rng.normal(size=(4, BATCH)), rng.normal(size=(4, 2))
    x = sg.placeholder(sg.float64, (4, BATCH))
    w = sg.placeholder(sg.float64, (4, 2))
    y = sg.vmap(lambda row, w: sg.tanh(sg.matmul(row, w)), in_axes=(1, None), out_axes=1)(x, w)
    assert y.shape == (2, BATCH)
    got = sg.Session().run(y, {x: xv, w: wv})
    np.testing.assert_allclose(got, np.tanh(xv.T @ wv).T)


def test_outer_tensors_are_captured_unbatched():
    wv = np.arange(6.0).reshape(3, 2)
    w = sg.constant(wv)
    x = sg.placeholder(sg.float64, (BATCH, 3))
    y = sg.vmap(lambda v: sg.matmul(v, w) + 1.0)(x)
    xv = np.ones((BATCH, 3))
    np.testing.assert_allclose(sg.Session().run(y, {x: xv}), xv @ wv + 1.0)


def test_nested_vmap_is_an_outer_product():
    a = sg.placeholder(sg.float64, (BATCH,))
    b = sg.placeholder(sg.float64, (4,))
    y = sg.vmap(lambda u: sg.vmap(lambda v: u * v + sg.sin(v), in_axes=0)(b), in_axes=0)(a)
    av, bv = np.arange(3.0), np.arange(4.0) + 1
    np.testing.assert_allclose(sg.Session().run(y, {a: av, b: bv}),
                               av[:, None] * bv[None, :] + np.sin(bv)[None, :])


def test_jvp_inside_vmap_gives_the_jacobian_columns():
    x = sg.placeholder(sg.float64, (3,))
    eye = sg.constant(np.eye(3))
    cols = sg.vmap(lambda t, x: sg.jvp(sg.tanh(x) * sg.sum(x), x, t)[0], in_axes=(0, None))(eye, x)
    xv = np.array([0.1, -0.4, 0.7])
    want = np.diag(1 - np.tanh(xv) ** 2) * xv.sum() + np.tanh(xv)[:, None]
    np.testing.assert_allclose(sg.Session().run(cols, {x: xv}), want.T)


def test_gradients_of_vmap():
    x = sg.placeholder(sg.float64, (BATCH, 2))
    y = sg.sum(sg.vmap(lambda v: sg.sum(v * v) * v[0])(x))
    (g,) = sg.gradients(y, x)
    xv = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    want = np.stack([2 * xv[:, 0] * xv[:, 0] + (xv * xv).sum(1), 2 * xv[:, 1] * xv[:, 0]], 1)
    np.testing.assert_allclose(sg.Session().run(g, {x: xv}), want)


def test_batched_graph_size_does_not_depend_on_the_batch():
    sizes = []
    for n in (2, 50):
        graph = sg.Graph()
        with graph.as_default():
            x = sg.placeholder(sg.float64, (n, 4))
            sg.vmap(lambda v: sg.gradients(sg.sum(sg.tanh(v) ** 2), v)[0])(x)
        sizes.append(len(graph))
    assert sizes[0] == sizes[1]


def test_bad_axes_and_sizes_are_errors():
    x = sg.placeholder(sg.float64, (BATCH, 2))
    y = sg.placeholder(sg.float64, (4, 2))
    with pytest.raises(InvalidArgumentError, match="batch sizes differ"):
        sg.vmap(lambda a, b: a + b)(x, y)
    with pytest.raises(InvalidArgumentError, match="out of range"):
        sg.vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(InvalidArgumentError, match="no argument is batched"):
        sg.vmap(lambda a: a, in_axes=None)(x)


def test_index_arrays_apart_put_the_batch_after_their_dims():
    """e[0, :, [1, 2]] puts the index dims first in each example; the batch follows them."""
    x = sg.placeholder(sg.float64, (None, 3, 4, 5))
    y = sg.vmap(lambda e: e[0, :, [1, 2]])(x)
    (g,) = sg.gradients(sg.sum(y * y), x)
    xv = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    got, grad = sg.Session().run([y, g], {x: xv})
    np.testing.assert_allclose(got, np.stack([e[0, :, [1, 2]] for e in xv]))
    want = np.zeros_like(xv)
    want[:, 0, :, 1:3] = 2 * xv[:, 0, :, 1:3]
    np.testing.assert_allclose(grad, want)


def test_cond_with_a_shared_predicate_stays_one_cond():
    x = sg.placeholder(sg.float64, (BATCH, 2))
    p = sg.placeholder(sg.bool, ())
    y = sg.vmap(lambda e, p: sg.cond(p, lambda: e * 2.0, lambda: sg.sin(e)), in_axes=(0, None))(x, p)
    ops = [d["op"] for _, d in y.graph.nx.nodes(data=True)]
    assert ops.count("cond") == 1 and "where" not in ops  # one branch runs, no select
    xv = np.arange(6.0).reshape(BATCH, 2)
    sess = sg.Session()
    np.testing.assert_allclose(sess.run(y, {x: xv, p: True}), xv * 2)
    np.testing.assert_allclose(sess.run(y, {x: xv, p: False}), np.sin(xv))


def test_while_loop_with_a_batched_condition_runs_each_example_its_own_count():
    """The notes' loop: double until the norm reaches 10, per example; gradient 2^k per example."""
    x = sg.placeholder(sg.float64, (None, 2))
    y = sg.vmap(lambda e: sg.while_loop(lambda b: sg.norm(b) < 10.0, lambda b: b * 2.0, [e]))(x)
    (g,) = sg.gradients(sg.sum(y), x)
    xv = np.array([[1.0, 0.0], [0.0, 4.0], [20.0, 0.0]])
    got, grad = sg.Session().run([y, g], {x: xv})
    np.testing.assert_allclose(got, [[16.0, 0.0], [0.0, 16.0], [20.0, 0.0]])
    np.testing.assert_allclose(grad, [[16.0, 16.0], [4.0, 4.0], [1.0, 1.0]])


def test_gradient_through_a_loop_with_a_batched_condition_inside_vmap_says_what_to_do():
    x = sg.placeholder(sg.float64, (BATCH, 2))

    def per_example(e):
        y = sg.while_loop(lambda b: sg.norm(b) < 10.0, lambda b: b * 2.0, [e])
        return sg.gradients(sg.sum(y), e)[0]
    with pytest.raises(UnimplementedError, match="take the gradient of the vmapped function"):
        sg.vmap(per_example)(x)


def test_per_example_gradients_equal_the_rows_of_a_batch_gradient():
    """vmap of gradients (per-example) vs gradients of vmap (summed over the batch): the
    per-example gradients of a shared weight sum to the batch gradient."""
    rng = np.random.default_rng(3)
    w = sg.placeholder(sg.float64, (3, 2))
    x = sg.placeholder(sg.float64, (5, 3))

    def loss(w, e):
        return sg.sum(sg.tanh(e @ w) ** 2)
    per_example = sg.vmap(lambda e, w: sg.gradients(loss(w, e), w)[0], in_axes=(0, None))(x, w)
    (total,) = sg.gradients(sg.sum(sg.vmap(lambda e, w: loss(w, e), in_axes=(0, None))(x, w)), w)
    wv, xv = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    rows, whole = sg.Session().run([per_example, total], {w: wv, x: xv})
    for i in range(5):
        h = np.tanh(xv[i] @ wv)
        np.testing.assert_allclose(rows[i], np.outer(xv[i], 2 * h * (1 - h ** 2)), rtol=1e-12)
    np.testing.assert_allclose(rows.sum(0), whole, rtol=1e-12)


def test_jacobian_as_vmap_of_vjps_and_jvp_of_vmap():
    """Rows by vmap over vjps, columns by vmap over jvps, and jvp through a vmapped function."""
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 4))
    x = sg.placeholder(sg.float64, (4,))
    f = lambda v: sg.tanh(sg.constant(a) @ v)  # noqa: E731
    rows = sg.vmap(lambda ct: sg.gradients(f(x), x, grad_ys=ct)[0])(sg.constant(np.eye(3)))
    cols = sg.vmap(lambda t: sg.jvp(f(x), x, t)[0], out_axes=1)(sg.constant(np.eye(4)))
    xs = sg.placeholder(sg.float64, (2, 4))
    t = sg.placeholder(sg.float64, (2, 4))
    (tangent,) = sg.jvp(sg.vmap(f)(xs), xs, t)
    xv, xsv, tv = rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    got_rows, got_cols, got_t = sg.Session().run([rows, cols, tangent], {x: xv, xs: xsv, t: tv})
    jac = (1 - np.tanh(a @ xv) ** 2)[:, None] * a
    np.testing.assert_allclose(got_rows, jac, rtol=1e-12)
    np.testing.assert_allclose(got_cols, jac, rtol=1e-12)
    np.testing.assert_allclose(got_t, (1 - np.tanh(xsv @ a.T) ** 2) * (tv @ a.T), rtol=1e-12)


def test_out_axes_none_and_bad_axes():
    x = sg.placeholder(sg.float64, (BATCH, 2))
    w = sg.constant(np.ones(2))
    shared, per = sg.vmap(lambda e: (w * 3.0, e * w), out_axes=(None, 1))(x)
    assert shared.shape == (2,) and per.shape == (2, BATCH)
    with pytest.raises(InvalidArgumentError, match="out_axes None is only"):
        sg.vmap(lambda e: e, out_axes=None)(x)
    with pytest.raises(InvalidArgumentError, match="out_axes 3 is out of range"):
        sg.vmap(lambda e: e, out_axes=3)(x)
    with pytest.raises(InvalidArgumentError, match="in_axes has 2 entries for 1 values"):
        sg.vmap(lambda e: e, in_axes=(0, 0))(x)


def test_structured_arguments_and_results_take_axes_as_tree_prefixes():
    """As JAX: one axis for a whole argument, or the argument's structure of axes."""
    x = sg.placeholder(sg.float64, (BATCH, 2))
    params = {"a": sg.constant(np.array([1.0, -1.0])), "b": sg.placeholder(sg.float64, (2, BATCH))}
    y = sg.vmap(lambda e, p: {"o": (e * p["a"], sg.sum(p["b"]) * e[0])},
                in_axes=(0, {"a": None, "b": 1}), out_axes={"o": (1, 0)})(x, params)
    assert y["o"][0].shape == (2, BATCH) and y["o"][1].shape == (BATCH,)
    xv, bv = np.arange(6.0).reshape(BATCH, 2), np.arange(6.0).reshape(2, BATCH)
    first, second = sg.Session().run(y, {x: xv, params["b"]: bv})["o"]
    np.testing.assert_allclose(first, (xv * [1.0, -1.0]).T)
    np.testing.assert_allclose(second, bv.sum(0) * xv[:, 0])
    with pytest.raises(InvalidArgumentError, match=r"in_axes has 3 entries for 2 values"):
        sg.vmap(lambda e, p: e, in_axes=(0, None, 0))(x, params)


def test_vmap_on_eager_tensors_runs_at_once_and_records_the_tape():
    """fn is traced once into a scratch graph; the batched ops run eagerly, and backward works."""
    from staticgraph import eager
    xv = np.array([[0.5, 1.0], [2.0, -3.0], [4.0, 5.0]])
    x = eager.tensor(xv, requires_grad=True)
    y = sg.vmap(lambda e: sg.sin(e) * sg.sum(e) * 2.0)(x)
    np.testing.assert_allclose(y.detach().numpy(), np.sin(xv) * xv.sum(1, keepdims=True) * 2)
    y.sum().backward()
    want = 2 * (np.cos(xv) * xv.sum(1, keepdims=True) + np.sin(xv).sum(1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), want)
    loops = sg.vmap(lambda e: sg.while_loop(lambda b: sg.norm(b) < 10.0, lambda b: b * 2.0, [e]))(x)
    np.testing.assert_allclose(loops.detach().numpy(), [[8.0, 16.0], [8.0, -12.0], [8.0, 10.0]])
    with pytest.raises(InvalidArgumentError, match="every argument must be an eager tensor"):
        sg.vmap(lambda e, w: e * w)(x, np.ones((3, 2)))


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shared_params", [False, True])
def test_gather_with_batched_indices_equals_loop(axis, shared_params):
    """Each example's own indices (into its own or shared params): values and gradients."""
    rng = np.random.default_rng(5)
    shape = (4, 5, 2)
    pv = rng.normal(size=shape if shared_params else (BATCH,) + shape)
    iv = rng.integers(0, shape[axis], size=(BATCH, 2, 3))

    def fn(p, i):
        y = sg.gather(p, i, axis=axis)
        return [y, sg.gradients(sg.sum(sg.sin(y) * y), p)[0]]
    params = sg.placeholder(sg.float64, pv.shape)
    indices = sg.placeholder(sg.int64, iv.shape)
    batched = sg.vmap(fn, in_axes=(None if shared_params else 0, 0))(params, indices)
    one_p, one_i = sg.placeholder(sg.float64, shape), sg.placeholder(sg.int64, (2, 3))
    single = fn(one_p, one_i)
    sess = sg.Session()
    got = sess.run(batched, {params: pv, indices: iv})
    for b in range(BATCH):
        want = sess.run(single, {one_p: pv if shared_params else pv[b], one_i: iv[b]})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g[b], w, rtol=1e-12)


@pytest.mark.parametrize("name", ["staticgraph.autodiff.vmap", "staticgraph.autodiff.derived"])
def test_docstring_examples(name):
    import doctest
    import importlib
    sg.reset_default_graph()
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_per_example_jacobians_and_hessians_and_nested_gradients():
    """vmap of jacobian (itself a vmap) and of hessian, and vmap of vmap of gradients."""
    rng = np.random.default_rng(6)
    x = sg.placeholder(sg.float64, (4, 3))
    rev = sg.vmap(lambda e: sg.jacobian(sg.tanh(e * 2.0) * sg.sum(e), e))(x)
    fwd = sg.vmap(lambda e: sg.jacobian(sg.tanh(e * 2.0) * sg.sum(e), e, mode="fwd"))(x)
    hess = sg.vmap(lambda e: sg.hessian(sg.sum(sg.sin(e)) * e[0], e))(x)
    y = sg.placeholder(sg.float64, (2, 4, 3))
    nested = sg.vmap(sg.vmap(lambda e: sg.gradients(sg.sum(e ** 3), e)[0]))(y)
    xv, yv = rng.normal(size=(4, 3)), rng.normal(size=(2, 4, 3))
    got_rev, got_fwd, got_hess, got_nested = sg.Session().run([rev, fwd, hess, nested],
                                                              {x: xv, y: yv})
    first = np.eye(3)[0]
    for e, jr, jf, h in zip(xv, got_rev, got_fwd, got_hess):
        t = np.tanh(2 * e)
        jac = np.diag(2 * (1 - t ** 2) * e.sum()) + t[:, None]
        np.testing.assert_allclose(jr, jac, rtol=1e-12)
        np.testing.assert_allclose(jf, jac, rtol=1e-12)
        want = np.outer(np.cos(e), first) + np.outer(first, np.cos(e)) - np.diag(np.sin(e)) * e[0]
        np.testing.assert_allclose(h, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_nested, 3 * yv ** 2, rtol=1e-12)
