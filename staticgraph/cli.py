"""The `staticgraph` command line (also `python -m staticgraph`): one table of subcommands.

To add a subcommand, write its `add_arguments(parser)` and `run(args) -> exit code` and give it a
row in `COMMANDS`; `main` builds the argparse sub-parsers from that table.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from staticgraph import __version__
from staticgraph.compare import command as compare_command
from staticgraph.compare import memory_plot, modes
from staticgraph.demos import notes
from staticgraph.errors import StaticGraphError
from staticgraph.graph import ROLES, Graph, get_default_graph, reset_default_graph
from staticgraph.compiler import needed_nodes
from staticgraph.compiler.explain_passes import explain_passes, summary
from staticgraph.io.backprop_page import write_backprop_page
from staticgraph.io.display import INSTALL_HINT, graphviz_available
from staticgraph.io.dot import FORMATS, to_dot, write_dot
from staticgraph.runtime.executor import compile
from staticgraph.text import counted
from staticgraph.runtime.session import Session
from staticgraph.tf1_check import check_script
from staticgraph.runtime.memory_modes import (compare_memory_modes, format_table,
                                              initialised_store, parse_bytes, sample_feeds)


class Command(NamedTuple):
    """One subcommand: its one-line help, its arguments, and what it does (returns an exit code)."""
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ----- staticgraph demo ---------------------------------------------------------------------
def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out", metavar="DIR",
                        help="where to write notes.dot / notes.svg (default: out)")


def _demo(args: argparse.Namespace) -> int:
    results = notes.main(args.out)
    return 0 if all(check.match for check in results.values()) else 1


# ----- staticgraph dot ----------------------------------------------------------------------
def _roles(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise argparse.ArgumentTypeError(f"unknown role(s) {unknown}; choose from {', '.join(ROLES)}")
    return roles


def _drawing_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in FORMATS:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: use a name ending in "
                                         f"{', '.join(FORMATS)}")
    return path


def _graph_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graph", metavar="NAME",
                        help="the script's module-level sg.Graph variable to use (default: the "
                        "default graph if the script built into it, else the graph its last "
                        "Session ran)")


def _dot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a Python script that builds a graph")
    parser.add_argument("-o", "--output", type=_drawing_path, required=True,
                        help="the file to write: .dot or .gv (text), .svg, .png or .pdf (Graphviz)")
    parser.add_argument("--show", type=_roles, default=ROLES, metavar="ROLES",
                        help=f"comma-separated roles to draw (default: all of {','.join(ROLES)})")
    parser.add_argument("--title", help="a caption above the graph (default: the script's name)")
    parser.add_argument("--collapse", nargs="?", const=True, default=False, type=_scopes,
                        metavar="SCOPES", help="fold name scopes into single boxes: every "
                        "top-level scope, or only the comma-separated SCOPES (e.g. "
                        "layer1,gradients); conds and loops become one box each")
    _graph_argument(parser)


def _scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    if not scopes:
        raise argparse.ArgumentTypeError(f"no scope named in {text!r}; give e.g. layer1,gradients")
    return scopes


def _dot(args: argparse.Namespace) -> int:
    graph = built_graph(args.script, "dot", args.graph)
    if isinstance(graph, int):
        return graph
    dot = to_dot(graph, show=args.show, title=args.title or args.script.name, collapse=args.collapse)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {write_dot(dot, args.output)} ({len(graph)} nodes)")
    return 0


def built_graph(script: Path, command: str, graph_name: str | None = None):
    """Run `script` (see `run_script`) and return the graph it built, or an exit code: the
    module-level Graph `graph_name` when given; else the default graph when the script added
    nodes to it; else the graph the script's last `Session.run` ran (examples build their graph
    inside a function, in a `sg.Graph()` of their own)."""
    if not script.is_file():
        print(f"staticgraph {command}: no such script: {script}", file=sys.stderr)
        return 2
    ran = run_script(script)
    if ran.code:
        return ran.code
    if graph_name is not None:
        found = ran.globals.get(graph_name)
        if isinstance(found, Graph):
            return found
        names = [k for k, v in ran.globals.items() if isinstance(v, Graph)]
        print(f"staticgraph {command}: {script} has no module-level sg.Graph named {graph_name!r}; "
              f"its Graphs are: {', '.join(names) or 'none'}", file=sys.stderr)
        return 2
    if len(get_default_graph()):
        return get_default_graph()
    if ran.session_graph is not None:
        return ran.session_graph
    print(f"staticgraph {command}: {script} added no nodes to the default graph and ran no Session; "
          "build into the default graph, run a Session on your graph, or name a module-level "
          "sg.Graph with --graph NAME", file=sys.stderr)
    return 1


class ScriptRun(NamedTuple):
    """What running a script left: its exit code, its module globals, the graph its last
    `Session.run` ran (None if it ran none)."""
    code: int
    globals: dict
    session_graph: Graph | None


def run_script(script: Path) -> ScriptRun:
    """Run `script` as `__main__` on a fresh default graph, as `python script` would.

    The script sees `sys.argv == [script]` and can import modules beside it. While it runs,
    `Session.run` notes the graph it runs, so a graph built inside a function can be found.
    """
    reset_default_graph()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script)]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    ran: list[Graph] = []
    module: dict = {}
    code = 0
    try:
        with _noting_sessions(ran):
            module = runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:  # a script ending in sys.exit(main()) has still built its graph
        if exc.code not in (None, 0):
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return ScriptRun(code, module, ran[-1] if ran else None)


@contextmanager
def _noting_sessions(ran: list):
    """Within the block, every `Session.run` appends its session's graph to `ran`."""
    original = Session.run

    def run(self, *args, **kwargs):
        ran.append(self.graph)
        return original(self, *args, **kwargs)

    Session.run = run
    try:
        yield
    finally:
        Session.run = original


