"""The extra label rows of `to_dot(annotate="derivatives")` and `to_dot(values=feed_dict)`.

Derivatives: the gradient pass marks each node it builds (see `staticgraph.autodiff.reverse`):
`cotangent_of` = the (forward node, input position) pairs whose cotangent the node is,
`grad_of` = the node whose vjp built it, `paths_meet_at` on the add_n that sums the cotangents
where several paths meet, `seed_of` on the starting ones. A cotangent node is labelled with the
local derivative its vjp applied, in the notes' notation (for a = x * w the cotangent towards x
reads "∂a/∂x = w" and "ct · w"), from one table of formula templates per op and input position.

Values: the graph is run once and each node shows its value, printed when small, otherwise as its
shape and range.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph
from staticgraph.kinks import DEFAULT as DEFAULT_CONVENTION
from staticgraph.ops.registry import REGISTRY
from staticgraph.runtime.feeds import node_name
from staticgraph.runtime.session import Session

# op -> the local derivative d out / d input, one template per input position. In a template
# {0}, {1} are the inputs, {out} the output, and {1-1} is input 1 minus one.
DERIVATIVES: dict[str, tuple[str, ...]] = {
    "add": ("1", "1"), "subtract": ("1", "−1"), "negative": ("−1",),
    "multiply": ("{1}", "{0}"), "divide": ("1/{1}", "−{out}/{1}"),
    "power": ("{1}·{0}^{1-1}", "ln({0})·{out}"), "square": ("2{0}",),
    "sqrt": ("1/(2{out})",), "exp": ("{out}",), "log": ("1/{0}",),
    "sin": ("cos {0}",), "cos": ("−sin {0}",), "tanh": ("1 − {out}²",),
    "sigmoid": ("{out}(1 − {out})",), "identity": ("1",), "sum": ("1",), "add_n": ("1",) * 8,
    "dot": ("{1}", "{0}"), "matmul": ("{1}ᵀ", "{0}ᵀ"),
}
# The ops with kinks: their formula depends on the convention their gradient was built under
# (see staticgraph.kinks); [c] is 1 where c holds, else 0.
_KINKS_ZERO = {
    "relu": ("[{0} > 0]",), "abs": ("sign {0}",),
    "maximum": ("[{0} > {1}] + ½[{0} = {1}]", "[{1} > {0}] + ½[{0} = {1}]"),
    "minimum": ("[{0} < {1}] + ½[{0} = {1}]", "[{1} < {0}] + ½[{0} = {1}]"),
    "max": ("[{0} = {out}] / #maxima",),
}
KINK_DERIVATIVES: dict[str, dict[str, tuple[str, ...]]] = {
    "zero": _KINKS_ZERO,
    "half": {**_KINKS_ZERO, "relu": ("[{0} > 0] + ½[{0} = 0]",)},
    "left": {"relu": ("[{0} > 0]",), "abs": ("[{0} > 0] − [{0} ≤ 0]",),
             "maximum": ("[{0} ≥ {1}]", "[{1} > {0}]"), "minimum": ("[{0} ≤ {1}]", "[{1} < {0}]"),
             "max": ("[{0} = {out}] at the first maximum",)},
}
# Where the cotangent is not simply multiplied by the derivative (matrix products keep order).
APPLIED: dict[str, tuple[str, ...]] = {"matmul": ("ct @ {1}ᵀ", "{0}ᵀ @ ct")}
# Tidy-ups after substitution: b^1 -> b, 1·x -> x, 2·b -> 2b.
CLEANUPS = ((re.compile(r"\^1(?![\d.])"), ""), (re.compile(r"(?<![\w.)])1·"), ""),
            (re.compile(r"(\d)·(?=[A-Za-z(])"), r"\1"))
_FIELD = re.compile(r"\{(\w+(?:-1)?)\}")
SMALL_VALUE = 6  # values with at most this many elements are printed in full


def label_notes(graph: Graph, names: list[str], derivatives: bool, values: Mapping | None,
                session: Session | None = None) -> dict[str, list[str]]:
    """The annotation rows of each node in `names`: what it derives, then its value from one
    run at feed_dict `values` (not repeated for constants small enough to show theirs)."""
    notes = {name: derivative_rows(graph, name) if derivatives else [] for name in names}
    if values is not None:
        for name, value in run_values(graph, names, values, session).items():
            node = graph.node(name)
            if node["op"] != "constant" or np.size(node["attrs"]["value"]) > SMALL_VALUE:
                notes[name].append(value_text(value))
    return notes


def derivative_rows(graph: Graph, name: str) -> list[str]:
    """The label rows saying what gradient node `name` computes (none for other nodes).

    Example:
        >>> import staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (), name="x")
        >>> w = sg.placeholder(sg.float64, (), name="w")
        >>> (dx,) = sg.gradients(sg.multiply(x, w, name="a"), [x])
        >>> derivative_rows(dx.graph, dx.name)
        ['∂a/∂x = w', 'ct · w']
    """
    node = graph.node(name)
    rows = []
    if "seed_of" in node:
        seed = _short(node["seed_of"])
        rows.append(f"∂{seed}/∂{seed} = 1")
    if "paths_meet_at" in node:
        rows.append(f"Σ: paths meet at {_short(node['paths_meet_at'])}")
    for forward, index in node.get("cotangent_of", ()):
        rows += _local_derivative(graph, forward, index, node.get("kink_convention"))
    if not rows and "grad_of" in node:
        rows.append(f"(in the vjp of {_short(node['grad_of'])})")
    return rows


def _local_derivative(graph: Graph, forward: str, index: int, convention: str | None) -> list[str]:
    """'∂out/∂in = D' and how the cotangent is applied, for input `index` of node `forward`;
    for an op with kinks, D under `convention` (the one its vjp baked in) and which that was."""
    op = graph.node(forward)["op"]
    inputs = graph.inputs(forward)
    head = f"∂{_short(forward)}/∂{_display(graph, inputs[index])}"
    convention = convention or DEFAULT_CONVENTION
    kinked = op in KINK_DERIVATIVES[convention]
    table = KINK_DERIVATIVES[convention][op] if kinked else DERIVATIVES.get(op)
    if table is None or index >= len(table):
        return [f"{head} (the vjp of {op})"]
    fields = {"out": _short(forward)}
    for i, inp in enumerate(inputs):
        fields[str(i)] = _display(graph, inp)
        fields[f"{i}-1"] = _minus_one(graph, inp)
    derivative = _render(table[index], fields)
    applied = APPLIED.get(op, ())
    rule = _render(applied[index], fields) if index < len(applied) else _times_ct(derivative)
    return [f"{head} = {derivative}", rule] + ([f"kink convention {convention!r}"] if kinked else [])


def _render(template: str, fields: Mapping[str, str]) -> str:
    text = _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)
    for pattern, replacement in CLEANUPS:
        text = pattern.sub(replacement, text)
    return text


def _times_ct(derivative: str) -> str:
    if derivative == "1":
        return "ct"
    wrapped = f"({derivative})" if " " in derivative or derivative.startswith("−") else derivative
    return f"ct · {wrapped}"


def _short(name: str) -> str:
    return name.rpartition("/")[2]


def _scalar_constant(graph: Graph, name: str):
    """The value of a one-element constant node, else None."""
    node = graph.node(name)
    value = node.get("attrs", {}).get("value") if node["op"] == "constant" else None
    return None if value is None or np.size(value) != 1 else np.asarray(value).item()


def _display(graph: Graph, name: str) -> str:
    """How an input appears in a formula: a scalar constant by its value, else its short name."""
    value = _scalar_constant(graph, name)
    if value is None:
        return _short(name)
    return f"{value:g}" if value >= 0 else f"(−{-value:g})"


def _minus_one(graph: Graph, name: str) -> str:
    value = _scalar_constant(graph, name)
    if value is None:
        return f"({_short(name)}−1)"
    return f"{value - 1:g}" if value >= 1 else f"(−{1 - value:g})"


# ----- values -------------------------------------------------------------------------------
def value_text(value) -> str:
    """A value for a label: printed in full when small, else its shape and range.

    Example:
        >>> import numpy as np
        >>> value_text(np.array([1.0, 2.5]))
        '= [1, 2.5]'
        >>> value_text(np.arange(12.0).reshape(3, 4))
        '(3, 4) in [0, 11]'
    """
    arr = np.asarray(value)
    if arr.size <= SMALL_VALUE:
        flat = ", ".join(_number(v) for v in arr.ravel())
        return f"= {flat}" if arr.ndim == 0 else f"= [{flat}]"
    shape = "(" + ", ".join(map(str, arr.shape)) + ("," if arr.ndim == 1 else "") + ")"
    if arr.dtype.kind == "b":
        return f"{shape} {int(arr.sum())} true"
    finite = arr[np.isfinite(arr)]
    text = f"{shape} in [{_number(finite.min())}, {_number(finite.max())}]" if finite.size else shape
    bad = arr.size - finite.size
    return text + (f", {bad} not finite" if bad else "")


def _number(v) -> str:
    return str(bool(v)) if isinstance(v, (bool, np.bool_)) else f"{v + 0:.4g}"  # -0 -> 0


def run_values(graph: Graph, names: list[str], feed_dict: Mapping,
               session: Session | None = None) -> dict:
    """Run `graph` once and return {name: value} for those of `names` that can be computed.

    Left out: placeholders not fed and what needs them, ops without output, variable writes and
    update/init nodes and what runs after them (one run must change nothing). Without a
    `session` a new one is made on `graph` and the variables are set to their initial values.
    Raises:
        InvalidArgumentError: the run failed (the message says which).
    """
    fed = {node_name(graph, key, "feed key") for key in feed_dict}
    wanted = [n for n in names if n not in _blocked(graph, fed)]
    if not wanted:
        return {}
    if session is None:
        session = Session(graph)
        initializers = [v.initializer for v in graph.get_collection("variables")]
        if initializers:
            session.run(initializers, feed_dict)
    try:
        return dict(zip(wanted, session.run(wanted, feed_dict)))
    except Exception as exc:
        raise InvalidArgumentError(f"to_dot(values=...): running the graph failed: {exc}") from exc


def _blocked(graph: Graph, fed: set[str]) -> set[str]:
    """Nodes one value-reading run must not compute, and every node that runs after them."""
    stack = []
    for name, node in graph.nx.nodes(data=True):
        traits = REGISTRY[node["op"]].traits if node["op"] in REGISTRY else frozenset()
        writes = any(d.get("ref") for _, _, d in graph.nx.in_edges(name, data=True))
        if ((node["op"] == "placeholder" and name not in fed) or "no_output" in traits or writes
                or node.get("role") in ("update", "init")):
            stack.append(name)
    blocked = set()
    while stack:
        name = stack.pop()
        if name not in blocked and name not in fed:  # a fed value needs nothing before it
            blocked.add(name)
            stack.extend(graph.nx.successors(name))
    return blocked
