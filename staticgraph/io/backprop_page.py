"""The backprop page: one self-contained HTML file that steps through a gradient node by node.

The page holds the graph of y and its gradients drawn as inline SVG (the gradient nodes labelled
with the local derivative their vjp applies, as `to_dot(annotate="derivatives")` draws them), the
value of every node from one run, and a small inline script. It steps through the forward values
in run order, then the backward cotangents, highlighting the node of each step. Nothing is
fetched from a network, so the file opens anywhere, and `page.html#step=N` opens step N.
"""
from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from staticgraph.autodiff.reverse import gradients
from staticgraph.compiler.rewrite import ordered_nodes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, Tensor
from staticgraph.io.annotate import derivative_rows, run_values
from staticgraph.io.display import INLINE_HINT, graphviz_available, render
from staticgraph.io.dot import to_dot
from staticgraph.io.listing import call_text, debugprint
from staticgraph.runtime.session import Session

MAX_DATA_ELEMENTS = 10_000  # values up to this size are also stored in full, for tools to read
# The element ids the page writes the current step into (tests and tools read them).
IDS = ("step-number", "step-count", "step-phase", "step-node", "step-heading", "step-rules",
       "step-value")


@dataclass
class Step:
    """One step of the page: a node, what it computes, and its value."""
    phase: str          # "forward" or "backward"
    node: str
    heading: str        # "a = dot(x, w)" or, for a cotangent, "∂z/∂b"
    rules: list[str]    # the local derivative applied, and how (backward steps)
    value: np.ndarray

    def as_json(self) -> dict:
        arr = np.asarray(self.value)
        data = _plain(arr) if arr.size <= MAX_DATA_ELEMENTS else None
        return {"phase": self.phase, "node": self.node, "heading": self.heading,
                "rules": self.rules, "value": _value_text(arr), "data": data}


def write_backprop_page(y: Tensor, xs, feed_dict: Mapping, path, title: str | None = None,
                        session: Session | None = None) -> int:
    """Write an HTML page stepping through the forward values, then the backward cotangents, of
    the gradients of `y` with respect to `xs`; return its number of steps.

    `sg.gradients(y, xs)` is called (adding its nodes to y's graph) and the graph is run once at
    `feed_dict`. Each step highlights one node in the drawing and shows its value; a backward
    step also shows, in the notes' notation, which cotangent the node holds (∂z/∂b) and the local
    derivative its vjp applied (∂z/∂b = 2b, "ct · 2b"). Buttons and the arrow keys step;
    `page.html#step=N` opens step N (1 is the first). The page is one file: inline SVG
    (Graphviz renders it; without Graphviz a text listing stands in), inline style and script.

    Args:
        y: the static Tensor to differentiate (a non-scalar y is summed, as in `gradients`).
        xs: a Tensor or a list of Tensors to differentiate with respect to.
        feed_dict: a value for every placeholder y needs.
        path: the .html file to write.
        title: the page's heading (default: "Backprop of <y>").
        session: the `Session` whose variables are used (default: a new one, every variable at
            its initial value); nothing is written to variables.
    Returns:
        The number of steps: one per forward node y needs, then one per gradient node.
    Raises:
        InvalidArgumentError: y is not a static Tensor, y depends differentiably on none of
            `xs`, or the run failed.
    Example:
        >>> import staticgraph as sg, numpy as np, tempfile, os
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, (), name="x")
        ...     z = sg.multiply(x, x, name="z")
        >>> page = os.path.join(tempfile.mkdtemp(), "page.html")
        >>> sg.write_backprop_page(z, x, {x: 3.0}, page)
        6
    """
    if not isinstance(y, Tensor):
        raise InvalidArgumentError(f"write_backprop_page: y must be a static Tensor, got {type(y).__name__}")
    xs = [xs] if isinstance(xs, Tensor) else list(xs)
    grads = [g for g in gradients(y, xs) if g is not None]
    if not grads:
        raise InvalidArgumentError(f"write_backprop_page: {y.name!r} depends differentiably on none "
                                   f"of {[x.name for x in xs]}, so there is nothing to step back through")
    steps = backprop_steps(y, grads, feed_dict, session)
    page = _page(steps, _picture([y, *grads]), title or f"Backprop of {y.name}")
    Path(path).write_text(page, encoding="utf-8")
    return len(steps)


