"""How DOT drawings look: node kinds and their colours and outlines, node labels (name, op,
shape, value, buffer, notes, source line), edge styles and the legend (see `staticgraph.io.dot`)."""
from __future__ import annotations

import html

import numpy as np
import pydot

from staticgraph.io.annotate import SMALL_VALUE
from staticgraph.ops.registry import REGISTRY
from staticgraph.ops.shapes import fmt

# Leaves are told apart by what they are; every other node by the role it plays.
LEAF_KINDS = ("placeholder", "variable", "constant")
KIND_COLORS = {
    "placeholder": "#ffd966", "variable": "#f6a04d", "constant": "#d9d9d9",
    "forward": "#9fc5f8", "gradient": "#f4a7a7", "tangent": "#b6d7a8",
    "update": "#c9b3f0", "init": "#f3f3f3", "recompute": "#8fdede",
    "loop variable": "#fff2cc", "captured": "#e8e0f5",
}
KIND_SHAPES = {"placeholder": "invhouse", "variable": "cylinder", "constant": "box",
               "loop variable": "ellipse", "captured": "ellipse"}
FOLDED_SHAPE = "box3d"  # a folded name scope, and a cond or loop whose sub-graphs are not drawn
LOOP_COLOR = "#1c4587"  # the back edge from a body result to its loop variable
STOP_COLOR = "#cc0000"
NOTE_COLOR = "#1c4587"  # annotation rows: derivatives, values
LEGEND_NODE = "sg legend"
SMALL_CONSTANT = SMALL_VALUE  # constants with at most this many elements show their value
def node_kind(node: dict) -> str:
    """The colour class of a node (its attribute dict): a leaf kind, else its role."""
    return node["op"] if node["op"] in LEAF_KINDS else node.get("role", "forward")


IN_PLACE = "writes its variable's array"  # the label of a variable update made in place


def quote(text: str) -> str:
    """A DOT quoted string; quoting every id keeps '/', '.', '-' and keywords like `node` safe."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def drawn_node(node_id: str, name: str, node: dict, buffer, notes=(), kind: str | None = None,
          shown: str | None = None) -> pydot.Node:
    """A drawn node; `kind` and `shown` override its colour class and shown name (a loop
    variable, a captured value)."""
    traits = traits_of(node["op"])
    tooltip = (f"{name}: {node['op']} {shape_text(node)} {dtype_text(node)}, "
               f"role {node.get('role', 'forward')}, created at {node.get('source', '?')}")
    attrs = {"label": _label(name, node, traits, buffer, notes, shown), "tooltip": quote(tooltip),
             **kind_style(kind or node_kind(node))}
    if cuts_gradient(node):
        attrs.update(color=STOP_COLOR, penwidth="2")
    return pydot.Node(quote(node_id), **attrs)


def cuts_gradient(node: dict) -> bool:
    """A stop_gradient node, or the value an eager `detach()` cut off (see eager.recorded)."""
    return "stops_gradient" in traits_of(node["op"]) or bool(node.get("detached"))


def kind_style(kind: str) -> dict:
    """Leaves keep their own outline; ops are rounded boxes filled with their role's colour."""
    style = "filled" if kind in KIND_SHAPES else '"rounded,filled"'
    return {"fillcolor": KIND_COLORS[kind], "shape": KIND_SHAPES.get(kind, "box"), "style": style}


def traits_of(op: str) -> frozenset:
    known = REGISTRY.get(op)
    return known.traits if known is not None else frozenset()


def _label(name: str, node: dict, traits: frozenset, buffer, notes=(), shown=None) -> str:
    """An HTML-like label: name, op and shape, a small constant's value, buffer, annotation
    rows, source line. A loop variable or capture (`shown`) reads as such, with its shape."""
    op_line = node["op"] if "no_output" in traits else f"{node['op']} {shape_text(node)}"
    if shown is not None:
        op_line = f"{shape_text(node)} {dtype_text(node)}"
    rows = [f"<B>{html.escape(shown or display_name(name, node))}</B>", html.escape(op_line)]
    value = node.get("attrs", {}).get("value") if node["op"] == "constant" else None
    if value is not None and np.size(value) <= SMALL_CONSTANT:
        rows.append(html.escape("= " + _value_text(value)))
    if buffer is not None:
        rows.append(html.escape(buffer if buffer == IN_PLACE else f"buffer {buffer}"))
    rows += [f'<FONT COLOR="{NOTE_COLOR}">{html.escape(note)}</FONT>' for note in notes]
    source = node.get("source")
    if source and source != "<staticgraph>":
        rows.append(f'<FONT POINT-SIZE="8" COLOR="#555555">{html.escape(source)}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


GRADIENT_MARK = "∂ "  # a gradient node's shown name starts with it, so none reads as a forward node's


def display_name(name: str, node: dict) -> str:
    """The name a node is shown by: its last scope part, marked "∂ " for a gradient node (so
    the gradient pass's `gradients/Const` is never shown as a forward `Const`)."""
    short = name.rpartition("/")[2]
    return GRADIENT_MARK + short if node.get("role") == "gradient" else short


def shape_text(node: dict) -> str:
    shape = node.get("shape")
    return "(?)" if shape is None else fmt(shape)


def dtype_text(node: dict) -> str:
    dtype = node.get("dtype")
    return "" if dtype is None else np.dtype(dtype).name


def _value_text(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return str(arr.item())
    return np.array2string(arr, precision=4, separator=", ")


def edge_style(source: dict, data: dict) -> tuple[str, dict]:
    if data.get("control"):
        return "control", {"style": "dashed", "color": "#888888", "arrowhead": "empty"}
    if data.get("ref"):
        return "ref", {"style": "dotted", "label": quote("ref"), "arrowhead": "odot"}
    traits = traits_of(source["op"])
    label = {} if "no_output" in traits else {"label": quote(shape_text(source))}
    if cuts_gradient(source):
        return "stop", {**label, "style": "dashed", "color": STOP_COLOR, "fontcolor": STOP_COLOR,
                        "penwidth": "2"}
    return "data", label


EDGE_NOTES = {
    "control": "dashed grey: control dependency (runs after, reads nothing)",
    "ref": "dotted: the variable an assign writes",
    "stop": "red dashed: gradients stop here",
    "nested": "solid box: a sub-graph (branch, loop body) held by the node it is tied to",
    "fan_in": "double outline: add_n summing the cotangents where gradient paths meet",
    "folded": "3-D box: a folded name scope, cond or loop",
    "loop": "blue dashed: a body result fed back to its loop variable (next iteration)",
    "capture": "purple dotted: an outer tensor a sub-graph reads (captured)",
}


def add_legend(dot: pydot.Dot, kinds: set[str], edge_kinds: set[str]) -> None:
    """One table node: a colour swatch per kind drawn, then the special edge styles used."""
    rows = [f'<TR><TD BGCOLOR="{KIND_COLORS[k]}" WIDTH="18"> </TD><TD ALIGN="LEFT">{k}</TD></TR>'
            for k in KIND_COLORS if k in kinds]
    rows += [f'<TR><TD COLSPAN="2" ALIGN="LEFT">{html.escape(EDGE_NOTES[k])}</TD></TR>'
             for k in EDGE_NOTES if k in edge_kinds]
    table = ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
             '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>' + "".join(rows) + "</TABLE>")
    # The space in the id keeps it apart from every graph node (names cannot hold spaces).
    dot.add_node(pydot.Node(quote(LEGEND_NODE), label=f"<{table}>", shape="plaintext",
                            style="solid", fontsize="9"))
