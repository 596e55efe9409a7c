"""The command line, run in-process through `main([...])`: `dot`, `demo`, and the command table."""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from staticgraph import cli

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

SCRIPT = textwrap.dedent("""
    import sys
    import staticgraph as sg
    from helper import SIZE  # a module beside the script, as with `python script.py`
    x = sg.placeholder(sg.float64, (SIZE,), name="x")
    with sg.name_scope("model"):
        y = sg.sum(sg.sin(x) * x, name="y")
    (dx,) = sg.gradients(y, [x])
    print("script argv:", sys.argv[1:])
    sys.exit(0)
""")


@pytest.fixture
def script(tmp_path):
    (tmp_path / "helper.py").write_text("SIZE = 3\n")
    path = tmp_path / "build.py"
    path.write_text(SCRIPT)
    return path


def test_dot_writes_the_graph_a_script_builds(script, tmp_path, capsys):
    out = tmp_path / "drawings" / "g.dot"
    assert cli.main(["dot", str(script), "-o", str(out)]) == 0
    text = out.read_text()
    assert '"model/y"' in text and '"gradients/' in text and '"x"' in text
    printed = capsys.readouterr().out
    assert "script argv: []" in printed and "wrote" in printed


def test_dot_show_keeps_only_the_roles_asked_for(script, tmp_path):
    out = tmp_path / "g.dot"
    assert cli.main(["dot", str(script), "-o", str(out), "--show", "forward"]) == 0
    text = out.read_text()
    assert '"model/y"' in text and '"gradients/' not in text


@needs_graphviz
def test_dot_renders_svg(script, tmp_path):
    out = tmp_path / "g.svg"
    assert cli.main(["dot", str(script), "-o", str(out), "--title", "sin(x) x"]) == 0
    assert "<svg" in out.read_text()


def test_dot_starts_from_a_fresh_default_graph(script, tmp_path):
    import staticgraph as sg
    sg.placeholder(sg.float64, (), name="left_over")
    out = tmp_path / "g.dot"
    assert cli.main(["dot", str(script), "-o", str(out)]) == 0
    assert "left_over" not in out.read_text()


def test_dot_errors(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as bad_role:
        cli.main(["dot", str(script), "-o", str(tmp_path / "g.dot"), "--show", "forwards"])
    assert bad_role.value.code == 2 and "unknown role" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["dot", str(script), "-o", str(tmp_path / "g.txt")])
    assert ".svg" in capsys.readouterr().err
    assert cli.main(["dot", str(tmp_path / "missing.py"), "-o", str(tmp_path / "g.dot")]) == 2
    empty = tmp_path / "empty.py"
    empty.write_text("print('nothing built')\n")
    assert cli.main(["dot", str(empty), "-o", str(tmp_path / "g.dot")]) == 1
    assert "added no nodes to the default graph and ran no Session" in capsys.readouterr().err
    failing = tmp_path / "failing.py"
    failing.write_text("import sys\nsys.exit(3)\n")
    assert cli.main(["dot", str(failing), "-o", str(tmp_path / "g.dot")]) == 3


