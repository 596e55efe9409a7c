"""The optimised, planned executor computes what the reference executor computes: every op-table
row (values, gradients and second-order terms, known and unknown dims) and random graphs, run
with debug_memory=True so any read of a released buffer would show as NaN."""
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import staticgraph as sg
from staticgraph.compiler import memory
from tests.compiler.helpers import reference_values
from tests.fuzz_graphs import EXAMPLES, programs, value_and_gradients
from tests.op_table import ROWS

lowering = importlib.import_module("staticgraph.compiler.lower")  # the module, not the function

CASES = [(row, i) for row in ROWS for i in range(len(row.cases))]


def _fetches(row, xs, y):
    fetches = [y]
    if row.differentiable:
        grads = sg.gradients(y, xs, unconnected_gradients="zero")
        fetches += grads
        if row.smooth:
            fetches += sg.gradients(sg.add_n([sg.sum(g) for g in grads]), xs,
                                    unconnected_gradients="zero")
    return fetches


def _assert_same(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-13, atol=1e-13)
        assert np.shape(g) == np.shape(w)


@pytest.mark.parametrize("unknown", [False, True], ids=["known", "unknown"])
@pytest.mark.parametrize("row,case", CASES, ids=[f"{r.name}-{i}" for r, i in CASES])
def test_op_table_row_matches_the_reference(row, case, unknown, rng):
    shapes = row.cases[case]
    xs = [sg.placeholder(sg.float64, tuple(None for _ in s) if unknown else s, name=f"in{k}")
          for k, s in enumerate(shapes)]
    try:
        y = row.build(*xs)
    except sg.errors.InvalidArgumentError:
        pytest.skip("this op needs known dims")
    fetches = _fetches(row, xs, y)
    values = [row.sample(rng, s) for s in shapes]
    want = reference_values(sg.get_default_graph(), [f.name for f in fetches],
                            {x.name: v for x, v in zip(xs, values)})
    exe = sg.compile(fetches, feeds=xs, debug_memory=True)
    _assert_same(exe.run(dict(zip(xs, values))), want)
    _assert_same(exe.run(dict(zip(xs, values))), want)  # a second run reuses the buffers


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_match_the_reference(program):
    xs, fetches, values = value_and_gradients(program)
    want = reference_values(sg.get_default_graph(), [f.name for f in fetches],
                            {x.name: v for x, v in zip(xs, values)})
    for mode in ("plan", "naive"):
        exe = sg.compile(fetches, feeds=xs, memory=mode, debug_memory=True)
        _assert_same(exe.run(dict(zip(xs, values))), want)


def test_debug_memory_catches_a_plan_that_frees_too_early(monkeypatch):
    """With liveness cut short, buffers are reused while still needed: poisoning shows it."""
    x = sg.placeholder(sg.float64, (8,), name="x")
    a = sg.sin(x)
    y = sg.exp(a) * a + sg.cos(a)
    value = np.linspace(0, 1, 8)
    want = np.exp(np.sin(value)) * np.sin(value) + np.cos(np.sin(value))
    np.testing.assert_allclose(sg.compile(y, debug_memory=True).run({x: value}), want)

    def ends_too_soon(self, fetched):
        ends = {n: t for t, n in enumerate(self.schedule)}
        ends.update({f: len(self.schedule) for f in fetched if f in ends})
        return ends

    monkeypatch.setattr(memory._Liveness, "_ends", ends_too_soon)
    try:
        broken = sg.compile(y, debug_memory=True).run({x: value})
    except sg.errors.InvalidArgumentError as exc:  # a dead slot was read: emptied in debug mode
        assert "failed at node" in str(exc)
    else:
        assert np.isnan(broken).any()


def test_debug_memory_checks_each_result_against_its_shape_rule(monkeypatch):
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(sg.sin(x, name="s"), name="y")
    exe = sg.compile(y, debug_memory=True)
    real = lowering.get_op

    def lying_sin(name):
        op = real(name)
        if name != "sin":
            return op
        return op.__class__(op.name, lambda v, out=None: np.sin(v)[:2], op.shape_rule, op.vjp,
                            op.jvp, frozenset(op.traits - {"out"}), op.doc)

    monkeypatch.setattr(lowering, "get_op", lying_sin)
    exe = sg.compile(y, debug_memory=True)
    with pytest.raises(sg.errors.GraphError, match=r"node 's' produced .* shape \(2,\)"):
        exe.run({x: np.zeros(3)})
