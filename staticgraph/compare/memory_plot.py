"""The memory picture: live bytes over the schedule for the naive, plan and remat modes, one PNG.

    staticgraph memory SCRIPT.py [--feed x=256,784] [--budget 12MiB] [-o out/memory.png]
    python tools/memory_plot.py [--full] [--budget 12MiB]   # the benchmark's deep MLP step

Each line is one mode's `MemoryPlan.timeline`: the bytes of the values live after each step
(naive: every value computed so far, as none is released). A dashed line marks each mode's
planned peak (its buffers plus the values allocated fresh), a dotted one where the forward pass
ends and the backward begins; ticks along the bottom mark the steps that recompute a value.
The bytes axis takes the unit that fits the largest figure (B, KiB or MiB).
matplotlib is imported only to draw, and without pyplot (no backend is chosen for the caller).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from staticgraph.compiler import format_bytes
from staticgraph.text import counted

COLORS = ("tab:gray", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:red")  # by row
UNITS = ((1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def draw(figures: list, path: Path, title: str | None = None) -> Path | None:
    """Draw the live-bytes timeline of each mode's plan into one PNG; None without matplotlib.

    Two panels share the schedule axis: every mode, then all but "naive" at a closer scale.
    """
    if importlib.util.find_spec("matplotlib") is None:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 8))
    whole, close = fig.subplots(2, 1, sharex=True)
    scale, unit = unit_for(max(f.peak_bytes for f in figures))
    for i, f in enumerate(figures):
        for ax in (whole, close) if f.mode != "naive" else (whole,):
            _draw_mode(ax, f, COLORS[i % len(COLORS)], scale)
    whole.set_title(title or "memory by mode")
    whole.legend(loc="upper left", fontsize=8)
    close.set_title("without naive, closer", fontsize=9)
    close.set_xlabel("schedule step (dotted: end of the forward pass; ticks: recomputed values)")
    for ax in (whole, close):
        ax.set_ylabel(f"live {unit} (dashed: planned peak)")
        ax.set_ylim(bottom=0)
    planned = [f.peak_bytes for f in figures if f.mode != "naive"]
    if planned and max(planned) > 0:
        close.set_ylim(top=1.15 * max(planned) / scale)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def unit_for(peak_bytes: int) -> tuple[int, str]:
    """(bytes per unit, unit name): the largest unit the peak fills at least once."""
    return next(((size, name) for size, name in UNITS if peak_bytes >= size), UNITS[-1])


def _draw_mode(ax, f, color: str, scale: int) -> None:
    plan = f.plan
    ax.step(range(1, len(plan.timeline) + 1), [b / scale for b in plan.timeline], where="post",
            color=color, label=f"{f.label}: peak {format_bytes(f.peak_bytes)}, "
            f"{f.seconds_per_run * 1e3:.1f} ms/run, {counted(f.extra_steps, 'step')} recomputed")
    ax.axhline(f.peak_bytes / scale, color=color, linestyle="--", linewidth=0.8)
    ax.axvline(plan.forward_steps + 0.5, color=color, linestyle=":", linewidth=1)
    if plan.recompute_steps:
        ax.plot([t + 1 for t in plan.recompute_steps], [0] * len(plan.recompute_steps), "|",
                color=color, markersize=8)
