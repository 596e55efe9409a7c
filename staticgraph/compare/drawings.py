"""The graphs of a comparison drawn as inline SVG with Graphviz: the static graph, and the graph
each eager step recorded (only what ran: the branch taken, the loop unrolled, no gradient nodes).
"""
from __future__ import annotations

from staticgraph.compare.measure import Comparison
from staticgraph.graph import Graph
from staticgraph.io.dot import graphviz_available, render, to_dot

STATIC_ROLES = ("forward", "gradient", "update")  # the initializer's nodes would only crowd it


def inline_svg(graph: Graph, title: str, show=None) -> str:
    """`graph` rendered by Graphviz as an `<svg>` element to paste into HTML.

    Raises:
        FailedPreconditionError: Graphviz's `dot` is not installed.
    """
    dot = to_dot(graph, title=title) if show is None else to_dot(graph, show=show, title=title)
    text = render(dot.to_string(), "svg").decode("utf-8")
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE


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
