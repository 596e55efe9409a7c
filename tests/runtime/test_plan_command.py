"""`staticgraph plan SCRIPT.py`: runs the script, compiles what it built and prints the plan."""
from staticgraph.cli import main

SCRIPT = '''
import numpy as np
import staticgraph as sg
x = sg.placeholder(sg.float32, (None, 16), name="x")
w = sg.Variable(np.zeros((16, 4), np.float32), name="w")
loss = sg.mean(sg.relu(x @ w), name="loss")
(dw,) = sg.gradients(loss, [w])
train = w.assign_sub(0.1 * dw, name="train")
init = sg.global_variables_initializer()
'''


def test_plan_prints_the_passes_schedule_and_memory(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    drawing = tmp_path / "plan.dot"
    assert main(["plan", str(script), "--feed", "x=8,16", "-o", str(drawing)]) == 0
    out = capsys.readouterr().out
    assert "['train']" in out and "specialize" in out and "x (8, 16)" in out
    assert "peak" in out and "lower bound" in out
    assert "buffer 0" in drawing.read_text()
    assert main(["plan", str(script), "--fetch", "loss", "--feed", "x=2,16", "--memory", "naive"]) == 0
    assert "memory (naive)" in capsys.readouterr().out


def test_plan_prints_the_python_the_program_runs_as(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    assert main(["plan", str(script), "--fetch", "loss", "--feed", "x=8,16", "--python"]) == 0
    out = capsys.readouterr().out
    assert "def run(env, state):" in out and "# 'loss'" in out
    assert "= matmul_" in out and "= relu_" in out


def test_plan_asks_for_unknown_dims_and_reports_a_missing_script(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    assert main(["plan", str(script)]) == 2
    assert "--feed x=" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "missing.py")]) == 2


def test_a_feed_shape_that_does_not_fit_says_so_in_plain_words(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    assert main(["plan", str(script), "--feed", "x=8,15"]) == 1
    err = capsys.readouterr().err
    assert "feed 'x' needs a full shape that fits its placeholder's (None, 16); got (8, 15)" in err
    assert "plan_for" not in err


def test_a_budget_in_kilobytes_is_taken(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    assert main(["memory", str(script), "--feed", "x=8,16", "--budget", "1KB", "--repeats", "1",
                 "-o", str(tmp_path / "m.png")]) == 0
    assert "remat @ 1000 B" in capsys.readouterr().out
