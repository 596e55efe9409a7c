"""The reference executor: run the needed nodes one by one in topological order, no planning.

It is the executor other executors are tested against, so it favours obviousness over speed.
"""
from __future__ import annotations

from typing import NamedTuple

import networkx as nx
import numpy as np

from staticgraph.compiler.prune import needed_nodes
from staticgraph.errors import InvalidArgumentError, StaticGraphError
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.ops.subgraph import set_subgraph_runner
from staticgraph.runtime.state import RunState


class Step(NamedTuple):
    name: str
    kernel: object
    inputs: tuple
    attrs: dict
    stateful: bool
    source: str
    op: str


def check_fed(graph: Graph, needed: set[str], fed, fetch_names) -> None:
    """Every placeholder that must run is fed, else an error naming it and a fetch needing it."""
    for name in sorted(needed):
        node = graph.node(name)
        if node["op"] == "placeholder" and name not in fed:
            fetch = next(f for f in fetch_names if name in needed_nodes(graph, [f], fed))
            raise InvalidArgumentError(
                f"placeholder {name!r} (created at {node['source']}) must be fed: fetch "
                f"{fetch!r} depends on it. Pass feed_dict={{{name}: value}}")


def build_steps(graph: Graph, fetch_names, fed) -> list[Step]:
    """The steps computing `fetch_names` given the `fed` nodes, in a topological order."""
    needed = needed_nodes(graph, fetch_names, fed)
    check_fed(graph, needed, fed, fetch_names)
    steps = []
    for name in nx.topological_sort(graph.nx.subgraph(needed)):
        if name in fed:
            continue
        node = graph.node(name)
        op = get_op(node["op"])
        steps.append(Step(name, op.kernel, tuple(graph.inputs(name)), node["attrs"],
                          "stateful" in op.traits, node["source"], node["op"]))
    return steps


def run_steps(steps: list[Step], values: dict, state: RunState) -> dict:
    """Run `steps` on the fed `values` (updated in place and returned)."""
    for step in steps:
        args = [values[i] for i in step.inputs]
        try:
            if step.stateful:
                values[step.name] = step.kernel(state, *args, **step.attrs)
            else:
                values[step.name] = step.kernel(*args, **step.attrs)
        except KERNEL_ERRORS as exc:
            raise kernel_failure(exc, step.name, step.op, step.source, args) from None
    return values


# Warning: a warnings filter set to "error" makes numpy's RuntimeWarnings (and others) raise.
KERNEL_ERRORS = (StaticGraphError, ValueError, TypeError, IndexError, FloatingPointError,
                 ArithmeticError, Warning)


def kernel_failure(exc: Exception, name: str, op: str, source: str, args) -> Exception:
    """The error to raise when the kernel of node `name` raised `exc` on the arrays `args`."""
    if isinstance(exc, StaticGraphError):
        return type(exc)(f"{exc}\n  at node {name!r} ({op}, created at {source})")
    shapes = ", ".join(str(np.shape(a)) for a in args)
    why = f"{type(exc).__name__}, an error by the warnings filter: {exc}" \
        if isinstance(exc, Warning) else str(exc)
    return InvalidArgumentError(f"{op} failed at node {name!r} (created at {source}) on inputs of "
                                f"shapes {shapes}: {why}")



set_subgraph_runner(build_steps, run_steps)
