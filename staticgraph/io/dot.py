"""DOT export: draw a graph (or the part some fetches need) with pydot, and render it with Graphviz.

Nodes are coloured by kind (placeholder, variable, constant, then the node's role), name scopes
become nested clusters, data edges carry the shape flowing along them, control edges are dashed,
an assign's edge from its variable is dotted, and edges out of a gradient stop (stop_gradient,
or a value an eager `detach()` cut off) are dashed red. On request, labels also say which local
derivative each gradient node applies, and what value each node holds (`staticgraph.io.annotate`).
A cond's branches and a loop's cond and body are clusters tied to their node; inside a loop the
body's parameters are its loop variables, fed back from the body's results, and a sub-graph's
captures are tied to the outer tensors they read. Big graphs fold name scopes into single boxes
(`collapse`, see `staticgraph.io.fold`).
"""
from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pydot

from staticgraph.errors import GraphError, InvalidArgumentError
from staticgraph.graph import ROLES, Graph, Tensor
from staticgraph.io.annotate import label_notes
from staticgraph.io.display import mimebundle, render, svg_or_none
from staticgraph.io.dot_style import (FOLDED_SHAPE, IN_PLACE, KIND_COLORS, LEAF_KINDS, LOOP_COLOR,
                                      add_legend, drawn_node, edge_style, node_kind, quote,
                                      shape_text)
from staticgraph.io.fold import fold_boxes, members, merged_label, scopes_to_fold
from staticgraph.io.listing import debugprint
from staticgraph.runtime.session import Session

ANNOTATIONS = ("derivatives",)
FORMATS = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png", ".pdf": "pdf"}



def to_dot(graph_or_fetches, show=ROLES, plan=None, title: str | None = None,
           legend: bool = True, annotate: str | None = None, values: Mapping | None = None,
           session: Session | None = None, backward: bool = False,
           collapse=False) -> "Drawing":
    """Draw a graph as a `Drawing` (a `pydot.Dot` that a notebook shows inline as SVG): roles
    coloured, shapes on edges, name scopes as clusters.

    Args:
        graph_or_fetches: a `Graph`; a Tensor or list/tuple of Tensors (then only what computing
            them needs: their ancestors along data, control and ref edges); an object with a
            `recorded_graph()` method or a `.graph` attribute giving a `Graph` (an eager tensor,
            an Executable).
        show: the roles to draw (see `staticgraph.graph.ROLES`), or a comma-separated string.
        plan: an object with `.memory.buffers`, or a dict node name -> buffer id; each drawn
            node in it gets its buffer id in its label, and each variable update the plan makes
            in place (`.memory.updates_in_place`) says so.
        title: a caption drawn above the graph.
        legend: add a cluster explaining the colours and edge styles.
        annotate: "derivatives" labels each cotangent node with the local derivative its vjp
            applied, in the notes' notation (for a = x * w, the cotangent towards x reads
            "∂a/∂x = w" and "ct · w"), and draws the add_n where gradient paths meet with a
            double outline.
        values: a feed_dict: the graph is run once and each node shows its value (small
            arrays in full, others as shape and range). Placeholders not fed, and what needs
            them, show none; nothing is written to variables.
        session: the `Session` whose variables `values` uses (default: a new one, with every
            variable at its initial value).
        backward: for an eager tensor, draw its backward graph as torchviz does instead (see
            `staticgraph.io.backward_dot.draw_backward`): grad_fn nodes, AccumulateGrad leaves,
            the tensors each node saved.
        collapse: True folds each top-level name scope (`gradients/` and `jvp/` included) into
            one box labelled with the scope's name and node count; a list of scopes (e.g.
            `["layer1", "gradients"]`) folds only those. When folding, a cond or while_loop is
            one box too (its sub-graphs counted, not drawn) and edges between two boxes merge
            into one, labelled with the shapes crossing it. False (the default) draws every
            node, and each cond's and loop's sub-graphs as clusters.
    Returns:
        The `Drawing`, a `pydot.Dot`: `.to_string()` gives DOT text, `write_dot` writes or
        renders it, and Jupyter displays it as SVG (or, without Graphviz, as a text listing
        with a hint on installing it).
    Raises:
        InvalidArgumentError: an unknown role or annotation, a bad plan or collapse, nothing
            drawable was given, or the run for `values` failed.
        GraphError: fetches from different graphs.
    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (4,), name="x")
        >>> (dx,) = sg.gradients(2 * sg.dot(x, x), [x])
        >>> dot = sg.to_dot(dx, show="forward,gradient", title="y = 2 x.x")
        >>> '"x"' in dot.to_string()
        True
        >>> '"gradients/"' in sg.to_dot(dx, collapse=True).to_string()  # one box for the scope
        True
    """
    if backward:
        from staticgraph.io.backward_dot import draw_backward  # it builds on this module
        return draw_backward(graph_or_fetches, title=title)
    graph, wanted = _resolve(graph_or_fetches)
    roles = _roles(show)
    if annotate is not None and annotate not in ANNOTATIONS:
        raise InvalidArgumentError(f"to_dot: unknown annotate={annotate!r}; use one of {ANNOTATIONS}")
    scopes = scopes_to_fold(collapse)
    names = [n for n in _with_roles(graph, roles) if wanted is None or n in wanted]
    dot = Drawing(quote("staticgraph"), graph_type="digraph", rankdir="TB", compound="true",
                  fontname="Helvetica")
    dot.text = lambda: _caption(graph_or_fetches, title) + debugprint(graph_or_fetches, file=None)
    dot.set_node_defaults(fontname="Helvetica", fontsize="10", style="filled", color="#444444")
    dot.set_edge_defaults(fontname="Helvetica", fontsize="8", color="#444444")
    if title:
        dot.set("label", quote(title))
        dot.set("labelloc", "t")
        dot.set("fontsize", "14")
    notes = label_notes(graph, names, annotate == "derivatives", values, session)
    drawing = _Drawing(dot, roles, _buffers(plan), notes, fan_in=annotate is not None,
                       boxes=fold_boxes(graph, names, scopes), folding=scopes is not False)
    drawing.draw(dot, graph, names)
    if legend and drawing.kinds:
        add_legend(dot, drawing.kinds, drawing.edge_kinds)
    return dot