def backprop_steps(y: Tensor, grads: Sequence[Tensor], feed_dict: Mapping,
                   session: Session | None = None) -> list[Step]:
    """The page's steps: y's forward nodes in run order, then the gradient nodes, with values."""
    graph = y.graph
    needed = {t.name for t in (y, *grads)}.union(*(nx.ancestors(graph.nx, t.name) for t in (y, *grads)))
    order = [n for n in ordered_nodes(graph) if n in needed]
    forward = [n for n in order if graph.node(n).get("role", "forward") != "gradient"]
    backward = [n for n in order if graph.node(n).get("role") == "gradient"]
    values = run_values(graph, order, feed_dict, session)
    missing = [n for n in order if n not in values]
    if missing:
        raise InvalidArgumentError(f"write_backprop_page: no value for {missing[0]!r}: feed every "
                                   f"placeholder y needs")
    meet = {graph.node(n)["paths_meet_at"] for n in backward if "paths_meet_at" in graph.node(n)}
    steps = [Step("forward", n, f"{n} = {call_text(graph, n)}", [], values[n]) for n in forward]
    steps += [Step("backward", n, _cotangent_heading(graph, n, y.name, meet),
                   derivative_rows(graph, n), values[n]) for n in backward]
    return steps


def _cotangent_heading(graph: Graph, name: str, y: str, meet: set[str]) -> str:
    """What gradient node `name` holds, in the notes' notation: ∂y/∂v for the v it is the
    cotangent of (one path's share when several paths meet at v), else its op."""
    node, top = graph.node(name), _short(y)
    if "seed_of" in node:
        return f"∂{top}/∂{top}"
    if "paths_meet_at" in node:
        return f"∂{top}/∂{_short(node['paths_meet_at'])} (all paths summed)"
    heads = []
    for forward, index in node.get("cotangent_of", ()):
        target = graph.inputs(forward)[index]
        share = f", the share through {_short(forward)}" if target in meet else ""
        heads.append(f"∂{top}/∂{_short(target)}{share}")
    return " = ".join(heads) or f"{name} = {call_text(graph, name)}"


def _short(name: str) -> str:
    return name.rpartition("/")[2]


def _value_text(arr: np.ndarray) -> str:
    body = np.array2string(arr, precision=6, separator=", ", threshold=200, suppress_small=False)
    return f"{arr.dtype.name}{list(arr.shape)}\n{body}"


def _plain(arr: np.ndarray):
    """The value as JSON-able lists; non-finite numbers as the strings "NaN", "Infinity"."""
    if arr.dtype.kind in "fc":
        flat = [v if np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
                for v in np.real(arr).astype(float).ravel().tolist()]
        return np.array(flat, dtype=object).reshape(arr.shape).tolist() if arr.ndim else flat[0]
    return arr.tolist() if arr.dtype.kind in "biu" else str(arr)


def _picture(fetches: list[Tensor]) -> str:
    """The drawing as inline SVG (no XML prolog or DOCTYPE), or a text listing without Graphviz."""
    drawing = to_dot(fetches, annotate="derivatives")
    if not graphviz_available():
        listing = debugprint(fetches, file=None)
        return f"<pre>{html.escape(listing)}\n\n{html.escape(INLINE_HINT)}</pre>"
    svg = render(drawing.to_string(), "svg").decode("utf-8")
    return svg[svg.index("<svg"):]


def _json_for_script(value) -> str:
    """JSON safe inside a <script> element ("</" cannot end it early)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _page(steps: list[Step], picture: str, title: str) -> str:
    data = _json_for_script([s.as_json() for s in steps])
    return PAGE.format(title=html.escape(title), picture=picture, steps=data, count=len(steps),
                       style=STYLE, script=SCRIPT)


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; display: flex; height: 100vh; }
#picture { flex: 1; overflow: auto; padding: 8px; border-right: 1px solid #ccc; }
#picture svg { max-width: none; }
#panel { width: 380px; padding: 12px; overflow: auto; box-sizing: border-box; }
h1 { font-size: 18px; margin: 0 0 8px 0; }
button { font-size: 15px; padding: 3px 10px; margin-right: 4px; }
#step-phase { font-weight: bold; text-transform: uppercase; font-size: 12px; letter-spacing: 1px; }
#step-phase.forward { color: #1c5fb0; } #step-phase.backward { color: #b01c1c; }
#step-node { font-size: 15px; font-weight: bold; }
#step-heading { font-size: 20px; margin: 6px 0; }
#step-rules div { color: #1c4587; margin: 2px 0; }
#step-value { background: #f4f4f4; padding: 6px; white-space: pre-wrap; }
#history { font-size: 12px; color: #444; padding-left: 22px; }
.hint { font-size: 12px; color: #666; }
g.node.pending, g.edge.pending { opacity: 0.25; }
g.node.current polygon, g.node.current path, g.node.current ellipse {
  stroke: #e00000; stroke-width: 4px; }
"""

