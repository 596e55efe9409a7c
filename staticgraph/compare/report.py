"""Writing the comparison: report.md (the tables) and a self-contained report.html (the tables,
the plots and, per workload, the static and the recorded graph side by side, all inline).

Without Graphviz or matplotlib the reports still hold every table and say what is missing.
"""
from __future__ import annotations

import html
import itertools
import platform
import re
from pathlib import Path

import numpy as np

import staticgraph as sg
from staticgraph.compare import drawings, plots
from staticgraph.compare.measure import Comparison, role_counts
from staticgraph.compare.tables import Table, tables, to_markdown
from staticgraph.io.display import INSTALL_HINT, graphviz_available

INTRO = ("The same computations in the two styles the notes contrast: <b>explicit</b> "
         "(define-then-run, TensorFlow 1: build the graph, gradient nodes included, then run it in "
         "a Session) and <b>implicit</b> (define-by-run, PyTorch: every op runs at once and a tape "
         "records it for backward()). Both use the same op definitions and the same kernels.")
CSS = """body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #bbb;padding:3px 8px}
td{text-align:right}td:first-child{text-align:left}th{background:#eee}
.note{color:#555;font-size:90%}
.bad{color:#b00;font-weight:bold}
figure.graph{margin:0 0 1em;border:1px solid #ddd;padding:4px;cursor:zoom-in}
figure.graph svg{display:block;max-width:100%;height:auto;margin:auto}
figure.graph figcaption{font-size:85%;color:#555;text-align:center}
dialog#enlarged{width:96vw;height:92vh;padding:0;border:1px solid #888}
dialog#enlarged::backdrop{background:rgba(0,0,0,.5)}
dialog#enlarged form{position:sticky;top:0;text-align:right;background:#fff;padding:4px}
dialog#enlarged svg{display:block;margin:auto}"""
# Clicking a drawing shows it at its full size in one dialog (a copy, so the page keeps its own).
SCRIPT = """function enlarge(figure) {
  const dialog = document.getElementById('enlarged');
  dialog.querySelector('.full').replaceChildren(figure.querySelector('svg').cloneNode(true));
  dialog.showModal();
}
document.getElementById('enlarged').addEventListener('click', event => {
  if (event.target.id === 'enlarged') event.target.close();  // a click beside the drawing
});"""
DIALOG = ("<dialog id='enlarged'><form method='dialog'><button>close (Esc)</button></form>"
          "<div class='full'></div></dialog>")


def environment(quick: bool) -> list[str]:
    """Lines saying what ran the comparison and what was missing."""
    lines = [f"staticgraph {sg.__version__}, Python {platform.python_version()}, "
             f"numpy {np.__version__}, {'quick' if quick else 'full'} mode",
             "static peak memory: " + ("the compiled plan (sg.compile) and tracemalloc"
                                       if hasattr(sg, "compile") else
                                       "tracemalloc (sg.compile is not available)")]
    if not graphviz_available():
        lines.append("graphs not drawn: " + INSTALL_HINT)
    if not plots.matplotlib_available():
        lines.append("plots not drawn: matplotlib is not installed (pip install matplotlib)")
    return lines


