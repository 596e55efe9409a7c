"""The comparison workloads: both styles agree, and their values are the notes' closed forms."""
import time

import numpy as np
import pytest

from staticgraph.compare import WORKLOADS, compare, mlp, notes

BY_KEY = {w.key: w for w in WORKLOADS}


QUICK_SECONDS = {}


@pytest.fixture(scope="module")
def results():
    """Every workload compared once in quick mode (shared: the runs are the slow part)."""
    start = time.perf_counter()
    compared = {w.key: compare(w, quick=True) for w in WORKLOADS}
    QUICK_SECONDS["all"] = time.perf_counter() - start
    return compared


@pytest.mark.parametrize("key", [w.key for w in WORKLOADS])
def test_styles_agree_and_static_graph_does_not_grow(results, key):
    result = results[key]
    assert result.agrees
    assert result.value_diff <= 1e-9 and result.gradient_diff <= 1e-9
    steps = BY_KEY[key].quick_steps
    assert len(result.static.values) == len(result.eager.values) == steps
    assert len(result.static.step_s) == len(result.eager.step_s) == steps
    assert result.static.nodes_per_step == 0           # built once, run many times
    assert result.eager.nodes_per_step > 0             # recorded anew every step
    assert result.static.build_s > 0 and result.eager.build_s is None


def _static(results, key, step=0):
    return results[key].static.values[step]


def test_notes_closed_forms(results):
    x = notes.X
    dot, total, square = (_static(results, k) for k in ("dot", "sum", "square"))
    assert dot["y"] == 2 * x @ x == 28.0
    np.testing.assert_array_equal(dot["dy/dx"], 4 * x)
    np.testing.assert_array_equal(total["dy/dx"], np.ones(4))
    np.testing.assert_array_equal(square["dy/dx"], 2 * x)
    detach = _static(results, "detach")
    np.testing.assert_array_equal(detach["u"], x * x)
    np.testing.assert_array_equal(detach["dz/dx"], detach["u"])
    np.testing.assert_array_equal(detach["dy/dx"], 2 * x)


def test_linear_regression_loss_matches_the_chain_rule(results):
    values = _static(results, "linreg")
    b = notes.LINREG_X @ notes.LINREG_W - notes.LINREG_Y
    np.testing.assert_allclose(values["z"], b ** 2, rtol=1e-14)
    np.testing.assert_allclose(values["dz/dw"], 2 * b * notes.LINREG_X, rtol=1e-12)  # 2b·1·xᵀ
    np.testing.assert_allclose(values["dz/dx"], 2 * b * notes.LINREG_W, rtol=1e-12)


def _doublings(a: float) -> int:
    b, count = 2 * a, 0
    while abs(b) < 1000:
        b, count = 2 * b, count + 1
    return count


def test_control_flow_gradient_is_f_over_a_and_eager_records_the_unrolled_loop(results):
    result = results["control"]
    for values in result.static.values + result.eager.values:
        np.testing.assert_allclose(values["df/da"], values["f(a)"] / values["a"], rtol=1e-12)
    # Each eager step records a * 2, one multiply per doubling, and 100 * b on the negative branch.
    expected = [1 + _doublings(a) + (a < 0) for a in notes.A_VALUES[1:len(result.eager.values)]]
    assert result.eager.nodes_per_step == pytest.approx(np.mean(expected))
    ops = sorted(op for _, op in result.eager.graphs[0].nx.nodes(data="op"))
    assert "while_loop" not in ops and "cond" not in ops
    static_ops = {op for _, op in result.static.graphs[0].nx.nodes(data="op")}
    assert {"while_loop", "cond"} <= static_ops


def _numpy_loss(params, features, labels):
    hidden = np.maximum(features @ params["W1"] + params["b1"], 0.0)
    logits = hidden @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(labels)), labels])


@pytest.mark.parametrize("name, index", [("b2", (3,)), ("W2", (5, 7)), ("W1", (10, 4))])
def test_mlp_first_gradient_matches_finite_differences(results, name, index):
    params, (features, labels) = mlp.initial_params(), mlp.batch(0)
    eps = 1e-6
    plus, minus = ({k: v.copy() for k, v in params.items()} for _ in range(2))
    plus[name][index] += eps
    minus[name][index] -= eps
    numeric = (_numpy_loss(plus, features, labels) - _numpy_loss(minus, features, labels)) / \
        (2 * eps)
    first = _static(results, "mlp")
    assert first["loss"] == pytest.approx(_numpy_loss(params, features, labels), rel=1e-12)
    assert first[f"d{name}"][index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_mlp_training_lowers_the_loss_and_ends_with_the_same_weights(results):
    result = results["mlp"]
    losses = [v["loss"] for v in result.eager.values]
    assert losses[-1] < losses[0]
    assert set(result.static.final) == set(mlp.PARAMS)
    for name in mlp.PARAMS:
        np.testing.assert_allclose(result.static.final[name], result.eager.final[name], rtol=1e-9)
    assert result.eager.graph_nodes < result.static.graph_nodes  # no gradient or update nodes


def test_quick_mode_is_a_few_steps_per_workload(results):
    assert all(3 <= w.quick_steps <= 10 < w.steps for w in WORKLOADS)
    assert QUICK_SECONDS["all"] < 30  # about a second on an idle machine; a loose bound


def test_autograph_traces_the_eager_source_into_one_graph_that_agrees_with_the_hand_written_one(results):
    traced, by_hand = results["autograph"], results["control"]
    for mine, theirs in zip(traced.static.values, by_hand.static.values):
        np.testing.assert_array_equal(mine["f(a)"], theirs["f(a)"])
        np.testing.assert_array_equal(mine["df/da"], theirs["df/da"])
    graph = traced.static.graphs[0]
    ops = [d["op"] for _, d in graph.nx.nodes(data=True) if d["role"] == "forward"]
    assert ops.count("while_loop") == 1 and ops.count("cond") == 1
