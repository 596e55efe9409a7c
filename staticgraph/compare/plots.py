"""The comparison's plots as inline SVG (matplotlib, imported only when a plot is drawn).

Time per step against the number of steps run shows the static style's up-front cost (build and
first call) being amortised; the loss curves of both styles show one training run twice.
"""
from __future__ import annotations

import importlib.util
import io

import numpy as np

from staticgraph.compare.measure import Comparison, StyleRun

STATIC_COLOR, EAGER_COLOR = "tab:blue", "tab:orange"


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _svg(fig) -> str:
    import matplotlib
    buffer = io.StringIO()
    # Text as <text>, not glyph paths: smaller, and no glyph ids shared by the page's plots.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def mean_time_per_step(run: StyleRun) -> np.ndarray:
    """After k steps, the total time so far (the build included) divided by k."""
    total = np.cumsum(run.step_s) + (run.build_s or 0.0)
    return total / np.arange(1, len(total) + 1)


def step_time_svg(comparisons: list[Comparison]) -> str | None:
    """One panel per workload: mean time per step, build and first call included, vs steps."""
    if not matplotlib_available():
        return None
    plt = _pyplot()
    columns = min(4, len(comparisons))
    rows = -(-len(comparisons) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.8 * rows), squeeze=False)
    for ax, c in zip(axes.flat, comparisons):
        steps = np.arange(1, len(c.static.step_s) + 1)
        ax.plot(steps, mean_time_per_step(c.static) * 1e3, color=STATIC_COLOR, label="static")
        ax.plot(steps, mean_time_per_step(c.eager) * 1e3, color=EAGER_COLOR, label="eager")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(c.workload.title, fontsize=9)
        ax.set_xlabel("steps run", fontsize=8)
        ax.set_ylabel("ms per step so far", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(comparisons):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Mean time per step, build and first call included: static pays up front")
    fig.tight_layout()
    return _svg(fig)


def loss_curve_svg(comparison: Comparison, key: str = "loss") -> str | None:
    """The training loss of both styles per step, and their difference."""
    if not matplotlib_available():
        return None
    plt = _pyplot()
    static = np.array([v[key] for v in comparison.static.values], dtype=np.float64)
    eager = np.array([v[key] for v in comparison.eager.values], dtype=np.float64)
    steps = np.arange(1, len(static) + 1)
    fig, (curve, diff) = plt.subplots(1, 2, figsize=(10, 3.2))
    curve.plot(steps, static, color=STATIC_COLOR, linewidth=3, alpha=0.5, label="static")
    curve.plot(steps, eager, color=EAGER_COLOR, linestyle="--", label="eager")
    curve.set_xlabel("step")
    curve.set_ylabel(key)
    curve.set_title(f"{comparison.workload.title}: {key} per step")
    curve.legend()
    diff.plot(steps, np.abs(static - eager), color="tab:green")
    diff.set_xlabel("step")
    diff.set_ylabel(f"|static − eager| {key}")
    diff.set_title("difference between the styles")
    fig.tight_layout()
    return _svg(fig)
