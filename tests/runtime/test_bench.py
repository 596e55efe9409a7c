"""A tiny smoke run of tools/bench.py: it runs, prints its table and writes its JSON."""
import contextlib
import importlib.util
import io
import json
import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench.py"
PEERS = {"torch": "PyTorch", "jax": "JAX", "pytensor": "PyTensor"}  # module: title


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The results of `bench.py --quick`, as returned and as written, and what it printed."""
    path, printed = tmp_path_factory.mktemp("bench") / "bench.json", io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = runpy.run_path(str(BENCH), run_name="bench")["main"](["--quick", "--json",
                                                                      str(path)])
    return results, json.loads(path.read_text()), printed.getvalue()


def test_bench_quick_run_writes_every_workload(quick_run):
    results, written, out = quick_run
    assert [r["workload"][:2] for r in written] == ["W1", "W1", "W2", "W3", "W3", "W5"]
    assert "Session.run" in written[0]["workload"] and "Executable.run" in written[1]["workload"]
    assert "numba kernels" in written[3]["workload"] or "numpy kernels" in written[3]["workload"]
    assert "numpy kernels" in written[4]["workload"]
    assert len(results) == 6
    for row in written[:5]:
        assert row["staticgraph"] > 0 and row["numpy"] > 0 and row["ratio"] > 0
    assert written[2]["products_ratio"] > 0 and "matrix products alone" in out
    assert written[2]["target_ratio"] == 0.80
    assert written[5]["planned_peak"] <= written[5]["naive"]
    assert written[5]["modes"]["remat"]["extra_steps"] > 0 and "remat_met" in written[5]
    assert "W1" in out
    for key, title in PEERS.items():
        installed = importlib.util.find_spec(key) is not None
        assert (title in out) == installed
        for row in written[:1] + written[2:4]:  # the direct path's and the second W3's have none
            assert (key in row) == installed and (f"{key}_ratio" in row) == installed
            if installed:
                assert row[key] > 0 and row[f"{key}_ratio"] > 0
                assert row[f"{key}_version"] and row[f"{key}_mode"]
        assert not any(key in row for row in (written[1], written[4]))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmRSS is read on Linux")
def test_bench_measures_resident_memory_of_fresh_processes(quick_run):
    _, written, out = quick_run
    resident = written[5]["resident"]
    assert set(resident) == {"staticgraph", "numpy"}
    for figures in resident.values():
        assert 0 < figures["after_import"] <= figures["after_setup"] <= figures["peak"]
        assert figures["setup_minus_import"] == pytest.approx(
            figures["after_setup"] - figures["after_import"])
    assert resident["staticgraph"]["after_setup"] > resident["staticgraph"]["after_import"]
    assert resident["staticgraph"]["after_import"] > resident["numpy"]["after_import"]
    assert "resident memory of a fresh process" in out


def test_compile_scaling_prints_times_and_ratios(capsys):
    results = runpy.run_path(str(BENCH), run_name="bench")["main"](["compile", "--quick"])
    assert [r["ops"] for r in results] == [200, 500]
    for r in results:
        assert r["build_s"] > 0 and r["compile_s"] > 0 and r["first_run_s"] > 0
        assert r["ratio"] == pytest.approx((r["compile_s"] + r["first_run_s"]) / r["build_s"])
    out = capsys.readouterr().out
    assert "(compile + first run) / build" in out and "simplify" in out and "compile time" in out


def test_without_the_peers_their_columns_are_left_out(tmp_path, capsys, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name in PEERS else find_spec(name, *args))
    runpy.run_path(str(BENCH), run_name="bench")["main"](["--quick", "--json",
                                                         str(tmp_path / "bench.json")])
    out = capsys.readouterr().out
    rows = json.loads((tmp_path / "bench.json").read_text())
    for key, title in PEERS.items():
        assert title not in out
        assert not any(field.startswith(key) for row in rows for field in row)
