"""Every script in examples/ runs in quick mode, exits 0 and prints what it promises."""
import os
import runpy
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "__init__.py")
QUICK_ENV = "STATICGRAPH_EXAMPLE_QUICK"

# What each example must print (examples not listed must still run and print something).
PRINTS = {
    "notes_static.py": ["notes §3.1-3.3, static style", "closed form"],
    "notes_eager.py": ["tensor(28., grad_fn=<MulBackward0>)", "ok   a.grad == f(a)/a"],
    "control_flow.py": ["f(a)/a", "graph written to"],
    "autograph_f.py": ["ag__.while_stmt", "one trace for every a: 1 trace"],
    "jacobians.py": ["match=True", "Hessian"],
    "where_nan_trap.py": ["safe pattern", "nan"],
    "linear_regression.py": ["static graph built once", "(agree)"],
    "mlp_digits.py": ["held-out loss", "accuracy"],
    "save_restore.py": ["a new session holds no variables", "does: True"],
    "distributed.py": ["same variables as one process: True", "result chunks"],
    "compiled_step.py": ["fuse_updates", "(in place)", "the first five", "changes nothing: True"],
}


def run_example(path: Path) -> int:
    """Run `path` as `python path` would (in-process, for speed); return its exit code."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv, sys.path[:0] = [str(path)], [str(path.parent)]
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_in_quick_mode(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # examples write their drawings under ./out
    monkeypatch.setenv(QUICK_ENV, "1")
    with np.errstate(all="ignore"):
        code = run_example(path)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.strip()
    for text in PRINTS.get(path.name, []):
        assert text in printed


def test_every_listed_example_exists():
    assert set(PRINTS) <= {p.name for p in EXAMPLES}


def test_quick_flag_from_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != QUICK_ENV}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "linear_regression.py"),
                           "--quick"], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert "50 samples, 20 full-batch steps" in done.stdout and "(agree)" in done.stdout


def test_mlp_example_uses_scikit_learn_digits_when_installed(monkeypatch):
    from examples import mlp_digits

    def load_digits():
        rng = np.random.default_rng(0)
        return types.SimpleNamespace(data=rng.integers(0, 17, (40, 64)).astype(float),
                                     target=rng.integers(0, 10, 40))
    datasets = types.ModuleType("sklearn.datasets")
    datasets.load_digits = load_digits
    monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", datasets)
    features, labels, source = mlp_digits.load_digits()
    assert source == "scikit-learn's digits"
    assert features.shape == (40, 64) and 0 <= features.min() and features.max() <= 1
    assert labels.dtype == np.int64


def test_mlp_example_feeds_its_learning_rate_schedule():
    from examples import mlp_digits
    assert [mlp_digits.learning_rate(e) for e in (0, 9, 10, 25)] == [0.05, 0.05, 0.025, 0.0125]
    graph, (x, labels, rate), *_ = mlp_digits.build()
    assert graph.node(rate.name)["op"] == "placeholder" and rate.shape == ()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_help_describes_the_arguments_and_writes_nothing(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_example_argv(path, ["--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: {path.name}")
    assert list(tmp_path.iterdir()) == []


def test_an_option_is_never_taken_for_a_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_example_argv(ROOT / "examples" / "notes_static.py", ["--quick"]) == 2
    assert "unrecognized arguments: --quick" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "no directory named --quick"
    monkeypatch.setenv(QUICK_ENV, "0")
    assert run_example_argv(ROOT / "examples" / "save_restore.py", ["--quick", "saved"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["saved"]


def run_example_argv(path: Path, argv: list[str]) -> int:
    """`run_example` with command-line arguments."""
    saved = sys.argv
    sys.argv = [str(path), *argv]
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return 0
