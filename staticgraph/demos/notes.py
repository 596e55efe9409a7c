"""The notes' §3.1–3.3 in the static style: build one graph with placeholders and `sg.gradients`,
run it once with a `Session`, and compare every value with its closed form.

The PyTorch cells compute as they go (`y.backward()` fills `x.grad`); here the same questions are
asked up front: the gradient pass adds nodes to the graph, and one `Session.run` answers them all.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

import staticgraph as sg
from staticgraph.io.display import INSTALL_HINT, graphviz_available

X = np.arange(4.0)  # the notes' x = torch.arange(4.0)

# One row per printed result: key, what is computed, its closed form as text and as numpy.
CLOSED_FORMS = (
    ("y", "y = 2 x.x", "2 x.x", lambda x: 2 * np.dot(x, x)),
    ("dy_dx", "dy/dx", "4x", lambda x: 4 * x),
    ("dsum_dx", "d sum(x)/dx", "ones", np.ones_like),
    ("dsquare_dx", "d(x*x)/dx, grad_ys = ones", "2x", lambda x: 2 * x),
    ("u", "u = stop_gradient(x*x)", "x*x", lambda x: x * x),
    ("dz_dx", "dz/dx, z = u*x", "u", lambda x: x * x),
    ("dy2_dx", "d sum(y)/dx, y = x*x", "2x", lambda x: 2 * x),
)


class Check(NamedTuple):
    """One result of the demo beside its closed form."""
    value: np.ndarray
    closed_form: np.ndarray
    match: bool


def build() -> tuple[sg.Graph, sg.Tensor, dict]:
    """The notes' examples as one graph; returns it, the placeholder x and the tensors to fetch."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, shape=(4,), name="x")
        with sg.name_scope("dot_product"):   # §3.1: y = 2 * torch.dot(x, x); y.backward()
            y = 2 * sg.dot(x, x)
            (dy_dx,) = sg.gradients(y, [x])
        with sg.name_scope("sum"):           # §3.1: y = x.sum(); y.backward()
            (dsum_dx,) = sg.gradients(sg.sum(x), [x])
        with sg.name_scope("square"):        # §3.2: y = x * x; y.backward(torch.ones(len(x)))
            square = x * x
            (dsquare_dx,) = sg.gradients(square, [x], grad_ys=[sg.ones_like(square)])
        with sg.name_scope("detach"):        # §3.3: u = y.detach(); z = u * x
            y2 = x * x
            u = sg.stop_gradient(y2)
            (dz_dx,) = sg.gradients(sg.sum(u * x), [x])
            (dy2_dx,) = sg.gradients(sg.sum(y2), [x])
    fetches = {"y": y, "dy_dx": dy_dx, "dsum_dx": dsum_dx, "dsquare_dx": dsquare_dx, "u": u,
               "dz_dx": dz_dx, "dy2_dx": dy2_dx}
    return graph, x, fetches


def main(out_dir: str | Path = "out") -> dict[str, Check]:
    """Build, run and print the notes' examples; draw the graph into `out_dir`.

    Args:
        out_dir: where `notes.dot` (and `notes.svg`, when Graphviz is installed) are written.
    Returns:
        A dict key -> `Check(value, closed_form, match)`, one per printed row.
    Example:
        >>> import tempfile
        >>> from staticgraph.demos import notes
        >>> results = notes.main(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        notes §3.1-3.3, static style...
        >>> results["dy_dx"].value.tolist()
        [0.0, 4.0, 8.0, 12.0]
    """
    graph, x, fetches = build()
    with sg.Session(graph) as sess:
        values = sess.run(fetches, feed_dict={x: X})
    results = {}
    for key, _, _, closed in CLOSED_FORMS:
        value, expected = np.asarray(values[key]), np.asarray(closed(X))
        results[key] = Check(value, expected, bool(np.array_equal(value, expected)))
    _print_table(graph, results)
    _draw(graph, Path(out_dir))
    return results


def _print_table(graph: sg.Graph, results: dict[str, Check]) -> None:
    roles = [d["role"] for _, d in graph.nx.nodes(data=True)]
    print(f"notes §3.1-3.3, static style, x = {_text(X)}")
    print(f"one graph of {len(roles)} nodes ({roles.count('forward')} forward, "
          f"{roles.count('gradient')} gradient), one Session.run\n")
    print(f"{'quantity':<30} {'value':<20} {'closed form':<24} match")
    for key, what, formula, _ in CLOSED_FORMS:
        check = results[key]
        closed = f"{formula} = {_text(check.closed_form)}"
        print(f"{what:<30} {_text(check.value):<20} {closed:<24} {check.match}")


def _text(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():g}"
    return "[" + ", ".join(f"{v:g}" for v in arr.ravel()) + "]"


def _draw(graph: sg.Graph, out_dir: Path) -> None:
    """Write the forward and gradient nodes to notes.dot, and notes.svg when Graphviz is here."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dot = sg.to_dot(graph, show=("forward", "gradient"), title="notes §3.1-3.3 (static style)")
    print(f"\nwrote {sg.write_dot(dot, out_dir / 'notes.dot')}")
    if graphviz_available():
        print(f"wrote {sg.write_dot(dot, out_dir / 'notes.svg')}")
    else:
        print(f"no notes.svg: {INSTALL_HINT}")
