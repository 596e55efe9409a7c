"""`explain_passes` and `staticgraph passes`: one drawing per changing pass, removals highlighted."""
import numpy as np

import staticgraph as sg
from staticgraph.cli import main
from staticgraph.compiler.explain_passes import explain_passes


def _graph():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        a = sg.sin(x)
        b = sg.sin(x)  # a twin for CSE to merge
        sg.identity((a + b) * 1.0, name="y")
    return g


def test_each_change_is_listed_and_drawn(tmp_path):
    changes = explain_passes(_graph(), ["y"], ["x"], tmp_path, fmt="dot")
    removed = {name for c in changes for name in c.removed}
    assert {"sin_1", "multiply"} <= removed
    cse = next(c for c in changes if c.name == "eliminate_common_subexpressions" and c.removed)
    assert cse.removed == ("sin_1",) and cse.nodes_after == cse.nodes_before - 1
    text = cse.drawing.read_text()
    assert '"sin_1"' in text and "#cc0000" in text and "dashed" in text
    assert all(c.drawing is None for c in changes if not (c.removed or c.added))
    summary = (tmp_path / "summary.md").read_text()
    assert "| eliminate_common_subexpressions |" in summary and "sin_1" in summary


def test_a_redefined_node_counts_as_added(tmp_path):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4, 128), name="x")
        w = sg.Variable(np.zeros((128, 128)), name="w")  # large enough to fuse
        w.assign_sub(0.1 * sg.matmul(sg.transpose(x), x), name="step")
    changes = explain_passes(g, ["step"], ["x"], tmp_path, fmt="dot")
    fuse = next(c for c in changes if c.name == "fuse_updates")
    assert fuse.added == ("step",) and set(fuse.removed) == {"matmul", "multiply", "transpose",
                                                              "Const"}
    assert "assign_add_matmul" in fuse.drawing.read_text()


def test_cli_passes_command(tmp_path, capsys):
    script = tmp_path / "model.py"
    script.write_text("import staticgraph as sg\n"
                      "x = sg.placeholder(sg.float64, (3,), name='x')\n"
                      "y = sg.identity(sg.sin(x) * 1.0 + sg.sin(x), name='y')\n")
    assert main(["passes", str(script), "--out", str(tmp_path / "out"), "--format", "dot"]) == 0
    printed = capsys.readouterr().out
    assert "simplify" in printed and "wrote" in printed
    assert any(p.suffix == ".dot" for p in (tmp_path / "out").iterdir())