def test_demo_runs_the_notes(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "closed form" in printed and "False" not in printed
    assert (tmp_path / "notes.dot").exists()


def test_a_new_subcommand_is_one_table_row(monkeypatch, capsys):
    calls = []
    row = cli.Command("say hello", lambda p: p.add_argument("--name", default="world"),
                      lambda args: calls.append(args.name) or 0)
    monkeypatch.setitem(cli.COMMANDS, "hello", row)
    assert cli.main(["hello", "--name", "graph"]) == 0
    assert calls == ["graph"]
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "say hello" in capsys.readouterr().out


def test_python_dash_m_staticgraph():
    done = subprocess.run([sys.executable, "-m", "staticgraph", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("staticgraph ")


def test_building_the_parser_runs_no_tool(monkeypatch):
    from staticgraph.compare import modes

    def fail(*args, **kwargs):
        raise AssertionError("a tool ran while the parser was being built")
    monkeypatch.setattr(modes, "sweep", fail)
    args = cli.build_parser().parse_args(["modes", "--quick", "--out", "elsewhere"])
    assert args.quick and args.out == "elsewhere"


def test_modes_and_memory_work_from_an_installed_package(tmp_path):
    """Only the package, as a regular (non-editable) install has it: no tools/ beside it."""
    site = tmp_path / "site"
    shutil.copytree(Path(cli.__file__).parent, site / "staticgraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.py").write_text("import staticgraph as sg\n"
                                  "x = sg.placeholder(sg.float64, (3,), name='x')\n"
                                  "(dx,) = sg.gradients(sg.sum(sg.sin(x) * x), [x])\n")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    modes = subprocess.run([sys.executable, "-m", "staticgraph", "modes", "--quick", "--out", "o"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert modes.returncode == 0, modes.stderr
    assert "rev/fwd run time" in modes.stdout and (work / "o" / "modes.png").stat().st_size > 0
    memory = subprocess.run([sys.executable, "-m", "staticgraph", "memory", "tiny.py", "--repeats",
                             "1", "-o", "m.png"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=300)
    assert memory.returncode == 0, memory.stderr
    assert (work / "m.png").stat().st_size > 0 and "wrote m.png" in memory.stdout


def test_memory_plot_picks_a_unit_that_fits():
    from staticgraph.compare.memory_plot import unit_for
    assert unit_for(96) == (1, "B")
    assert unit_for(3 * 1024) == (1024, "KiB")
    assert unit_for(12 << 20) == (1 << 20, "MiB")


@pytest.mark.parametrize("command", ["plan", "memory", "passes"])
def test_an_unknown_fetch_names_the_results(command, script, tmp_path, capsys):
    assert cli.main([command, str(script), "--fetch", "y"]) == 2
    err = capsys.readouterr().err
    assert f"staticgraph {command}: no node named 'y'" in err and "its results are " in err
    results, others = err.split("its results are ")[1].split("; other nodes include ")
    assert results == "gradients/add_n" and "model/y" in others.split(", ")


def test_passes_says_when_it_writes_dot_for_want_of_graphviz(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    assert cli.main(["passes", str(script), "--out", str(tmp_path / "p")]) == 0
    assert "writing .dot instead of .svg" in capsys.readouterr().err
    assert list((tmp_path / "p").glob("*.dot")) and not list((tmp_path / "p").glob("*.svg"))


def test_backprop_writes_a_page_stepping_through_the_gradient(tmp_path, capsys):
    import json
    import re

    import numpy as np
    script = tmp_path / "regression.py"
    script.write_text(textwrap.dedent("""
        import staticgraph as sg
        x = sg.placeholder(sg.float64, (3,), name="x")
        w = sg.placeholder(sg.float64, (3,), name="w")
        z = sg.square(sg.dot(x, w, name="a") - 1.0, name="z")
    """))
    page = tmp_path / "page.html"
    assert cli.main(["backprop", str(script), "-o", str(page), "--feed", "x=1,2,3",
                     "--feed", "w=2"]) == 0
    assert "the gradient of z with respect to x, w" in capsys.readouterr().out
    data = re.search(r'id="steps-data">(.*?)</script>', page.read_text(), re.S).group(1)
    steps = {s["heading"]: s["data"] for s in json.loads(data)}
    a = np.dot([1, 2, 3], [2, 2, 2])
    np.testing.assert_allclose(steps["∂z/∂x"], 2 * (a - 1) * np.array([2.0, 2, 2]))
    np.testing.assert_allclose(steps["∂z/∂w"], 2 * (a - 1) * np.array([1.0, 2, 3]))
    assert cli.main(["backprop", str(script), "-o", str(page), "--feed", "x=1,2"]) == 2
    assert "does not fit" in capsys.readouterr().err
    assert cli.main(["backprop", str(script), "-o", str(page), "--y", "nope"]) == 2
    assert "no node named 'nope'" in capsys.readouterr().err


GRAPH_IN_A_FUNCTION = textwrap.dedent("""
    import staticgraph as sg
    kept = sg.Graph()
    with kept.as_default():
        sg.placeholder(sg.float64, (), name="module_level")

    def main():
        graph = sg.Graph()
        with graph.as_default():
            x = sg.placeholder(sg.float64, (2,), name="inside")
            y = sg.reduce_sum(x * x, name="y")
        sg.Session(graph).run(y, {x: [1.0, 2.0]})

    if __name__ == "__main__":
        main()
""")


@pytest.mark.parametrize("command", ["dot", "plan"])
def test_a_graph_built_in_a_function_is_found_through_its_session(command, tmp_path, capsys):
    script = tmp_path / "own_graph.py"
    script.write_text(GRAPH_IN_A_FUNCTION)
    out = tmp_path / "g.dot"
    args = ["-o", str(out)]
    assert cli.main([command, str(script), *args, "--feed", "inside=2"] if command == "plan"
                    else [command, str(script), *args]) == 0
    assert '"inside"' in out.read_text() and "module_level" not in out.read_text()
    assert cli.main([command, str(script), *args, "--graph", "kept"]) == 0
    assert '"module_level"' in out.read_text()
    assert cli.main([command, str(script), *args, "--graph", "nope"]) == 2
    assert "its Graphs are: kept" in capsys.readouterr().err


def test_dot_draws_a_shipped_example(tmp_path, capsys):
    example = Path(__file__).parents[1] / "examples" / "where_nan_trap.py"
    assert cli.main(["dot", str(example), "-o", str(tmp_path / "trap.dot")]) == 0
    assert '"x"' in (tmp_path / "trap.dot").read_text()
