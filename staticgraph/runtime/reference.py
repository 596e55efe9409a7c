"""The reference executor: run the needed nodes one by one in topological order, no planning.

It is the executor other executors are tested against, so it favours obviousness over speed.
"""
from __future__ import annotations

from typing import NamedTuple

import networkx as nx
import numpy as np

from staticgraph.errors import InvalidArgumentError, StaticGraphError
from staticgraph.graph import Graph
from staticgraph.ops.registry import get_op
from staticgraph.runtime.state import RunState


class Step(NamedTuple):
    name: str
    kernel: object
    inputs: tuple
    attrs: dict
    stateful: bool
    source: str
    op: str


def needed_nodes(graph: Graph, targets, fed) -> set[str]:
    """The nodes (data and control ancestors) that computing `targets` runs, stopping at fed ones."""
    seen = set(targets)
    stack = [t for t in targets if t not in fed]
    while stack:
        for u, _, d in graph.nx.in_edges(stack.pop(), data=True):
            if u not in seen and not d.get("ref"):
                seen.add(u)
                if u not in fed:
                    stack.append(u)
    return seen


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
        except StaticGraphError as exc:
            raise type(exc)(f"{exc}\n  at node {step.name!r} ({step.op}, created at {step.source})") from None
        except (ValueError, TypeError, IndexError, FloatingPointError, ArithmeticError) as exc:
            shapes = ", ".join(str(np.shape(a)) for a in args)
            raise InvalidArgumentError(
                f"{step.op} failed at node {step.name!r} (created at {step.source}) on inputs of "
                f"shapes {shapes}: {exc}") from None
    return values

