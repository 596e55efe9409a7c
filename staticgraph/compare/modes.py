"""Forward vs reverse mode: what a full Jacobian costs in each, as inputs (n) and outputs (m) grow.

For f: R^n -> R^m ("layer": y = tanh(W x) with a random W of shape (m, n); "deep": three tanh
layers of width 32 between x and y), it builds the full Jacobian three ways and measures the
nodes it needs, the time to build it and to run it (per call), and the peak memory of a run (the
compiler's planned peak):
- "fwd-loop": one jvp per input element, n sweeps of forward mode side by side in the graph;
- "fwd": one jvp batched by `sg.vmap` over the n tangents (the graph does not grow with n);
- "rev": one vjp batched by `sg.vmap` over the m cotangents (the graph does not grow with m).
The tangents and cotangents (the rows of an identity) are fed at run time, as a real caller's
would be: as constants, the compiler would multiply them out and forward mode would look
cheaper than it is. Three regimes: n >> m (m fixed, n grows), n = m, and n << m (n fixed, m
grows). Forward mode does work per input, reverse mode per output: that is why training, with
millions of inputs (parameters) and one output (the loss), uses reverse mode.

Run: staticgraph modes [--quick] [--out DIR]   (also: python tools/modes.py)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

import staticgraph as sg
from staticgraph.progress import progress as progress_bar
from staticgraph.runtime.reference import needed_nodes

MODES = ("fwd-loop", "fwd", "rev")
SIZES = (4, 8, 16, 32, 64, 128)
QUICK_SIZES = (8, 16)
FIXED = 4          # the small side's size in the n >> m and n << m regimes
WIDTH = 32         # hidden width of the "deep" family
REGIMES = {"n>>m": lambda s: (s, FIXED), "n=m": lambda s: (s, s), "n<<m": lambda s: (FIXED, s)}


class Measurement(NamedTuple):
    family: str
    regime: str
    n: int
    m: int
    mode: str
    nodes: int
    build_s: float
    run_s: float
    peak_bytes: int


def _layer(x, n: int, m: int, rng: np.random.Generator):
    """y = tanh(W x), W of shape (m, n)."""
    return sg.tanh(sg.constant(rng.normal(size=(m, n)) / np.sqrt(n)) @ x)


def _deep(x, n: int, m: int, rng: np.random.Generator):
    """Three tanh layers of width WIDTH, then a linear map to m outputs."""
    h = x
    for fan_in, fan_out in [(n, WIDTH), (WIDTH, WIDTH), (WIDTH, WIDTH)]:
        h = sg.tanh(sg.constant(rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in)) @ h)
    return sg.constant(rng.normal(size=(m, WIDTH)) / np.sqrt(WIDTH)) @ h


FAMILIES: dict[str, Callable] = {"layer": _layer, "deep": _deep}


def _jvp_loop(f: Callable, x, n: int) -> tuple:
    """n jvps, one per fed tangent: the Jacobian's columns stacked."""
    tangents = [sg.placeholder(x.dtype, (n,), name=f"tangent_{j}") for j in range(n)]
    y = f(x)
    columns = [sg.jvp(y, x, t)[0] for t in tangents]
    return sg.stack(columns, axis=-1), {t: row for t, row in zip(tangents, np.eye(n))}


def _jvp_vmap(f: Callable, x, n: int) -> tuple:
    """One jvp batched over the fed n x n matrix of tangents."""
    tangents = sg.placeholder(x.dtype, (n, n), name="tangents")
    jac = sg.vmap(lambda t: sg.jvp(f(x), x, t)[0], out_axes=-1)(tangents)
    return jac, {tangents: np.eye(n)}


def _vjp_vmap(f: Callable, x, m: int) -> tuple:
    """One vjp batched over the fed m x m matrix of cotangents."""
    cotangents = sg.placeholder(x.dtype, (m, m), name="cotangents")
    jac = sg.vmap(lambda ct: sg.gradients(f(x), x, grad_ys=ct)[0])(cotangents)
    return jac, {cotangents: np.eye(m)}


BUILDERS: dict[str, Callable] = {"fwd-loop": _jvp_loop, "fwd": _jvp_vmap, "rev": _vjp_vmap}


