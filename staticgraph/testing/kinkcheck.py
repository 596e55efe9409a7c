"""Find the nodes between xs and y whose inputs sit exactly on a kink, for `gradcheck(warn_kinks=True)`."""
from __future__ import annotations

from typing import NamedTuple, Sequence

from staticgraph.autodiff.paths import path_nodes
from staticgraph.graph import Tensor
from staticgraph.kinks import KINK_TESTS, count_kinks, warn_kink
from staticgraph.runtime.session import Session


class KinkSite(NamedTuple):
    """A node with inputs on a kink: its name, op, source line and how many elements are on it."""
    node: str
    op: str
    source: str
    hits: int


def find_kinks(y: Tensor, xs: Sequence[Tensor], feed_dict: dict) -> list[KinkSite]:
    """The relu/abs/max/maximum/minimum nodes on a path from xs to y whose inputs, at
    `feed_dict`, sit exactly on a kink (x == 0; a tie), in the order they were built.

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> [site.node for site in find_kinks(sg.relu(x, name="r"), [x], {x: np.array([0.0, 1, 2])})]
        ['r']
    """
    graph = y.graph
    between = path_nodes(graph, [y.name], [x.name for x in xs], set())
    kinked = [n for n in graph.nx if n in between and graph.node(n)["op"] in KINK_TESTS]
    if not kinked:
        return []
    inputs = {n: graph.inputs(n) for n in kinked}
    needed = sorted({i for names in inputs.values() for i in names})
    values = dict(zip(needed, Session(graph).run(needed, feed_dict)))
    sites = []
    for name in kinked:
        node = graph.node(name)
        hits = count_kinks(node["op"], [values[i] for i in inputs[name]], node["attrs"])
        if hits:
            sites.append(KinkSite(name, node["op"], node["source"], hits))
    return sites


def warn_at_kinks(y: Tensor, xs: Sequence[Tensor], feed_dict: dict,
                  stacklevel: int = 2) -> list[KinkSite]:
    """Warn (`staticgraph.kinks.KinkWarning`) once per node `find_kinks` finds; return them.
    `stacklevel` as for `warnings.warn` (2: the line calling this function)."""
    sites = find_kinks(y, xs, feed_dict)
    for site in sites:
        warn_kink(site.node, site.op, site.source, site.hits, stacklevel=stacklevel + 1)
    return sites
