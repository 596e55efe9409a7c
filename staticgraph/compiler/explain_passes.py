"""What did the compiler do? Run the passes on a graph and draw each one's change as a picture.

Each drawing shows the union of the graph before and after one pass: nodes the pass removed (or
merged into a twin) are red and dashed, nodes it added or redefined (same name, another op) are
green and bold, the rest as usual.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import networkx as nx
import pydot

from staticgraph.compiler.passes import PassManager
from staticgraph.compiler.prune import prune
from staticgraph.graph import Graph
from staticgraph.io.dot import to_dot, write_dot

REMOVED = {"color": "#cc0000", "fillcolor": "#ffd6d6", "style": '"filled,dashed"', "penwidth": "2"}
ADDED = {"color": "#1a7f37", "penwidth": "3"}


class PassChange(NamedTuple):
    """One pass applied: its position and name, node counts, what it removed and added (or
    redefined), its drawing."""
    index: int
    name: str
    nodes_before: int
    nodes_after: int
    removed: tuple
    added: tuple
    drawing: Path | None


def explain_passes(graph: Graph, fetches: list[str], feeds: list[str], out_dir,
                   fmt: str = "svg") -> list[PassChange]:
    """Prune `graph` to `fetches` (given `feeds`), run the optimisation passes, and write one
    drawing per pass that changed something to `out_dir` (`NN_pass.{fmt}`), plus `summary.md`.

    Example:
        >>> import tempfile, staticgraph as sg
        >>> from staticgraph.compiler.explain_passes import explain_passes
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (3,), name="x")
        ...     y = sg.identity(x * 1.0 + 0.0, name="y")
        >>> changes = explain_passes(g, ["y"], ["x"], tempfile.mkdtemp(), fmt="dot")
        >>> [(c.name, c.removed) for c in changes if c.removed]
        [('simplify', ('add', 'multiply', 'y')), ('eliminate_dead_code', ('Const', 'Const_1'))]
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pruned = prune(graph, fetches, feeds)
    _, records = PassManager(check=True).run(pruned)
    steps = [("prune", graph, pruned)]
    previous = pruned
    for record in records:
        steps.append((record.name, previous, record.graph))
        previous = record.graph
    changes = [_change(i, name, before, after, out, fmt) for i, (name, before, after) in enumerate(steps)]
    (out / "summary.md").write_text(summary(changes))
    return changes


def _change(index: int, name: str, before: Graph, after: Graph, out: Path, fmt: str) -> PassChange:
    removed = tuple(sorted(set(before.nx) - set(after.nx)))
    added = tuple(sorted(name for name, op in after.nx.nodes(data="op")
                         if name not in before.nx or before.nx.nodes[name]["op"] != op))
    drawing = None
    if removed or added:
        drawing = out / f"{index:02d}_{name}.{fmt}"
        write_dot(_drawing(before, after, removed, added, f"{index:02d} {name}"), drawing)
    return PassChange(index, name, len(before), len(after), removed, added, drawing)


def _drawing(before: Graph, after: Graph, removed, added, title: str) -> pydot.Dot:
    union = Graph()
    union.nx = nx.compose(before.nx, after.nx)
    dot = to_dot(union, title=f"{title}: {len(removed)} removed (red), {len(added)} added (green)",
                 legend=False)
    styles = {**{name: REMOVED for name in removed}, **{name: ADDED for name in added}}
    for node in _all_nodes(dot):
        style = styles.get(node.get_name().strip('"'))
        for key, value in (style or {}).items():
            node.set(key, value)
    return dot


def _all_nodes(dot) -> list:
    nodes = list(dot.get_nodes())
    for sub in dot.get_subgraphs():
        nodes += _all_nodes(sub)
    return nodes


def summary(changes: list[PassChange]) -> str:
    """A markdown table: each pass, its node counts, and what it removed and added."""
    rows = ["| # | pass | nodes before | nodes after | removed | added | drawing |",
            "|---|---|---|---|---|---|---|"]
    for c in changes:
        rows.append(f"| {c.index} | {c.name} | {c.nodes_before} | {c.nodes_after} | "
                    f"{', '.join(c.removed) or '-'} | {', '.join(c.added) or '-'} | "
                    f"{c.drawing.name if c.drawing else 'unchanged'} |")
    return "\n".join(rows) + "\n"
