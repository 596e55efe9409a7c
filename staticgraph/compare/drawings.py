"""The graphs of a comparison drawn as inline SVG with Graphviz: the static graph, and the graph
each eager step recorded (only what ran: the branch taken, the loop unrolled, no gradient nodes).
A big graph is drawn with its name scopes folded (`to_dot(collapse=True)`) so it stays legible.
"""
from __future__ import annotations

from staticgraph.compare.measure import Comparison
from staticgraph.graph import ROLES, Graph
from staticgraph.io.display import graphviz_available, render
from staticgraph.io.dot import nested_graphs, to_dot

STATIC_ROLES = ("forward", "gradient", "update")  # the initializer's nodes would only crowd it
BIG_GRAPH = 30  # a graph with more nodes than this is drawn with its name scopes folded


def inline_svg(graph: Graph, title: str, show=ROLES) -> str:
    """`graph` rendered by Graphviz as an `<svg>` element to paste into HTML; past BIG_GRAPH
    drawn nodes, each name scope is folded into one box (the title says so).

    Raises:
        FailedPreconditionError: Graphviz's `dot` is not installed.
    """
    drawn = _size(graph, set(show))
    collapse = drawn > BIG_GRAPH
    title += " (folded: name scopes, conds, loops)" if collapse else ""
    dot = to_dot(graph, show=show, title=title, collapse=collapse)
    text = render(dot.to_string(), "svg").decode("utf-8")
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE


def _size(graph: Graph, roles: set) -> int:
    """The nodes a full drawing of `graph` shows: those in `roles`, with their sub-graphs'."""
    shown = [node for _, node in graph.nx.nodes(data=True) if node.get("role", "forward") in roles]
    return len(shown) + sum(_size(inner, roles) for node in shown
                            for _, inner in nested_graphs(node.get("attrs", {})))


def draw(comparison: Comparison) -> tuple[list[str], list[str]] | None:
    """(static SVGs, eager SVGs) of one workload, or None when Graphviz is missing."""
    if not graphviz_available():
        return None
    title = comparison.workload.title
    static = [inline_svg(g, f"{title}: static graph", STATIC_ROLES)
              for g in comparison.static.graphs]
    recorded = comparison.eager.graphs
    eager = [inline_svg(g, f"{title}: recorded by one eager step" +
                        (f" (root {k + 1} of {len(recorded)})" if len(recorded) > 1 else ""))
             for k, g in enumerate(recorded)]
    return static, eager