class Drawing(pydot.Dot):
    """A `pydot.Dot` that Jupyter and IPython display inline: SVG rendered by Graphviz when
    its display is asked for (never before), and a text listing (with how to install Graphviz
    when it is missing) as the plain-text fallback."""

    text: Callable[[], str] = staticmethod(lambda: "<sg drawing>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return mimebundle(self.to_string, self.text, include, exclude)

    def _repr_svg_(self) -> str | None:
        return svg_or_none(self.to_string)


def inline(target, include=None, exclude=None) -> dict[str, str]:
    """IPython's display of a Graph, a static Tensor (what computing it needs) or an
    Executable (its compiled graph, each value labelled with its buffer): see `Drawing`."""
    if hasattr(target, "schedule") and isinstance(getattr(target, "graph", None), Graph):
        drawing = to_dot(target.graph, plan=target if target.memory is not None else None)
        drawing.text = lambda: _caption(target) + debugprint(target, file=None)
    else:
        drawing = to_dot(target)
    return drawing._repr_mimebundle_(include, exclude)


def _caption(target, title: str | None = None) -> str:
    """The first lines of a drawing's text: its title, then what it draws."""
    return (f"{title}\n" if title else "") + f"{target!r}\n"


@dataclass
class _Drawing:
    """What one `to_dot` call gathers while it draws a graph and the sub-graphs its nodes hold."""
    dot: pydot.Dot
    roles: frozenset
    buffers: Mapping
    notes: Mapping = field(default_factory=dict)
    fan_in: bool = False
    boxes: Mapping = field(default_factory=dict)  # top-level node -> the id it is drawn as
    folding: bool = False
    kinds: set = field(default_factory=set)
    edge_kinds: set = field(default_factory=set)

    def draw(self, container, graph: Graph, names: list[str], prefix: str = "",
             inner_roles: Mapping = {}) -> None:
        """Draw nodes `names` of `graph` into `container` as ids `prefix + name`, then their
        edges; `inner_roles` names a sub-graph's loop variables and captures (name -> shown)."""
        clusters: dict = {}
        boxes = {} if prefix else self.boxes
        for name in names:
            if boxes.get(name, name) != name:
                continue  # drawn inside its folded box
            node = graph.nx.nodes[name]
            scope = "" if name in inner_roles else name.rpartition("/")[0]  # no "capture" cluster
            parent = _cluster_for(scope, container, clusters, prefix)
            buffer = None if prefix else self.buffers.get(name)
            notes = () if prefix else self.notes.get(name, ())
            kind, shown = inner_roles.get(name, (node_kind(node), None))
            drawn = drawn_node(prefix + name, name, node, buffer, notes, kind, shown)
            if self.fan_in and not prefix and "paths_meet_at" in node:
                drawn.set("peripheries", "2")
                self.edge_kinds.add("fan_in")
            parent.add_node(drawn)
            self.kinds.add(kind)
            held = list(nested_graphs(node.get("attrs", {})))
            if self.folding and held:
                _fold_subgraphs(drawn, held)
                self.edge_kinds.add("folded")
            for key, inner in [] if self.folding else held:
                self.draw_nested(parent, prefix, name, key, inner, node["op"], set(names))
        for box, inside in members(boxes).items():
            parent = _cluster_for(box[:-1].rpartition("/")[0], container, clusters)
            drawn, kind = _scope_box(box, [graph.nx.nodes[n] for n in inside])
            parent.add_node(drawn)
            self.kinds.add(kind)
            self.edge_kinds.add("folded")
        self.edge_kinds |= _add_edges(self.dot, graph, set(names), prefix, boxes)

    def draw_nested(self, parent, outer_prefix: str, owner_name: str, key: str, inner: Graph,
                    op: str, outer_drawn: set[str]) -> None:
        """A sub-graph node `owner` holds (a branch, a loop body), as a cluster tied to it: a
        loop's parameters drawn as its loop variables (the body's results fed back to them),
        and captures tied to the outer tensors they read."""
        owner = outer_prefix + owner_name
        prefix = f"{owner} {key}/"  # the space keeps these ids apart from every graph node's name
        cluster_id = quote("cluster_" + prefix)
        caption = getattr(inner, "name", None) or key
        cluster = pydot.Subgraph(cluster_id, label=quote(caption), tooltip=quote(f"{owner}: {key}"),
                                 style="rounded", color="#555555", fontname="Helvetica",
                                 fontsize="10")
        parent.add_subgraph(cluster)
        names = _with_roles(inner, self.roles)
        params = [t.name for t in getattr(inner, "params", [])]
        loop = op == "while_loop"
        inner_roles = {p: ("loop variable", f"loop variable {k}" if loop else f"argument {k}")
                       for k, p in enumerate(params)}
        captured = getattr(inner, "captured", {})
        for outer, inside in captured.values():
            inner_roles[inside.name] = ("captured", f"captured {outer.name.rpartition('/')[2]}")
        self.draw(cluster, inner, names, prefix, inner_roles)
        drawn = set(names)
        if loop and key == "body_graph":
            for param, result in zip(params, getattr(inner, "outputs", [])):
                if param in drawn and result.name in drawn:
                    self.dot.add_edge(pydot.Edge(
                        quote(prefix + result.name), quote(prefix + param), style="dashed",
                        color=LOOP_COLOR, fontcolor=LOOP_COLOR, label=quote("next iteration"),
                        constraint="false"))
                    self.edge_kinds.add("loop")
        for outer, inside in captured.values():
            if inside.name in drawn and outer.name in outer_drawn:
                self.dot.add_edge(pydot.Edge(quote(outer_prefix + outer.name), quote(prefix + inside.name),
                                             style="dotted", color="#7a5cad", arrowhead="vee"))
                self.edge_kinds.add("capture")
        if names:
            self.dot.add_edge(pydot.Edge(quote(prefix + names[-1]), quote(owner), ltail=cluster_id,
                                         style="dotted", arrowhead="none", color="#555555"))
            self.edge_kinds.add("nested")


def _fold_subgraphs(drawn: pydot.Node, held: list[tuple[str, Graph]]) -> None:
    """A cond or loop drawn as one box: its label counts the nodes of each sub-graph it holds."""
    rows = [f"{html.escape((getattr(g, 'name', None) or key).rpartition('/')[2])}: "
            f"{_count(len(g), 'node')}" for key, g in held]
    label = drawn.get("label")
    drawn.set("label", label[:-1] + '<BR/><FONT POINT-SIZE="9">' + ", ".join(rows) + "</FONT>>")
    drawn.set("shape", FOLDED_SHAPE)


def _scope_box(box: str, inside: list[dict]) -> tuple[pydot.Node, str]:
    """A folded name scope: one box with the scope's name and node count, filled with the colour
    of the kind most of its nodes are (a `gradients/` box reads as gradient)."""
    kinds = [node_kind(n) for n in inside]
    # The ops' roles decide (a layer's variables and initialisers do not make it a variable).
    working = [k for k in kinds if k not in LEAF_KINDS and k != "init"] or kinds
    kind = max(KIND_COLORS, key=working.count)
    ops = sorted({n["op"] for n in inside})
    tooltip = f"name scope {box[:-1]}: {_count(len(inside), 'node')} ({', '.join(ops)})"
    label = f"<<B>{html.escape(box[:-1])}/</B><BR/>{_count(len(inside), 'node')}>"
    return pydot.Node(quote(box), label=label, tooltip=quote(tooltip), shape=FOLDED_SHAPE,
                      style="filled", fillcolor=KIND_COLORS[kind]), kind


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _with_roles(graph: Graph, roles: frozenset) -> list[str]:
    return [n for n, d in graph.nx.nodes(data=True) if d.get("role", "forward") in roles]


def nested_graphs(value, key: str = "") -> Iterator[tuple[str, Graph]]:
    """(key path, graph) for every Graph inside `value`, a node's attrs: branches, loop bodies.

    Example:
        >>> import staticgraph as sg
        >>> inner = sg.Graph()
        >>> [key for key, _ in nested_graphs({"branches": ((inner, (0,)), (inner, ()))})]
        ['branches.0.0', 'branches.1.0']
    """
    if isinstance(value, Graph):
        yield key, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from nested_graphs(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from nested_graphs(item, f"{key}.{i}")
    elif isinstance(getattr(value, "graph", None), Graph):  # a fused node's region
        yield key, value.graph


def _resolve(target) -> tuple[Graph, set[str] | None]:
    """The graph to draw and the node names to keep (None: all of them)."""
    if isinstance(target, Graph):
        return target, None
    if isinstance(target, Tensor) or isinstance(target, (list, tuple)):
        fetches = [target] if isinstance(target, Tensor) else list(target)
        bad = [f for f in fetches if not isinstance(f, Tensor)]
        if not fetches or bad:
            raise InvalidArgumentError(f"to_dot: fetches must be static Tensors, got {bad or fetches!r}")
        graph = fetches[0].graph
        if any(f.graph is not graph for f in fetches):
            raise GraphError("to_dot: the fetches belong to different graphs")
        wanted = {f.name for f in fetches}
        for f in fetches:
            wanted |= nx.ancestors(graph.nx, f.name)
        return graph, wanted
    recorded = getattr(target, "recorded_graph", None)
    found = recorded() if callable(recorded) else getattr(target, "graph", None)
    if isinstance(found, Graph):
        return found, None
    raise InvalidArgumentError(
        f"to_dot: expected a Graph, a Tensor, a list of Tensors, or an object with a "
        f"recorded_graph() method or a .graph Graph; got {type(target).__name__}")


def _roles(show) -> frozenset:
    roles = [r.strip() for r in show.split(",")] if isinstance(show, str) else list(show)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidArgumentError(f"to_dot: unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    return frozenset(roles)


def _buffers(plan) -> Mapping:
    if plan is None:
        return {}
    if isinstance(plan, Mapping):
        return plan
    memory = getattr(plan, "memory", None)
    buffers = getattr(memory, "buffers", None)
    if isinstance(buffers, Mapping):
        in_place = getattr(memory, "updates_in_place", {})
        return {**buffers, **{update: IN_PLACE for update in in_place}}
    raise InvalidArgumentError(f"to_dot: plan must be a dict (node name -> buffer id) or have "
                               f".memory.buffers (an Executable); got {type(plan).__name__}")


def _cluster_for(scope: str, root, clusters: dict, prefix: str = ""):
    """The (nested) cluster drawing name scope `scope`, created on first use; root for no scope."""
    if not scope:
        return root
    if scope not in clusters:
        parent = _cluster_for(scope.rpartition("/")[0], root, clusters, prefix)
        cluster = pydot.Subgraph(quote("cluster_" + prefix + scope), label=quote(scope.rpartition("/")[2]),
                                 tooltip=quote(scope), style='"rounded,dashed"', color="#888888",
                                 fontname="Helvetica", fontsize="10")
        parent.add_subgraph(cluster)
        clusters[scope] = cluster
    return clusters[scope]


def _add_edges(dot: pydot.Dot, graph: Graph, drawn: set[str], prefix: str,
               boxes: Mapping = {}) -> set[str]:
    """Draw the edges between drawn nodes; return the special kinds used (for the legend).
    An edge into, out of or between folded boxes merges with the others of its kind between
    the same two boxes, labelled with the shapes of the distinct tensors crossing."""
    used = set()
    merged: dict[tuple, list[str]] = {}
    for u, v, data in graph.nx.edges(data=True):
        if u not in drawn or v not in drawn:
            continue
        kind, attrs = edge_style(graph.nx.nodes[u], data)
        tail, head = boxes.get(u, u), boxes.get(v, v)
        if tail == head:
            continue  # inside one box
        used.add(kind)
        if (tail, head) == (u, v):
            dot.add_edge(pydot.Edge(quote(prefix + u), quote(prefix + v), **attrs))
        else:
            # A packed cond / loop result crosses as the element its tuple_get takes.
            tensor = v if graph.nx.nodes[v]["op"] == "tuple_get" else u
            sources = merged.setdefault((tail, head, kind), {})
            sources.setdefault(tensor, u)
    for (tail, head, kind), sources in merged.items():
        _, attrs = edge_style(graph.nx.nodes[next(iter(sources.values()))], {kind: True})
        if "label" in attrs and kind != "ref":
            attrs["label"] = quote(merged_label([shape_text(graph.nx.nodes[t]) for t in sources]))
        attrs["tooltip"] = quote(", ".join(sources))
        dot.add_edge(pydot.Edge(quote(prefix + tail), quote(prefix + head), **attrs))
    return used - {"data"}


def write_dot(dot_or_graph, path, **options) -> Path:
    """Write a drawing as DOT text (.dot, .gv) or render it with Graphviz (.svg, .png, .pdf).

    Args:
        dot_or_graph: a `pydot.Dot`, or anything `to_dot` accepts (drawn with `**options`).
        path: the file to write; its suffix picks the format.
    Returns:
        The path written, as a `pathlib.Path`.
    Raises:
        InvalidArgumentError: an unsupported suffix.
        FailedPreconditionError: an image was asked for but Graphviz's `dot` is not installed
            (the message says how to install it), or `dot` failed.
    Example:
        >>> import staticgraph as sg, tempfile, os
        >>> x = sg.placeholder(sg.float64, (3,), name="x")
        >>> path = sg.write_dot(sg.to_dot(x * x), os.path.join(tempfile.mkdtemp(), "g.dot"))
        >>> path.read_text().startswith("digraph")
        True
    """
    dot = dot_or_graph if isinstance(dot_or_graph, pydot.Dot) else to_dot(dot_or_graph, **options)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidArgumentError(f"write_dot: cannot write {str(path)!r}; use one of "
                                   f"{', '.join(FORMATS)}")
    source = dot.to_string()
    if FORMATS[suffix] is None:
        path.write_text(source, encoding="utf-8")
    else:
        path.write_bytes(render(source, FORMATS[suffix]))
    return path