SCRIPT = r"""
const steps = JSON.parse(document.getElementById("steps-data").textContent);
const nodes = new Map(), edges = [];
for (const g of document.querySelectorAll("#picture g.node")) {
  const t = g.querySelector("title"); if (t) nodes.set(t.textContent, g);
}
for (const g of document.querySelectorAll("#picture g.edge")) {
  const t = g.querySelector("title");
  if (t) edges.push([g, t.textContent.split("->").pop()]);
}
const order = new Map(steps.map((s, i) => [s.node, i]));
let current = 0;
function text(id, value) { document.getElementById(id).textContent = value; }
function show(i) {
  current = Math.max(0, Math.min(steps.length - 1, i));
  const s = steps[current];
  text("step-number", current + 1); text("step-phase", s.phase); text("step-node", s.node);
  text("step-heading", s.heading); text("step-value", s.value);
  document.getElementById("step-phase").className = s.phase;
  const value = document.getElementById("step-value");
  value.dataset.value = JSON.stringify(s.data);
  const rules = document.getElementById("step-rules"); rules.textContent = "";
  for (const r of s.rules) { const d = document.createElement("div"); d.textContent = r; rules.appendChild(d); }
  for (const [name, g] of nodes) {
    const at = order.has(name) ? order.get(name) : -1;
    g.classList.toggle("pending", at > current);
    g.classList.toggle("current", at === current);
  }
  for (const [g, head] of edges) g.classList.toggle("pending", (order.get(head) ?? -1) > current);
  const done = document.getElementById("history"); done.textContent = "";
  for (const past of steps.slice(0, current + 1)) {
    const li = document.createElement("li");
    li.textContent = past.node + ": " + past.value.split("\n").slice(1).join(" ");
    done.appendChild(li);
  }
  const g = nodes.get(s.node);
  if (g && g.scrollIntoView) g.scrollIntoView({block: "nearest", inline: "nearest"});
  if (location.hash !== "#step=" + (current + 1)) history.replaceState(null, "", "#step=" + (current + 1));
}
function fromHash() {
  const m = /step=(\d+)/.exec(location.hash);
  return m ? parseInt(m[1], 10) - 1 : 0;
}
document.getElementById("first").onclick = () => show(0);
document.getElementById("prev").onclick = () => show(current - 1);
document.getElementById("next").onclick = () => show(current + 1);
document.getElementById("last").onclick = () => show(steps.length - 1);
document.addEventListener("keydown", e => {
  const moves = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
  if (e.key in moves) { show(current + moves[e.key]); e.preventDefault(); }
  else if (e.key === "Home") show(0); else if (e.key === "End") show(steps.length - 1);
});
window.addEventListener("hashchange", () => show(fromHash()));
show(fromHash());
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{style}</style></head>
<body>
<div id="picture">{picture}</div>
<div id="panel">
<h1>{title}</h1>
<div><button id="first" title="Home">first</button><button id="prev" title="left arrow">&#x2190;</button><button id="next" title="right arrow">&#x2192;</button><button id="last" title="End">last</button>
step <span id="step-number">1</span> of <span id="step-count">{count}</span></div>
<p class="hint">Forward: each node's value, in run order. Backward: each cotangent, from the seed
&#x2202;y/&#x2202;y = 1 back to the inputs; a gradient node applies its local derivative to the
cotangent arriving (ct). Keys: &#x2190; &#x2192; Home End; the address #step=N opens step N.</p>
<div id="step-phase"></div>
<div>node <code id="step-node"></code></div>
<div id="step-heading"></div>
<div id="step-rules"></div>
<pre id="step-value"></pre>
<h2 style="font-size:14px">so far</h2>
<ol id="history"></ol>
</div>
<script type="application/json" id="steps-data">{steps}</script>
<script>{script}</script>
</body></html>
"""
