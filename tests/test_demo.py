"""The notes' demo: its values equal the closed forms exactly, and it draws its graph."""
import shutil

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.demos import notes

X = np.arange(4.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("notes")
    return notes.main(out), out


def test_values_equal_the_closed_forms_exactly(demo):
    results, _ = demo
    expected = {"y": 28.0, "dy_dx": [0.0, 4.0, 8.0, 12.0], "dsum_dx": [1.0, 1.0, 1.0, 1.0],
                "dsquare_dx": 2 * X, "u": X * X, "dz_dx": X * X, "dy2_dx": 2 * X}
    assert set(results) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(results[key].value, value, err_msg=key)
        np.testing.assert_array_equal(results[key].closed_form, value, err_msg=key)
        assert results[key].match


def test_stop_gradient_changes_the_answer(demo):
    """Without the stop, d sum(x*x*x)/dx = 3x^2: the demo's u = x^2 is what detach buys."""
    results, _ = demo
    assert not np.array_equal(results["dz_dx"].value, 3 * X * X)


def test_gradients_match_finite_differences():
    _, x, fetches = notes.build()
    assert sg.testing.gradcheck(fetches["y"], [x], {x: X + 0.5})


def test_the_graph_holds_forward_and_gradient_nodes():
    graph, _, fetches = notes.build()
    roles = {d["role"] for _, d in graph.nx.nodes(data=True)}
    assert roles == {"forward", "gradient"}
    assert all(graph.node(t.name)["role"] == "gradient"
               for k, t in fetches.items() if k.startswith("d"))
    assert graph.node("detach/stop_gradient")["source"].startswith("notes.py:")


def test_the_drawing_is_written(demo):
    _, out = demo
    text = (out / "notes.dot").read_text()
    assert '"detach/stop_gradient"' in text and "notes.py:" in text
    assert (out / "notes.svg").exists() == (shutil.which("dot") is not None)


def test_without_graphviz_the_demo_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    notes.main(tmp_path)
    printed = capsys.readouterr().out
    assert "no notes.svg" in printed and "apt-get install graphviz" in printed
    assert (tmp_path / "notes.dot").exists() and not (tmp_path / "notes.svg").exists()
