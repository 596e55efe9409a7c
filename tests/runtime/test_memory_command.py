"""compare_memory_modes, `staticgraph memory SCRIPT.py` and tools/memory_plot.py."""
import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.cli import main
from staticgraph.runtime.memory_modes import (compare_memory_modes, format_table,
                                              initialised_store, parse_bytes, sample_feeds)

TOOL = Path(__file__).resolve().parents[2] / "tools" / "memory_plot.py"
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib not installed")

SCRIPT = '''
import numpy as np
import staticgraph as sg
x = sg.placeholder(sg.float32, (None, 64), name="x")
h = x
weights = []
for i in range(9):
    w = sg.Variable(np.full((64, 64), 0.01, np.float32), name=f"w{i}")
    weights.append(w)
    h = sg.tanh(h @ w)
loss = sg.mean(h * h, name="loss")
grads = sg.gradients(loss, weights)
train = sg.group(*[w.assign_sub(0.1 * g) for w, g in zip(weights, grads)], name="train")
init = sg.global_variables_initializer()
'''


def _training_step(layers=9, width=64, batch=32):
    rng = np.random.default_rng(0)
    x = sg.placeholder(sg.float64, (batch, width), name="x")
    h, weights = x, []
    for i in range(layers):
        weights.append(sg.Variable(rng.standard_normal((width, width)) * 0.1, name=f"w{i}"))
        h = sg.tanh(h @ weights[-1])
    loss = sg.mean(h * h)
    grads = sg.gradients(loss, weights)
    train = sg.group(*[w.assign_sub(0.1 * g) for w, g in zip(weights, grads)])
    return x, weights, loss, train


def test_the_three_modes_give_their_figures_and_leave_the_variables_alone():
    x, weights, loss, train = _training_step()
    store = initialised_store(sg.get_default_graph())
    before = dict(store.values)
    figures = compare_memory_modes([loss, train], {x: np.ones((32, 64))}, repeats=2, store=store)
    naive, plan, remat = figures
    assert [f.mode for f in figures] == ["naive", "plan", "remat"]
    assert naive.peak_bytes > plan.peak_bytes > remat.peak_bytes
    assert naive.extra_steps == plan.extra_steps == 0 < remat.extra_steps
    assert remat.computed_bytes > plan.computed_bytes == naive.computed_bytes
    assert all(f.seconds_per_run > 0 for f in figures)
    assert store.values == before
    table = format_table(figures)
    assert table.splitlines()[2].startswith("plan") and "1.00x" in table.splitlines()[2]


def test_a_budget_names_the_remat_row_and_is_honoured():
    x, weights, loss, train = _training_step()
    store = initialised_store(sg.get_default_graph())
    plain = sg.compile([loss, train]).memory.peak_bytes
    budgets = [plain * 3 // 4, plain * 2 // 3]
    figures = compare_memory_modes([loss, train], {x: np.ones((32, 64))}, budgets, repeats=1,
                                   store=store)
    assert [f.budget_bytes for f in figures] == [None, None] + budgets
    for f, budget in zip(figures[2:], budgets):
        assert f.label.startswith("remat @") and f.peak_bytes <= budget


def test_byte_counts_and_sampled_feeds():
    assert parse_bytes("12MiB") == 12 << 20 and parse_bytes("1.5 KiB") == 1536
    assert parse_bytes("1000") == 1000
    assert parse_bytes("1KB") == 1000 and parse_bytes("2MB") == 2_000_000
    assert parse_bytes("1.5GB") == 1_500_000_000 and parse_bytes("1GiB") == 1 << 30
    with pytest.raises(ValueError):
        parse_bytes("12 parsecs")
    g = sg.Graph()
    with g.as_default():
        sg.placeholder(sg.float32, (None, 3), name="x")
        sg.placeholder(sg.int32, (2,), name="k")
    values = sample_feeds(g, {"x": (4, 3), "k": (2,)})
    assert values["x"].shape == (4, 3) and values["x"].dtype == np.float32
    np.testing.assert_array_equal(values["k"], np.zeros(2, np.int32))


@needs_matplotlib
def test_staticgraph_memory_prints_the_table_and_draws_the_timelines(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    picture = tmp_path / "memory.png"
    args = ["memory", str(script), "--feed", "x=32,64", "--repeats", "1", "-o", str(picture)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "naive" in out and "remat" in out and "recomputed" in out and "wrote" in out
    assert picture.read_bytes()[:4] == b"\x89PNG"
    assert main(args[:4] + ["--budget", "1KiB", "--repeats", "1"]) == 1
    assert "give budget_bytes >=" in capsys.readouterr().err
    assert main(["memory", str(script)]) == 2
    assert "--feed x=" in capsys.readouterr().err


@needs_matplotlib
def test_the_tool_draws_the_deep_mlp(tmp_path, capsys):
    picture = tmp_path / "mlp.png"
    assert runpy.run_path(str(TOOL), run_name="memory_plot")["main"](
        ["--repeats", "1", "-o", str(picture)]) == 0
    assert "remat" in capsys.readouterr().out and picture.stat().st_size > 10_000


def test_the_report_counts_in_english():
    x = sg.placeholder(sg.float64, (3,), name="x")
    report = sg.compile(sg.negative(x)).memory.report()
    assert "1 step (" in report and "0 buffers," in report and "0 variable updates in place" in report
