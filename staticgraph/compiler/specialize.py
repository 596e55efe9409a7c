"""specialize: fix the fed shapes in a compiled graph and let every shape that follows be known.

Before: a compiled graph whose placeholders may have None dims (a batch size, say) or an
unknown rank (shape None). After: the
same graph with each fed node's shape set to the shape it is fed with, and every other node's
unknown dims filled in by its shape rule, so that simplification sees equal shapes as equal and
the memory plan can size every buffer. Fed shapes that a shape rule rejects are an error: the
caller then runs the graph unspecialised, so that the kernel reports the problem at run time
with the usual message naming the node.
"""
from __future__ import annotations

from typing import Mapping

from staticgraph.compiler.rewrite import Replace, feeds_of, rebuild
from staticgraph.graph import Graph
from staticgraph.ops.registry import Spec, get_op, infer_spec
from staticgraph.ops.shapes import compatible


def specialize(graph: Graph, feed_shapes: Mapping[str, tuple]) -> Graph:
    """A new graph in which fed nodes have the shapes `feed_shapes` gives, and the rest follow.

    Raises:
        ShapeError (an InvalidArgumentError) naming the first node whose shape rule rejects the
        shapes that follow from `feed_shapes`.

    Example:
        >>> import staticgraph as sg
        >>> from staticgraph.compiler import prune, specialize
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float32, (None, 3), name="x")
        ...     y = sg.sum(x * x, axis=1, name="y")
        >>> specialize(prune(g, ["y"], ["x"]), {"x": (5, 3)}).node("y")["shape"]
        (5,)
    """
    fed = set(feeds_of(graph))

    def refine(new: Graph, name: str, node: dict, inputs: list):
        if name in fed and name in feed_shapes:
            return Replace("placeholder", (), {"dtype": node["dtype"],
                                               "shape": tuple(feed_shapes[name])})
        specs = [Spec(new.nx.nodes[i]["shape"], new.nx.nodes[i]["dtype"]) for i in inputs]
        found = infer_spec(get_op(node["op"]), specs, node["attrs"], node["source"])
        agrees = found.dtype == node["dtype"] and compatible(found.shape, node["shape"])
        learns = _learns(node["shape"], found.shape)
        return Replace(node["op"], tuple(inputs), node["attrs"]) if agrees and learns else None

    return rebuild(graph, refine)


def _learns(old: tuple | None, new: tuple | None) -> bool:
    """True when shape `new` knows a rank or a dim that `old` does not."""
    if new is None:
        return False
    return old is None or any(o is None and n is not None for o, n in zip(old, new))
