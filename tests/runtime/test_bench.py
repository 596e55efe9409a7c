"""A tiny smoke run of tools/bench.py: it runs, prints its table and writes its JSON."""
import importlib.util
import json
import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench.py"


def test_bench_quick_run_writes_every_workload(tmp_path, capsys):
    out = tmp_path / "bench.json"
    results = runpy.run_path(str(BENCH), run_name="bench")["main"](["--quick", "--json", str(out)])
    written = json.loads(out.read_text())
    assert [r["workload"][:2] for r in written] == ["W1", "W1", "W2", "W3", "W3", "W5"]
    assert "Session.run" in written[0]["workload"] and "Executable.run" in written[1]["workload"]
    assert "numba kernels" in written[3]["workload"] or "numpy kernels" in written[3]["workload"]
    assert "numpy kernels" in written[4]["workload"]
    assert len(results) == 6
    for row in written[:5]:
        assert row["staticgraph"] > 0 and row["numpy"] > 0 and row["ratio"] > 0
    assert written[5]["planned_peak"] <= written[5]["naive"]
    assert written[5]["modes"]["remat"]["extra_steps"] > 0 and "remat_met" in written[5]
    assert "W1" in capsys.readouterr().out
    has_torch = importlib.util.find_spec("torch") is not None
    for row in written[:1] + written[2:4]:  # the direct path's and numpy kernels' have none
        assert ("torch" in row) == has_torch and ("torch_ratio" in row) == has_torch


def test_compile_scaling_prints_times_and_ratios(capsys):
    results = runpy.run_path(str(BENCH), run_name="bench")["main"](["compile", "--quick"])
    assert [r["ops"] for r in results] == [200, 500]
    for r in results:
        assert r["build_s"] > 0 and r["compile_s"] > 0 and r["first_run_s"] > 0
        assert r["ratio"] == pytest.approx((r["compile_s"] + r["first_run_s"]) / r["build_s"])
    out = capsys.readouterr().out
    assert "(compile + first run) / build" in out and "simplify" in out and "compile time" in out


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is optional")
def test_without_pytorch_the_column_is_left_out(tmp_path, capsys, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "torch" else find_spec(name, *args))
    runpy.run_path(str(BENCH), run_name="bench")["main"](["--quick", "--json",
                                                         str(tmp_path / "bench.json")])
    assert "PyTorch" not in capsys.readouterr().out
    assert not any("torch" in row for row in json.loads((tmp_path / "bench.json").read_text()))
