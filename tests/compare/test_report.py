"""The comparison's measures, reports and command: tables, inline SVG, what is missing, failures."""
import doctest
import re
import shutil

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import cli
from staticgraph.compare import (WORKLOADS, EagerProgram, EagerStep, StylesDisagree, Workload,
                                 check_agreement, compare, drawings, measure, plots, report,
                                 write_reports)
from staticgraph.compare.measure import StyleRun, break_even
from staticgraph.compare.tables import size, tables, to_text

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None,
                                    reason="Graphviz `dot` not installed")
needs_matplotlib = pytest.mark.skipif(not plots.matplotlib_available(), reason="no matplotlib")
BY_KEY = {w.key: w for w in WORKLOADS}


@pytest.fixture(scope="module")
def comparisons():
    return [compare(BY_KEY[key], quick=True) for key in ("dot", "control", "mlp")]


def test_markdown_report_holds_every_table(comparisons, tmp_path):
    md, page = write_reports(comparisons, tmp_path / "out", quick=True)
    text = md.read_text(encoding="utf-8")
    for table in tables(comparisons):
        assert f"## {table.title}" in text and "| " + " | ".join(table.headers) + " |" in \
            text.replace("\\|", "|")
    for c in comparisons:
        assert c.workload.title in text
    assert "| yes |" in text and "NO" not in text and page.name == "report.html"


@needs_graphviz
@needs_matplotlib
def test_html_report_is_self_contained_with_graphs_and_plots(comparisons, tmp_path):
    _, page = write_reports(comparisons, tmp_path, quick=True)
    text = page.read_text(encoding="utf-8")
    assert text.count("<table>") == 3
    drawn = sum(len(c.static.graphs) + len(c.eager.graphs) for c in comparisons)
    plotted = 2  # time per step, and the MLP's loss curves
    assert text.count("<svg") == drawn + plotted
    assert "<?xml" not in text and not re.search(r"(src|href)=['\"]?https?:", text)
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # each drawing's ids made unique on the page
    assert "Loss curves: MLP" in text and "recorded dynamic graph" in text
    # Each drawing fits its column and opens full size in the page's one dialog, by script.
    assert text.count("<figure class='graph'") == drawn and text.count("click to enlarge") == drawn
    assert text.count("<dialog id='enlarged'>") == 1 and "showModal()" in text
    # The MLP's static graph (over BIG_GRAPH nodes) is drawn folded; the small ones are not.
    mlp = text[text.index("<h3 id='mlp'>"):]
    assert "gradients/" in mlp and "folded: name scopes" in mlp
    small = text[text.index("<h3 id='dot'>"):text.index("<h3 id='control'>")]
    assert "folded" not in small and "∂ " in small, "gradient nodes drawn one by one"


@needs_graphviz
def test_big_graphs_are_drawn_folded_small_ones_whole(comparisons):
    mlp = comparisons[-1]
    (static,) = mlp.static.graphs
    assert len(static) > drawings.BIG_GRAPH
    svg = drawings.inline_svg(static, "mlp", drawings.STATIC_ROLES)
    assert ">gradients/<" in svg and "<title>gradients/matmul</title>" not in svg
    whole = drawings.inline_svg(comparisons[0].static.graphs[0], "dot", drawings.STATIC_ROLES)
    assert "folded" not in whole


def test_reports_without_graphviz_or_matplotlib_still_hold_the_tables(comparisons, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(drawings, "graphviz_available", lambda: False)
    monkeypatch.setattr(report, "graphviz_available", lambda: False)
    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    md, page = write_reports(comparisons, tmp_path, quick=True)
    text = page.read_text(encoding="utf-8")
    assert "<svg" not in text and text.count("<table>") == 3
    assert "Graphviz is not installed" in text and "matplotlib is not installed" in text
    assert "graphs not drawn" in md.read_text(encoding="utf-8")


def test_text_table_is_aligned(comparisons):
    lines = to_text(tables(comparisons)[1]).splitlines()
    assert lines[0] == "Time" and len({len(line) for line in lines[1:]}) == 1


def test_static_memory_comes_from_the_plan_when_the_compiler_plans(comparisons):
    mlp = comparisons[-1]
    assert mlp.static.traced_bytes > 0 and mlp.eager.traced_bytes > 0
    if hasattr(sg, "compile"):
        # At least the two activations of a batch: (32, 32) and (32, 10) float64.
        assert mlp.static.planned_bytes >= (32 * 32 + 32 * 10) * 8
    else:
        assert mlp.static.planned_bytes is None
    assert size(None) == "n/a" and size(72) == "72 B" and size(3 * 1024) == "3.0 KiB"


def _run(build_s, steps):
    return StyleRun(build_s, list(steps), [], {}, 0.0, 0, [], 0)


def test_break_even_is_where_the_static_total_stays_below():
    eager = _run(None, [1.0] * 6)
    assert break_even(_run(2.5, [1.0, 0.1, 0.1, 0.1, 0.1, 0.1]), eager) == 4  # 3.8 < 4
    assert break_even(_run(0.0, [0.5] * 6), eager) == 1
    assert break_even(_run(10.0, [0.5] * 6), eager) is None


def _off_by(delta):
    """A workload whose eager style computes x * x + delta where the static style has x * x."""
    base = BY_KEY["square"]

    def eager():
        def step(i):
            return EagerStep({"y": np.arange(4.0) ** 2 + delta, "dy/dx": 2 * np.arange(4.0)}, [])
        return EagerProgram(step)
    return Workload("off", "off by delta", "a broken twin", base.static, eager, base.gradients,
                    quick_steps=3)


def test_disagreement_is_detected_and_named():
    assert compare(_off_by(1e-13), quick=True).agrees  # within float tolerance
    wrong = compare(_off_by(1e-3), quick=True)
    assert not wrong.agrees and wrong.value_diff == pytest.approx(1e-3)
    assert wrong.gradient_diff == 0.0
    with pytest.raises(StylesDisagree, match="off") as caught:
        check_agreement([wrong])
    assert isinstance(caught.value, AssertionError)


def test_cli_compare_writes_the_reports(tmp_path, capsys):
    assert cli.main(["compare", "--quick", "--only", "sum,linreg", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Agreement between the styles" in printed and "§1.4 z = (x·w − y)²" in printed
    assert "agree on every workload" in printed
    assert (tmp_path / "report.md").exists() and (tmp_path / "report.html").exists()


def test_cli_compare_fails_when_the_styles_disagree(tmp_path, monkeypatch, capsys):
    from staticgraph.compare import command
    monkeypatch.setattr(command, "WORKLOADS", (_off_by(1.0),))
    assert cli.main(["compare", "--quick", "--out", str(tmp_path)]) == 1
    assert "disagree" in capsys.readouterr().err
    assert "| NO |" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_docstring_examples():
    for module in (measure, report):
        assert doctest.testmod(module).failed == 0


def test_without_the_compiler_static_memory_is_tracemalloc_only(monkeypatch):
    monkeypatch.delattr(sg, "compile", raising=False)
    result = compare(BY_KEY["sum"], quick=True)
    assert result.static.planned_bytes is None and result.static.traced_bytes > 0
    assert any("sg.compile is not available" in line for line in report.environment(True))