# ----- staticgraph plan ---------------------------------------------------------------------
def _feed_shape(text: str) -> tuple[str, tuple]:
    name, _, dims = text.partition("=")
    try:
        return name, tuple(int(d) for d in dims.split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=DIM,DIM,..., got {text!r}") from None


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a Python script that builds a graph")
    _graph_argument(parser)
    parser.add_argument("--fetch", action="append", default=[], metavar="NAME",
                        help="a node to compute (repeatable; default: every result nothing uses)")
    parser.add_argument("--feed", action="append", type=_feed_shape, default=[],
                        metavar="NAME=DIMS", help="a fed shape, e.g. x=256,784 (for None dims)")
    parser.add_argument("--memory", choices=("plan", "naive", "remat"), default="plan")
    parser.add_argument("-o", "--output", type=_drawing_path,
                        help="also draw the compiled graph, each value labelled with its buffer")
    parser.add_argument("--python", action="store_true",
                        help="also print the straight-line Python the program runs as")
    parser.add_argument("--kernels", action="store_true",
                        help="also print each fused node's generated kernels (numpy, numba)")


def _results(graph) -> list[str]:
    """The nodes nothing uses, leaving out what only initialises variables."""
    sinks = [n for n in graph.nx if graph.nx.out_degree(n) == 0]
    return [n for n in sinks
            if all(graph.node(m)["role"] != "init" for m in needed_nodes(graph, [n], ()))]


def _fetches(graph, asked: list[str], command: str) -> list[str] | None:
    """The nodes to compute: those asked for, else every result; None (and a message naming
    the results and a few other nodes) when an asked-for name is not in the graph."""
    unknown = [name for name in asked if name not in graph]
    if not unknown:
        return asked or _results(graph)
    others = [n for n in graph.nx if n not in _results(graph)]
    print(f"staticgraph {command}: no node named {unknown[0]!r} in the graph the script built; "
          f"its results are {', '.join(_results(graph))}"
          + (f"; other nodes include {', '.join(others[:12])}" if others else ""), file=sys.stderr)
    return None


def _fed_shapes(graph, feeds, given: list, command: str) -> dict | None:
    """Each feed's full shape: its placeholder's, or the one given; None (and a message) when
    a dim is still unknown."""
    shapes = {name: graph.node(name)["shape"] for name in feeds} | dict(given)
    unknown = [name for name, shape in shapes.items() if None in shape]
    if unknown:
        print(f"staticgraph {command}: {unknown[0]!r} has unknown dims {shapes[unknown[0]]}: "
              f"give its shape with --feed {unknown[0]}=DIM,DIM,...", file=sys.stderr)
        return None
    return shapes


def _plan(args: argparse.Namespace) -> int:
    graph = built_graph(args.script, "plan", args.graph)
    if isinstance(graph, int):
        return graph
    fetches = _fetches(graph, args.fetch, "plan")
    if fetches is None:
        return 2
    exe = compile(fetches, graph=graph, memory=args.memory)
    shapes = _fed_shapes(graph, exe.run_feeds, args.feed, "plan")
    if shapes is None:
        return 2
    exe.plan_for(shapes)
    print(exe.report())
    if args.python:
        print(exe.python_source(), end="")
    if args.kernels:
        print(_kernels(exe.graph), end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {write_dot(to_dot(exe.graph, plan=exe), args.output)}")
    return 0


def _kernels(graph) -> str:
    """Each fused node's numpy kernel, and the numba kernel it switches to when numba is used."""
    parts = []
    for name, node in graph.nx.nodes(data=True):
        if node["op"] != "fused":
            continue
        region = node["attrs"]["region"]
        kernel = region.kernel
        parts.append(f"# fused node {name!r}: {len(region.members)} ops -> "
                     f"{', '.join(region.outputs)}\n# numpy kernel\n{kernel.numpy_source}")
        if kernel.numba_source is not None:
            parts.append(f"# numba kernel (runs once compiled)\n{kernel.numba_source}")
    return "\n".join(parts) if parts else "no fused nodes\n"


# ----- staticgraph passes -------------------------------------------------------------------
def _passes_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a Python script that builds a graph")
    _graph_argument(parser)
    parser.add_argument("--out", type=Path, default=Path("out/passes"), help="where to write")
    parser.add_argument("--fetch", action="append", default=[], metavar="NAME",
                        help="a node to compute (repeatable; default: every result nothing uses)")
    parser.add_argument("--format", choices=("svg", "png", "dot"), default="svg")


def _passes(args: argparse.Namespace) -> int:
    graph = built_graph(args.script, "passes", args.graph)
    if isinstance(graph, int):
        return graph
    fetches = _fetches(graph, args.fetch, "passes")
    if fetches is None:
        return 2
    feeds = [n for n, op in graph.nx.nodes(data="op") if op == "placeholder"]
    fmt = args.format if args.format == "dot" or graphviz_available() else "dot"
    if fmt != args.format:
        print(f"staticgraph passes: writing .dot instead of .{args.format}: {INSTALL_HINT}",
              file=sys.stderr)
    changes = explain_passes(graph, fetches, feeds, args.out, fmt=fmt)
    print(summary(changes), end="")
    drawn = counted(sum(c.drawing is not None for c in changes), "drawing")
    print(f"wrote {drawn} and summary.md to {args.out}")
    return 0


# ----- staticgraph memory -------------------------------------------------------------------
def _memory_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a Python script that builds a graph")
    _graph_argument(parser)
    parser.add_argument("--fetch", action="append", default=[], metavar="NAME",
                        help="a node to compute (repeatable; default: every result nothing uses)")
    parser.add_argument("--feed", action="append", type=_feed_shape, default=[],
                        metavar="NAME=DIMS", help="a fed shape, e.g. x=256,784 (for None dims)")
    parser.add_argument("--budget", type=parse_bytes, action="append", metavar="BYTES",
                        help="a budget for one more remat row, e.g. 12MiB (repeatable; the first "
                        "remat row has none: checkpoints every ~sqrt(n) values)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per mode (default 5)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out/memory.png"),
                        help="the PNG of the live-bytes timelines (default: out/memory.png)")


def _memory(args: argparse.Namespace) -> int:
    graph = built_graph(args.script, "memory", args.graph)
    if isinstance(graph, int):
        return graph
    fetches = _fetches(graph, args.fetch, "memory")
    if fetches is None:
        return 2
    feeds = [n for n in needed_nodes(graph, fetches, ()) if graph.node(n)["op"] == "placeholder"]
    shapes = _fed_shapes(graph, feeds, args.feed, "memory")
    if shapes is None:
        return 2
    budgets = [None, *(args.budget or [])]
    figures = compare_memory_modes(fetches, sample_feeds(graph, shapes), budgets, args.repeats,
                                   graph, initialised_store(graph))
    print(format_table(figures))
    print(figures[-1].plan.report())
    path = memory_plot.draw(figures, args.output, title=args.script.name)
    print(f"wrote {path}" if path else "no picture: matplotlib is not installed "
          "(pip install 'staticgraph[plot]')")
    return 0


# ----- staticgraph backprop ----------------------------------------------------------------
def _feed_value(text: str) -> tuple[str, np.ndarray]:
    name, _, numbers = text.partition("=")
    try:
        return name, np.array([float(v) for v in numbers.split(",") if v.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER,NUMBER,..., got {text!r}") from None


def _page_path(text: str) -> Path:
    if not text.lower().endswith((".html", ".htm")):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: use a name ending in .html")
    return Path(text)


def _backprop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a Python script that builds a graph")
    parser.add_argument("-o", "--output", type=_page_path, required=True, help="the .html page to write")
    parser.add_argument("--y", metavar="NAME", help="the node to differentiate (default: the "
                        "graph's one forward result)")
    parser.add_argument("--wrt", action="append", default=[], metavar="NAME",
                        help="differentiate with respect to this node (repeatable; default: every "
                        "float placeholder and variable y needs)")
    parser.add_argument("--feed", action="append", type=_feed_value, default=[], metavar="NAME=VALUES",
                        help="a fed value, e.g. x=1,2,3 (reshaped to x's shape; one number fills "
                        "it; default: seeded standard-normal samples)")
    _graph_argument(parser)


def _forward_results(graph: Graph) -> list[str]:
    """Forward nodes with a value that no other forward node uses."""
    forward = {n for n, role in graph.nx.nodes(data="role") if role in (None, "forward")}
    return [n for n in sorted(forward, key=list(graph.nx).index)
            if not any(m in forward for m in graph.nx.successors(n))
            and graph.node(n).get("shape") is not None and graph.node(n)["op"] != "placeholder"]


def _backprop_feeds(graph: Graph, y: str, given: dict, command: str) -> dict | None:
    """A value for every placeholder y needs: the one given (reshaped), else seeded samples."""
    feeds = {}
    for name in needed_nodes(graph, [y], ()):
        node = graph.node(name)
        if node["op"] != "placeholder":
            continue
        shape = node["shape"]
        if name not in given:
            if shape is None or None in shape:
                print(f"staticgraph {command}: {name!r} has unknown dims {shape}: give its value "
                      f"with --feed {name}=NUMBER,NUMBER,...", file=sys.stderr)
                return None
            feeds.update(sample_feeds(graph, {name: tuple(shape)}))
            continue
        value = given[name].astype(node["dtype"])
        dims = tuple(-1 if d is None else d for d in shape)
        feeds[name] = np.full(dims, value[0]) if value.size == 1 and -1 not in dims else value.reshape(dims)
    return feeds


def _backprop(args: argparse.Namespace) -> int:
    graph = built_graph(args.script, "backprop", args.graph)
    if isinstance(graph, int):
        return graph
    results = _forward_results(graph)
    if args.y is None and len(results) != 1:
        print(f"staticgraph backprop: pick the node to differentiate with --y NAME; the graph's "
              f"forward results are {', '.join(results) or 'none'}", file=sys.stderr)
        return 2
    y = args.y or results[0]
    unknown = [n for n in [y, *args.wrt, *(name for name, _ in args.feed)] if n not in graph]
    if unknown:
        print(f"staticgraph backprop: no node named {unknown[0]!r} in the graph the script built; "
              f"its forward results are {', '.join(results)}", file=sys.stderr)
        return 2
    needed = needed_nodes(graph, [y], ())
    wrt = args.wrt or [n for n in graph.nx if n in needed  # in the order they were built
                       and graph.node(n)["op"] in ("placeholder", "variable")
                       and np.dtype(graph.node(n)["dtype"]).kind == "f"]
    try:
        feeds = _backprop_feeds(graph, y, dict(args.feed), "backprop")
    except ValueError as exc:
        print(f"staticgraph backprop: a --feed value does not fit its placeholder: {exc}", file=sys.stderr)
        return 2
    if feeds is None:
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    steps = write_backprop_page(graph.tensor(y), [graph.tensor(n) for n in wrt], feeds, args.output)
    print(f"wrote {args.output} ({counted(steps, 'step')}: the gradient of {y} with respect to "
          f"{', '.join(wrt)})")
    return 0


# ----- staticgraph tf1-check ----------------------------------------------------------------
def _tf1_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", type=Path, help="a TensorFlow 1 script (read, not run)")


def _tf1_check(args: argparse.Namespace) -> int:
    report = check_script(args.script)
    print(report.format(str(args.script)))
    return 1 if report.missing else 0


COMMANDS: dict[str, Command] = {
    "demo": Command("run the notes' examples (§3.1-3.3) and draw their graph",
                    _demo_arguments, _demo),
    "dot": Command("run a script that builds a graph and draw that graph (DOT, SVG, PNG)",
                   _dot_arguments, _dot),
    "modes": Command("time full Jacobians by forward and reverse mode as inputs and outputs grow",
                     modes.add_arguments, modes.run),
    "compare": Command("run the notes' examples and an MLP in both styles; write report.md/.html",
                       compare_command.add_arguments, compare_command.run),
    "plan": Command("run a script that builds a graph; print its compiled plan (passes, memory)",
                    _plan_arguments, _plan),
    "passes": Command("run a script that builds a graph; draw what each compiler pass changed",
                      _passes_arguments, _passes),
    "memory": Command("run a script that builds a graph; compare naive, plan and remat memory "
                      "(peak, bytes, time) and draw the live bytes of each",
                      _memory_arguments, _memory),
    "backprop": Command("run a script that builds a graph; write an HTML page stepping through "
                        "its forward values and backward cotangents", _backprop_arguments, _backprop),
    "tf1-check": Command("list the TensorFlow 1 names a script uses that staticgraph lacks",
                         _tf1_check_arguments, _tf1_check),
}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser, with one sub-parser per row of `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="staticgraph", description="Define-then-run automatic differentiation: demos and tools.")
    parser.add_argument("--version", action="version", version=f"staticgraph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`); return the exit code.

    Example:
        >>> from staticgraph.cli import main
        >>> main(["demo", "--out", "out"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except StaticGraphError as exc:
        print(f"staticgraph {args.command}: error: {exc}", file=sys.stderr)
        return 1