def write_markdown(comparisons: list[Comparison], path: Path, quick: bool) -> Path:
    """report.md: the environment, the tables and each workload's description."""
    parts = ["# Explicit vs implicit: the same work in both styles", "",
             INTRO.replace("<b>", "**").replace("</b>", "**"), ""]
    parts += [f"- {line}" for line in environment(quick)] + [""]
    parts += [to_markdown(t) for t in tables(comparisons)]
    parts += ["## Workloads", ""]
    parts += [f"- **{c.workload.title}** (`{c.workload.key}`): {c.workload.about}"
              for c in comparisons]
    parts += ["", "The drawings and plots are in report.html.", ""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    rows = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    return (f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{rows}</table>"
            f"<p class='note'>{html.escape(table.note)}</p>")


def _cell(text: str) -> str:
    css = " class='bad'" if text == "NO" else ""
    return f"<td{css}>{html.escape(str(text))}</td>"


def _plots_html(comparisons: list[Comparison]) -> str:
    if not plots.matplotlib_available():
        return "<p class='note'>No plots: matplotlib is not installed.</p>"
    parts = ["<h2>Time per step</h2>", plots.step_time_svg(comparisons)]
    for c in comparisons:
        if "loss" in c.static.values[0]:
            parts += [f"<h2>Loss curves: {html.escape(c.workload.title)}</h2>",
                      plots.loss_curve_svg(c)]
    return "\n".join(parts)


def _workload_html(comparison: Comparison) -> str:
    w = comparison.workload
    roles = ", ".join(f"{n} {role}" for role, n in role_counts(comparison.static.graphs[0]).items())
    parts = [f"<h3 id='{html.escape(w.key)}'>{html.escape(w.title)}</h3><p>{html.escape(w.about)}. Static graph: "
             f"{comparison.static.graph_nodes} nodes ({roles}), built once; one eager step "
             f"recorded {comparison.eager.graph_nodes} nodes.</p>"]
    drawn = drawings.draw(comparison)
    if drawn is None:
        return parts[0] + "<p class='note'>Not drawn: Graphviz is not installed.</p>"
    static, eager = drawn
    # One above the other: side by side, a big graph would shrink past reading.
    parts.append("<h4>explicit (static graph)</h4>" + _figures(static) +
                 "<h4>implicit (recorded dynamic graph)</h4>" + _figures(eager))
    return "\n".join(parts)


def _figures(svgs: list[str]) -> str:
    """Each drawing fitted to its column; a click (or Enter) shows it full size."""
    return "".join("<figure class='graph' tabindex='0' onclick='enlarge(this)' "
                   "onkeydown=\"if (event.key === 'Enter') enlarge(this)\">" + svg +
                   "<figcaption>click to enlarge</figcaption></figure>" for svg in svgs)


def _scope_ids(page: str) -> str:
    """Prefix the ids inside each inline SVG, and the references to them, with the SVG's number.

    Graphviz and matplotlib number ids from 1 in every drawing; on one page they must be unique.
    """
    count = itertools.count(1)

    def scoped(match: re.Match) -> str:
        prefix = f"svg{next(count)}-"
        svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', match.group(0))
        svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", svg)
        return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', svg)
    return re.sub(r"<svg\b.*?</svg>", scoped, page, flags=re.S)


def write_html(comparisons: list[Comparison], path: Path, quick: bool) -> Path:
    """report.html: one self-contained page (inline CSS, SVG and script, nothing fetched); each
    drawing fits its column, and a click shows it full size."""
    env = "".join(f"<li>{html.escape(line)}</li>" for line in environment(quick))
    body = [f"<h1>Explicit vs implicit: the same work in both styles</h1><p>{INTRO}</p>",
            f"<ul>{env}</ul>"]
    body += [_html_table(t) for t in tables(comparisons)]
    body.append(_plots_html(comparisons))
    body.append("<h2>Graphs: static, and recorded by one eager step</h2>")
    body += [_workload_html(c) for c in comparisons]
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>staticgraph: explicit vs implicit</title><style>{CSS}</style></head>"
            "<body>\n" + "\n".join(body) + f"\n{DIALOG}<script>{SCRIPT}</script>\n</body></html>\n")
    path.write_text(_scope_ids(page), encoding="utf-8")
    return path


def write_reports(comparisons: list[Comparison], out_dir, quick: bool = False) -> list[Path]:
    """Write report.md and report.html into `out_dir` (created if needed); return their paths.

    Example:
        >>> import tempfile
        >>> from staticgraph.compare import WORKLOADS, compare, write_reports
        >>> with tempfile.TemporaryDirectory() as out:
        ...     [p.name for p in write_reports([compare(WORKLOADS[0], quick=True)], out)]
        ['report.md', 'report.html']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_markdown(comparisons, out / "report.md", quick),
            write_html(comparisons, out / "report.html", quick)]
