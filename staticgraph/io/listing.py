"""A text listing of a graph, one line per node in run order (as `make_jaxpr` or `debugprint`).

Each line reads `step  name = op(inputs)  dtype[shape]  role`, with `^name` for a control
input, `ref name` for the variable an assign writes, a small constant's value in place of its
inputs, and, for a compiled graph, the buffer each value lives in. A graph lists every node;
fetches list what computing them needs; an Executable lists its compiled graph: the fed values
and constants (step "-": they do not run), then its schedule.
"""
from __future__ import annotations

import sys

import networkx as nx
import numpy as np

from staticgraph.compiler.rewrite import fetches_of, ordered_nodes
from staticgraph.errors import GraphError, InvalidArgumentError
from staticgraph.graph import Graph, Tensor

SMALL_VALUE = 4  # constants with at most this many elements show their value


class Listing(str):
    """The text `debugprint` printed: a `str`, shown once in a notebook (not echoed again)."""

    def _ipython_display_(self) -> None:
        """Already printed by `debugprint`: nothing more to show."""

    def __repr__(self) -> str:
        return f"<sg listing, {self.count(chr(10))} lines (printed above)>"


def debugprint(target, file="stdout") -> Listing:
    """Print (to `file`) and return one line per node in run order: op, inputs, dtype, shape, role.

    Args:
        target: a `Graph` (every node); a Tensor or list/tuple of Tensors (what computing them
            needs); an Executable (its compiled graph in schedule order, with buffer ids);
            or an object with a `recorded_graph()` method (an eager tensor).
        file: a text stream to print to; "stdout": `sys.stdout` at the time of the call (a
            notebook's own); None: print nothing.
    Returns:
        The listing, a `str`.
    Raises:
        InvalidArgumentError: `target` is none of those; GraphError: fetches from two graphs.
    Example:
        >>> import staticgraph as sg
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (4,), name="x")
        ...     y = sg.multiply(2.0, sg.dot(x, x, name="xx"), name="y")
        >>> _ = sg.debugprint(y)
        step  node   = op(inputs)           value       role
           0  x      = placeholder()        float64[4]  forward
           1  xx     = dot(x, x)            float64[]   forward
           2  Const  = constant(2.0)        float64[]   forward
           3  y      = multiply(Const, xx)  float64[]   forward
        fetch: y
    """
    graph, names, fetches, buffers, fixed = _resolve(target)
    steps = iter(range(len(names)))
    rows = [("-" if name in fixed else str(next(steps)), name, call_text(graph, name),
             _value(graph.nx.nodes[name]), graph.nx.nodes[name].get("role", "forward"),
             buffers.get(name)) for name in names]
    text = Listing(_format(rows, bool(buffers)) + (f"\nfetch: {', '.join(fetches)}" if fetches else ""))
    if file is not None:
        print(text, file=sys.stdout if file == "stdout" else file)
    return text


def _resolve(target) -> tuple[Graph, list[str], list[str], dict, set]:
    """The graph, the node names to list in run order, the fetches, node -> buffer id, and the
    nodes that do not run (an Executable's fed values and constants)."""
    if isinstance(target, Graph):
        return target, ordered_nodes(target), list(fetches_of(target)), {}, set()
    if isinstance(target, Tensor) or isinstance(target, (list, tuple)):
        fetches = [target] if isinstance(target, Tensor) else list(target)
        if not fetches or not all(isinstance(f, Tensor) for f in fetches):
            raise InvalidArgumentError(f"debugprint: fetches must be static Tensors, got {fetches!r}")
        graph = fetches[0].graph
        if any(f.graph is not graph for f in fetches):
            raise GraphError("debugprint: the fetches belong to different graphs")
        wanted = {f.name for f in fetches}.union(*(nx.ancestors(graph.nx, f.name) for f in fetches))
        order = [n for n in ordered_nodes(graph) if n in wanted]
        return graph, order, list(dict.fromkeys(f.name for f in fetches)), {}, set()
    if hasattr(target, "schedule") and isinstance(getattr(target, "graph", None), Graph):
        graph, run = target.graph, list(target.schedule)
        leaves = [n for n in ordered_nodes(graph) if n not in set(run)]
        memory = target.memory
        buffers = {n: f"buffer {b}" for n, b in (memory.buffers if memory else {}).items()}
        buffers |= {u: "in place" for u in (memory.updates_in_place if memory else {})}
        return graph, leaves + run, list(fetches_of(graph)), buffers, set(leaves)
    recorded = getattr(target, "recorded_graph", None)
    if callable(recorded):
        return _resolve(recorded())
    raise InvalidArgumentError(f"debugprint: expected a Graph, Tensor(s), an Executable or an eager "
                               f"tensor; got {type(target).__name__}")


def call_text(graph: Graph, name: str) -> str:
    """`op(inputs)`: data inputs by name, control inputs as ^name, a small constant's value."""
    node = graph.nx.nodes[name]
    if node["op"] == "constant":
        value = node.get("attrs", {}).get("value")
        if value is not None and np.size(value) <= SMALL_VALUE:
            return f"constant({_value_text(value)})"
    args = graph.inputs(name) + [f"^{c}" for c in graph.control_inputs(name)]
    args += [f"ref {r}" for r in graph.ref_inputs(name) if r not in args]
    return f"{node['op']}({', '.join(args)})"


def _value_text(value) -> str:
    arr = np.asarray(value)
    return str(arr.item()) if arr.ndim == 0 else np.array2string(arr, separator=", ")


def _value(node: dict) -> str:
    """dtype[shape], as jaxprs write it (`?` for a dim known only when fed)."""
    shape, dtype = node.get("shape"), node.get("dtype")
    dims = "?" if shape is None else ",".join("?" if d is None else str(d) for d in shape)
    return f"{'?' if dtype is None else np.dtype(dtype).name}[{dims}]"


def _format(rows: list[tuple], with_buffers: bool) -> str:
    head = ("step", "node", "op(inputs)", "value", "role", "buffer")
    width = len(head) if with_buffers else len(head) - 1
    table = [head[:width]] + [r[:5] + ((r[5] or "",) if with_buffers else ()) for r in rows]
    sizes = [max(len(str(row[c])) for row in table) for c in range(width)]
    lines = []
    for row in table:
        cells = [str(row[0]).rjust(sizes[0]), str(row[1]).ljust(sizes[1]), "= " + str(row[2]).ljust(sizes[2])]
        cells += [str(cell).ljust(size) for cell, size in zip(row[3:], sizes[3:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
