"""The comparison's tables: agreement, time, and graph and memory, as Markdown or plain text.

Each table is data (`Table`: title, headers, rows of strings, a note), so the Markdown report,
the HTML report and the command's printout show the same numbers.
"""
from __future__ import annotations

from typing import NamedTuple

from staticgraph.compare.measure import ATOL, RTOL, Comparison, break_even


class Table(NamedTuple):
    """One table: its title, column headers, rows (lists of strings) and a note under it."""
    title: str
    headers: list
    rows: list
    note: str


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds, three significant digits; a dash for None."""
    return "—" if seconds is None else f"{seconds * 1e3:.3g} ms"


def size(count: int | None) -> str:
    """A byte count for people: B under 1 KiB, else KiB or MiB."""
    if count is None:
        return "n/a"
    if count < 1024:
        return f"{count} B"
    return f"{count / 1024:.1f} KiB" if count < 1024 ** 2 else f"{count / 1024 ** 2:.1f} MiB"


def _agreement(comparisons: list[Comparison]) -> Table:
    rows = [[c.workload.title, str(len(c.static.step_s)), f"{c.value_diff:.3g}",
             f"{c.gradient_diff:.3g}", "yes" if c.agrees else "NO"] for c in comparisons]
    return Table("Agreement between the styles",
                 ["workload", "steps", "max |Δ| values", "max |Δ| gradients", "agree"], rows,
                 f"Every step's values and gradients (and, after training, the weights), float64; "
                 f"agreement means numpy.allclose with rtol={RTOL:g}, atol={ATOL:g}.")


def _time(comparisons: list[Comparison]) -> Table:
    rows = []
    for c in comparisons:
        s, e = c.static, c.eager
        even = break_even(s, e)
        rows.append([c.workload.title, ms(s.build_s), ms(s.first_s), ms(e.first_s),
                     ms(s.steady_s), ms(e.steady_s), f"{e.steady_s / s.steady_s:.2g}×",
                     f"> {len(s.step_s)}" if even is None else str(even)])
    headers = ["workload", "build (static)", "first call static", "first call eager",
               "steady static", "steady eager", "eager / static", "static ahead from step"]
    return Table("Time", headers, rows,
                 "Build: constructing the graph, gradient and update nodes included. First call: "
                 "the first step (static: the first Session.run, which compiles and plans). "
                 "Steady: the median of the later steps. Static ahead from step: from then on the "
                 "static style's total time, build included, stays below the eager style's.")


def _graph_memory(comparisons: list[Comparison]) -> Table:
    rows = []
    for c in comparisons:
        s, e = c.static, c.eager
        rows.append([c.workload.title, f"{s.nodes_per_step:g}", f"{e.nodes_per_step:.3g}",
                     str(s.graph_nodes), str(e.graph_nodes), size(s.traced_bytes),
                     size(e.traced_bytes), size(s.planned_bytes)])
    return Table("Graph and memory",
                 ["workload", "nodes / step static", "nodes / step eager", "static graph nodes",
                  "recorded graph nodes", "peak static (tracemalloc)", "peak eager (tracemalloc)",
                  "peak static (plan)"], rows,
                 "Nodes per step: nodes added to the static graph by the steady steps (none: it "
                 "was built once), and the tape nodes behind each eager step's results (recorded "
                 "nodes no result uses, such as a loop test's norm, are not counted). The static "
                 "graph holds forward, gradient, update and initializer nodes; the recorded graph "
                 "holds the forward ops one eager step ran that its results depend on, with their "
                 "leaves (the backward pass is not recorded). Peaks: Python allocations during "
                 "one steady step, and the compiled plan's peak buffer bytes (top-level buffers "
                 "only; n/a without sg.compile).")


def tables(comparisons: list[Comparison]) -> list[Table]:
    """The three tables of the report."""
    return [_agreement(comparisons), _time(comparisons), _graph_memory(comparisons)]


def to_markdown(table: Table) -> str:

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    lines = [f"## {table.title}", "", line(table.headers), line(["---"] * len(table.headers))]
    lines += [line(row) for row in table.rows]
    return "\n".join(lines + ["", table.note, ""])


def to_text(table: Table) -> str:
    """The table with aligned columns, for a terminal."""
    widths = [max(len(str(r[k])) for r in [table.headers] + table.rows)
              for k in range(len(table.headers))]
    def line(cells):
        return "  ".join(str(c).ljust(w) if k == 0 else str(c).rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths)))
    rule = "-" * len(line(table.headers))
    return "\n".join([table.title, rule, line(table.headers), rule] +
                     [line(row) for row in table.rows])