def measure(family: str, regime: str, n: int, m: int, mode: str, repeats: int = 5) -> Measurement:
    """Build and run the full Jacobian of one family at (n, m) in one mode; return its costs."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, (n,), name="x")

        def f(v):  # the same weights in every mode
            return FAMILIES[family](v, n, m, np.random.default_rng(0))
        start = time.perf_counter()
        jac, seeds = BUILDERS[mode](f, x, m if mode == "rev" else n)
        build_s = time.perf_counter() - start
    feed = {x: np.random.default_rng(1).normal(size=n), **seeds}
    nodes = len(needed_nodes(graph, [jac.name], {t.name for t in feed}) - {t.name for t in feed})
    exe = sg.compile(jac, feeds=list(feed))
    exe.run(feed)  # the first run plans; time the later ones
    run_s = min(_timed(lambda: exe.run(feed)) for _ in range(repeats))
    return Measurement(family, regime, n, m, mode, nodes, build_s, run_s,
                       int(exe.memory.peak_bytes))


def _timed(fn: Callable) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sweep(sizes=SIZES, families=tuple(FAMILIES), progress: bool = True) -> list[Measurement]:
    """Measure every family, regime, size and mode."""
    jobs = [(f, r, *REGIMES[r](s), mode) for f in families for r in REGIMES for s in sizes
            for mode in MODES]
    return [measure(*job) for job in progress_bar(jobs, "jacobians", "jac", progress)]


def format_table(results: list[Measurement]) -> str:
    """The measurements as an aligned text table."""
    head = f"{'family':<6} {'regime':<5} {'n':>4} {'m':>4} {'mode':<8} {'nodes':>6} " \
           f"{'build ms':>9} {'run ms':>8} {'peak KiB':>9}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r.family:<6} {r.regime:<5} {r.n:>4} {r.m:>4} {r.mode:<8} {r.nodes:>6} "
                     f"{r.build_s * 1e3:>9.1f} {r.run_s * 1e3:>8.2f} {r.peak_bytes / 1024:>9.1f}")
    return "\n".join(lines)


METRICS = [("run time (ms)", lambda r: r.run_s * 1e3), ("nodes the Jacobian needs", lambda r: r.nodes),
           ("peak memory of a run (KiB)", lambda r: r.peak_bytes / 1024)]
TITLES = {"n>>m": (f"n grows, m = {FIXED}", "n (inputs)"), "n=m": ("n = m grow", "n = m"),
          "n<<m": (f"m grows, n = {FIXED}", "m (outputs)")}


def figure(results: list[Measurement], families=tuple(FAMILIES)):
    """Each metric against the growing size, one column per regime: a matplotlib `Figure`
    (shown inline by a notebook). Raises ImportError without matplotlib."""
    from matplotlib.figure import Figure  # no pyplot: no backend is chosen for the caller

    fig = Figure(figsize=(4 * len(REGIMES), 3 * len(METRICS)))
    axes = fig.subplots(len(METRICS), len(REGIMES), sharex="col", squeeze=False)
    for col, regime in enumerate(REGIMES):
        for family, style in zip(families, ("-", "--")):
            for mode, color in zip(MODES, ("tab:red", "tab:orange", "tab:blue")):
                rows = [r for r in results if (r.family, r.regime, r.mode) == (family, regime, mode)]
                sizes = [r.m if regime == "n<<m" else r.n for r in rows]
                for ax, (_, metric) in zip(axes[:, col], METRICS):
                    ax.plot(sizes, [metric(r) for r in rows], style, color=color, marker="o",
                            label=f"{mode} ({family})")
        axes[0, col].set_title(TITLES[regime][0])
        axes[-1, col].set_xlabel(TITLES[regime][1])
        for ax in axes[:, col]:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
    for ax, (label, _) in zip(axes[:, 0], METRICS):
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Full Jacobian of f: R^n -> R^m: forward mode pays per input, reverse mode per "
                 "output (vmap keeps the graph small, not the work)")
    fig.tight_layout()
    return fig


def plot(results: list[Measurement], path: Path) -> Path | None:
    """Save `figure(results)` to `path` (a PNG); None without matplotlib."""
    try:
        fig = figure(results, tuple(dict.fromkeys(r.family for r in results)))
    except ImportError:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this tool (shared with the `staticgraph modes` subcommand)."""
    parser.add_argument("--quick", action="store_true", help="tiny sizes only (a smoke test)")
    parser.add_argument("--out", default="out", metavar="DIR", help="where to write modes.png (default: out)")
    parser.add_argument("--no-plot", action="store_true", help="print the table only")


def run(args: argparse.Namespace) -> int:
    """Measure, print the table and a summary, and plot; return an exit code."""
    results = sweep(QUICK_SIZES if args.quick else SIZES, progress=not args.quick)
    print(format_table(results))
    print("peak memory: the plan of sg.compile")
    print(summary(results))
    if not args.no_plot:
        path = plot(results, Path(args.out) / "modes.png")
        print(f"wrote {path}" if path else "matplotlib is not installed: no plot")
    return 0


def summary(results: list[Measurement]) -> str:
    """One line per family and lopsided regime, at its largest size: the modes' costs side by side."""
    lines = []
    for family in FAMILIES:
        for regime in ("n>>m", "n<<m"):
            rows = [r for r in results if (r.family, r.regime) == (family, regime)]
            if not rows:
                continue
            largest = max(max(r.n, r.m) for r in rows)
            by_mode = {r.mode: r for r in rows if max(r.n, r.m) == largest}
            fwd, rev = by_mode["fwd"], by_mode["rev"]
            costs = "; ".join(f"{mode} {r.run_s * 1e3:.2f} ms, {r.nodes} nodes, "
                              f"{r.peak_bytes / 1024:.1f} KiB" for mode, r in by_mode.items())
            lines.append(f"{family} n={fwd.n} m={fwd.m}: {costs} "
                         f"(rev/fwd run time {rev.run_s / fwd.run_s:.2g})")
    return "\n".join(lines)
