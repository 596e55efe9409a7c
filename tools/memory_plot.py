"""The memory picture of the benchmark's deep MLP step (W5): naive, plan and remat modes, one PNG.

    python tools/memory_plot.py                    # smaller: 16 layers of 128, batch 32
    python tools/memory_plot.py --full             # the benchmark's size (16 x 1024, batch 256)
    python tools/memory_plot.py --budget 12MiB -o out/memory.png

The drawing is staticgraph.compare.memory_plot's (also used by `staticgraph memory SCRIPT.py`).
"""
from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from staticgraph.compare.memory_plot import draw
from staticgraph.runtime.memory_modes import (compare_memory_modes, format_table, initialised_store,
                                              parse_bytes)


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
