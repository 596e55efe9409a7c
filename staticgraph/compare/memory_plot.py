"""The memory picture: live bytes over the schedule for the naive, plan and remat modes, one PNG.

    python tools/memory_plot.py                    # the benchmark's deep MLP step (W5), smaller
    python tools/memory_plot.py --full             # ... at the benchmark's size (16 x 1024)
    python tools/memory_plot.py --budget 12MiB -o out/memory.png
    staticgraph memory SCRIPT.py [--feed x=256,784] [--budget 12MiB] [-o out/memory.png]

Each line is one mode's `MemoryPlan.timeline`: the bytes of the values live after each step
(naive: every value computed so far, as none is released). A dashed line marks each mode's
planned peak (its buffers plus the values allocated fresh), a dotted one where the forward pass
ends and the backward begins; ticks along the bottom mark the steps that recompute a value.
matplotlib is imported only to draw.
"""
from __future__ import annotations

import argparse
import importlib.util
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from staticgraph.compiler import format_bytes  # noqa: E402
from staticgraph.runtime.memory_modes import (compare_memory_modes, format_table,  # noqa: E402
                                              initialised_store, parse_bytes)

COLORS = ("tab:gray", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:red")  # by row
MIB = 1 << 20


def draw(figures: list, path: Path, title: str | None = None) -> Path | None:
    """Draw the live-bytes timeline of each mode's plan into one PNG; None without matplotlib.

    Two panels share the schedule axis: every mode, then all but "naive" at a closer scale.
    """
    if importlib.util.find_spec("matplotlib") is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (whole, close) = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    for i, f in enumerate(figures):
        for ax in (whole, close) if f.mode != "naive" else (whole,):
            _draw_mode(ax, f, COLORS[i % len(COLORS)])
    whole.set_title(title or "memory by mode")
    whole.legend(loc="upper left", fontsize=8)
    close.set_title("without naive, closer", fontsize=9)
    close.set_xlabel("schedule step (dotted: end of the forward pass; ticks: recomputed values)")
    for ax in (whole, close):
        ax.set_ylabel("live MiB (dashed: planned peak)")
        ax.set_ylim(bottom=0)
    close.set_ylim(top=1.15 * max(f.peak_bytes for f in figures if f.mode != "naive") / MIB)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _draw_mode(ax, f, color: str) -> None:
    plan = f.plan
    ax.step(range(1, len(plan.timeline) + 1), [b / MIB for b in plan.timeline], where="post",
            color=color, label=f"{f.label}: peak {format_bytes(f.peak_bytes)}, "
            f"{f.seconds_per_run * 1e3:.1f} ms/run, {f.extra_steps} steps recomputed")
    ax.axhline(f.peak_bytes / MIB, color=color, linestyle="--", linewidth=0.8)
    ax.axvline(plan.forward_steps + 0.5, color=color, linestyle=":", linewidth=1)
    if plan.recompute_steps:
        ax.plot([t + 1 for t in plan.recompute_steps], [0] * len(plan.recompute_steps), "|",
                color=color, markersize=8)


def deep_mlp(layers: int, width: int, batch: int):
    """The W5 training step of tools/bench.py (784-[width]xlayers-10) and its fed values."""
    bench = runpy.run_path(str(Path(__file__).resolve().parent / "bench.py"), run_name="bench")
    sizes = [784] + [width] * layers + [10]
    g, x, labels, loss, train, _ = bench["mlp_graph"](sizes, 0.01, bench["init_params"](sizes))
    xv, yv = bench["batch_data"](sizes, batch)
    return g, [loss, train], {x: xv, labels: yv}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="16 layers of 1024, batch 256")
    parser.add_argument("--budget", type=parse_bytes, action="append", metavar="BYTES",
                        help="a budget for one more remat row, e.g. 12MiB (repeatable; the first "
                        "remat row has none: checkpoints every ~sqrt(n) values)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per mode (default 5)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out/memory.png"))
    args = parser.parse_args(argv)
    layers, width, batch = (16, 1024, 256) if args.full else (16, 128, 32)
    graph, fetches, feed = deep_mlp(layers, width, batch)
    budgets = [None, *(args.budget or [])]
    figures = compare_memory_modes(fetches, feed, budgets, args.repeats, graph,
                                   initialised_store(graph))
    print(format_table(figures))
    print(figures[-1].plan.report())
    path = draw(figures, args.output, f"one SGD step, 784-[{width}]x{layers}-10, batch {batch}")
    print(f"wrote {path}" if path else "matplotlib is not installed: no picture")
    return 0


if __name__ == "__main__":
    sys.exit(main())
