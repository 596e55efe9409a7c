"""Which part of a run the workers compute on their shards, and which the session finishes.

The workers compute every value the split feeds reach that can be put together from the
shards' values (see `staticgraph.distributed.split`); the session computes the rest (variable
updates, and any value that mixes the examples) with the shards' results put together and fed
in. The values crossing from workers to the session are the plan's `cut`: in a training step,
the loss and the gradients that the optimizer's update ops read.
"""
from __future__ import annotations

import hashlib

from staticgraph.compiler.prune import needed_nodes, prune
from staticgraph.compiler.rewrite import feeds_of
from staticgraph.distributed.split import MIXED, classify
from staticgraph.graph import Graph
from staticgraph.io.graph_json import dumps_graph


class Plan:
    """The division of one kind of run (its fetches, feeds and split axes) between workers
    and session.

    Attributes:
        parts: the Part of every node the run needs.
        reached: the nodes the split feeds reach.
        worker: the nodes the workers compute (each depends on a split feed).
        cut: the worker nodes the session reads (fetched, or inputs of session nodes).
        worker_feeds: the feeds the workers' graph reads (split ones get a shard).
        variables: the variables the workers' graph reads.
        graph_json: the workers' graph (pruned to the cut) as graph-file JSON; `digest` its
            content's hash.
    """

    def __init__(self, graph: Graph, fetch_names: tuple, feed_names: tuple, split: dict) -> None:
        needed = needed_nodes(graph, fetch_names, feed_names)
        self.parts = classify(graph, needed, split, feed_names)
        self.reached = _reached(graph, needed, set(split))
        self.worker = {n for n in self.reached if self.parts[n].kind != MIXED}
        cut = {n for n in fetch_names if n in self.worker}
        for name in needed - self.worker:
            if name in set(feed_names) - set(split):
                continue
            cut.update(u for u, _, d in graph.nx.in_edges(name, data=True)
                       if u in self.worker and not d.get("ref"))
        self.cut = tuple(sorted(cut - set(split)))
        self.graph_json, self.digest, self.worker_feeds, self.variables = "", "", (), ()
        if self.cut:
            pruned = prune(graph, list(self.cut), feed_names)
            self.worker_feeds = tuple(feeds_of(pruned))
            self.variables = tuple(sorted(pruned.node(n)["attrs"]["var"] for n in pruned.nx
                                          if pruned.node(n)["op"] == "variable"))
            self.graph_json = dumps_graph(pruned)
            self.digest = hashlib.blake2b(self.graph_json.encode(), digest_size=16).hexdigest()

    def mixing(self, fetch_names) -> list:
        """The fetches that need the split feeds but mix their examples (MIXED parts)."""
        return [n for n in fetch_names if n in self.reached and n not in self.worker]


def _reached(graph: Graph, needed: set, sources: set) -> set:
    """The nodes of `needed` that some node of `sources` reaches (data or control edges)."""
    seen, stack = set(sources & needed), list(sources & needed)
    while stack:
        for _, v, d in graph.nx.out_edges(stack.pop(), data=True):
            if v in needed and v not in seen and not d.get("ref"):
                seen.add(v)
                stack.append(v)
    return seen
