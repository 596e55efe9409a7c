"""Generic tests over the op table: values, shape rules, dtypes, gradients and second order."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.ops.registry import REGISTRY
from tests.op_table import ROWS

CASES = [(row, i) for row in ROWS for i in range(len(row.cases))]
IDS = [f"{row.name}-{i}" for row, i in CASES]


def _build(row, shapes, dtype=sg.float64, unknown=False):
    xs = [sg.placeholder(dtype, tuple(None for _ in s) if unknown else s, name=f"in{k}")
          for k, s in enumerate(shapes)]
    return xs, row.build(*xs)


def _inputs(row, shapes, rng):
    return [row.sample(rng, s) for s in shapes]


@pytest.mark.parametrize("row,case", CASES, ids=IDS)
def test_value_shape_and_dtype(row, case, rng):
    shapes = row.cases[case]
    values = _inputs(row, shapes, rng)
    for dtype in (sg.float64, sg.float32):
        sg.reset_default_graph()
        xs, y = _build(row, shapes, dtype)
        arrays = [v.astype(dtype) for v in values]
        out = np.asarray(sg.Session().run(y, dict(zip(xs, arrays))))
        np.testing.assert_allclose(out, row.ref(*values), rtol=1e-5 if dtype == sg.float32 else 1e-12,
                                   atol=1e-5 if dtype == sg.float32 else 1e-12)
        assert out.shape == y.shape, "shape rule disagrees with the kernel"
        assert out.dtype == y.dtype, "dtype rule disagrees with the kernel"


@pytest.mark.parametrize("row,case", CASES, ids=IDS)
def test_unknown_dims(row, case, rng):
    """With every dim unknown at build time, values and gradients equal the known-shape ones."""
    shapes = row.cases[case]
    values = _inputs(row, shapes, rng)
    results = []
    for unknown in (False, True):
        sg.reset_default_graph()
        try:
            xs, y = _build(row, shapes, unknown=unknown)
        except sg.errors.InvalidArgumentError as exc:
            assert unknown and "known" in str(exc)
            return
        static = y.shape
        fetches = [y]
        if row.differentiable:
            fetches += [g for g in sg.gradients(y, xs, unconnected_gradients="zero")]
        out = sg.Session().run(fetches, dict(zip(xs, values)))
        assert len(static) == np.ndim(out[0])
        assert all(d is None or d == a for d, a in zip(static, np.shape(out[0])))
        results.append(out)
    for known, unknown in zip(*results):
        np.testing.assert_allclose(unknown, known, rtol=1e-12)


DIFF = [(row, i) for row, i in CASES if row.differentiable and "stops" not in row.tags]


@pytest.mark.parametrize("row,case", DIFF, ids=[f"{r.name}-{i}" for r, i in DIFF])
def test_gradient_matches_finite_differences(row, case, rng):
    shapes = row.cases[case]
    xs, y = _build(row, shapes)
    sg.testing.gradcheck(y, xs, dict(zip(xs, _inputs(row, shapes, rng))))


SMOOTH = [(row, i) for row, i in DIFF if row.smooth]


@pytest.mark.parametrize("row,case", SMOOTH, ids=[f"{r.name}-{i}" for r, i in SMOOTH])
def test_second_order_matches_finite_differences(row, case, rng):
    """d/dx <grad y(x), v> checked against finite differences of the first gradient."""
    shapes = row.cases[case]
    xs, y = _build(row, shapes)
    grads = sg.gradients(sg.sum(y * sg.constant(rng.uniform(0.5, 1.5, size=np.shape(np.zeros(y.shape))))), xs,
                         unconnected_gradients="zero")
    vs = [sg.constant(rng.normal(size=s)) for s in shapes]
    inner = sg.add_n([sg.sum(g * v) for g, v in zip(grads, vs)])
    sg.testing.gradcheck(inner, xs, dict(zip(xs, _inputs(row, shapes, rng))), atol=1e-4, rtol=1e-3)


def test_non_differentiable_rows_give_no_gradient():
    for row in ROWS:
        if row.differentiable:
            continue
        sg.reset_default_graph()
        xs, y = _build(row, row.cases[0])
        assert sg.gradients(y, xs) == [None] * len(xs), row.name


def _ops_reached(row, unknown: bool) -> set:
    sg.reset_default_graph()
    try:
        xs, y = _build(row, row.cases[0], unknown=unknown)
    except sg.errors.InvalidArgumentError:
        return set()
    if row.differentiable:
        grads = sg.gradients(y, xs, unconnected_gradients="zero")
        if row.smooth:
            sg.gradients(sg.add_n([sg.sum(g) for g in grads]), xs)
    return _ops_in(sg.get_default_graph())


def _ops_in(graph) -> set:
    """Op names in `graph` and in the sub-graphs (branches, loop bodies) its nodes hold."""
    ops = set()
    for _, data in graph.nx.nodes(data=True):
        ops.add(data["op"])
        stack = list(data["attrs"].values())
        while stack:
            value = stack.pop()
            if isinstance(value, sg.Graph):
                ops |= _ops_in(value)
            elif isinstance(value, (tuple, list)):
                stack.extend(value)
    return ops


def test_every_op_has_a_row():
    """A meta-test: each registered op appears in some row's forward or gradient graph."""
    reached = set().union(*(_ops_reached(row, unknown) for row in ROWS for unknown in (False, True)))
    missing = set(REGISTRY) - reached - {"variable", "assign", "assign_add", "assign_sub",
                                         "assign_add_matmul", "no_op",
                                         # values are serialized protos: tests/tf1/test_summary.py
                                         "summary_scalar", "summary_histogram", "summary_merge",
                                         # its vjp is the user's: tests/tf1/test_control_flow_tf1.py
                                         "custom_gradient",
                                         # draws differ at each run: tests/tf1/test_random.py
                                         "random_standard_normal", "random_uniform",
                                         "random_uniform_int", "truncated_normal",
                                         "random_shuffle",
                                         # constants unless the rank is unknown:
                                         # tests/tf1/test_unknown_rank.py
                                         "shape", "size", "rank", "keepdims_like", "swap_last",
                                         # made by the fusion pass from rows' ops:
                                         # tests/compiler/test_fusion.py
                                         "fused", "fused_output"}
    missing = {name for name in missing if not name.startswith("user_")}
    assert not missing, f"ops without a row in tests/op_table.py: {sorted(missing)}"
