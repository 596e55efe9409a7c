"""The backward graph of an eager tensor drawn as torchviz draws it (`make_dot(y, show_saved=True)`).

The tensor itself (green, with its shape), one grey box per grad_fn (PyTorch's names:
MulBackward0 ...), an AccumulateGrad (blue) under each leaf tensor that requires grad (with the
leaf's name and shape), and, tied to each grad_fn by an undirected edge, the tensors its vjp
reads (orange: "self", "other", "result" and their shapes). Edges run from each node to the
node its gradient is passed to in reverse, in the direction torchviz draws them.
"""
from __future__ import annotations

import pydot

from staticgraph.eager.recorded import backward_graph
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.dot import Drawing
from staticgraph.io.dot_style import quote
from staticgraph.ops.shapes import fmt

COLORS = {"tensor": "darkolivegreen1", "grad_fn": "lightgrey", "leaf": "lightblue",
          "saved": "orange"}


def draw_backward(t, show_saved: bool = True, title: str | None = None) -> Drawing:
    """Draw the backward graph of eager tensor `t` as torchviz does.

    Args:
        t: an eager tensor.
        show_saved: also draw the tensors each grad_fn saved for its vjp (torchviz's
            `show_saved=True`).
        title: a caption above the drawing.
    Returns:
        A `Drawing` (a `pydot.Dot`, shown inline in Jupyter).
    Raises:
        InvalidArgumentError: `t` is not an eager tensor.
    Example:
        >>> import staticgraph as sg
        >>> from staticgraph import eager
        >>> x = eager.arange(3.0, requires_grad=True, name="x")
        >>> text = sg.draw_backward((x * x).sum()).to_string()
        >>> "MulBackward0" in text and "AccumulateGrad" in text and "self" in text
        True
    """
    if not hasattr(t, "_node") or not hasattr(t, "requires_grad"):
        raise InvalidArgumentError(f"draw_backward: expected an eager tensor, got {type(t).__name__}")
    dot = Drawing(quote("backward"), graph_type="digraph", rankdir="TB", fontname="Helvetica")
    dot.set_node_defaults(fontname="Helvetica", fontsize="10", style="filled", shape="box",
                          align="left", height="0.2")
    if title:
        dot.set("label", quote(title))
        dot.set("labelloc", "t")
    nodes = backward_graph(t)
    dot.text = lambda: "\n".join([repr(t)] + [f"{n.name} <- {', '.join(_names(nodes, n.next))}"
                                              for n in nodes])
    _add(dot, f"tensor {id(t)}", _tensor_label(t), COLORS["tensor"])
    drawn_saved: set[int] = set()
    for node in nodes:
        _add(dot, str(node.key), node.name, COLORS["grad_fn"])
        for child in node.next:
            dot.add_edge(_edge(str(child), str(node.key)))
        if node.variable is not None:
            leaf = f"tensor {id(node.variable)}"
            _add(dot, leaf, _tensor_label(node.variable), COLORS["leaf"])
            dot.add_edge(_edge(leaf, str(node.key)))
        for label, value in node.saved if show_saved else ():
            key = f"saved {id(value)}"
            if id(value) not in drawn_saved:
                drawn_saved.add(id(value))
                _add(dot, key, f"{label}\n{fmt(tuple(value.shape))}", COLORS["saved"])
            dot.add_edge(_edge(key, str(node.key), dir="none"))
    if nodes:
        dot.add_edge(_edge(str(nodes[-1].key), f"tensor {id(t)}"))
    return dot


def _names(nodes, keys) -> list[str]:
    by_key = {n.key: n.name for n in nodes}
    return [by_key[k] for k in keys]


def _tensor_label(t) -> str:
    name = getattr(t, "name", None)
    return (f"{name}\n" if name else "") + fmt(tuple(t.shape))


def _add(dot, key: str, label: str, color: str) -> None:
    dot.add_node(pydot.Node(quote(key), label=quote(label), fillcolor=color))


def _edge(tail: str, head: str, **attrs):
    return pydot.Edge(quote(tail), quote(head), **attrs)
