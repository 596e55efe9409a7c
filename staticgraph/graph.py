"""The static graph: a networkx MultiDiGraph of named nodes, the Tensor handle, default graph and scopes.

This module knows nothing about particular ops; `staticgraph.ops` builds nodes through `Graph.add_node`.
Node attributes: `op`, `attrs`, `shape`, `dtype`, `role`, `source`. Data edges carry `index`
(the input position, so `x * x` is two parallel edges); control edges carry `control=True`;
an assign's edge from its variable carries `ref=True` (it names the variable, reads nothing).
"""
from __future__ import annotations

import contextlib
import re
import threading
from typing import Iterable, Iterator

import networkx as nx
import numpy as np

from staticgraph.errors import GraphError, NotFoundError, UnimplementedError
from staticgraph.tensor_shape import TensorShape, as_static

ROLES = ("forward", "gradient", "tangent", "update", "init", "recompute")
_NAME_OK = re.compile(r"^[A-Za-z0-9_.\-/]+$")


class Graph:
    """A define-then-run computation graph.

    Example:
        >>> import staticgraph as sg
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float64, shape=(4,), name="x")
        ...     y = 2 * sg.dot(x, x)
        >>> sorted(g.nx.nodes)[:2]
        ['Const', 'dot']
    """

    def __init__(self) -> None:
        self.nx = nx.MultiDiGraph()
        self._name_counts: dict[str, int] = {}
        self._scopes: list[str] = []
        self._roles: list[str] = ["forward"]
        self._control: list[list[str]] = []
        self._tensors: dict[str, Tensor] = {}
        self._collections: dict[str, list] = {}
        self._lock = threading.RLock()
        self.outer: Graph | None = None  # the enclosing graph of a branch or loop body

    # ----- context managers -------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        """Make this graph the default one inside the `with` block."""
        stack = _stack()
        stack.append(self)
        try:
            yield self
        finally:
            # The innermost entry for this graph, on the stack of the thread that entered:
            # an InteractiveSession may leave its graph's block out of nesting order.
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is self:
                    del stack[i]
                    break

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[str]:
        """Prefix the names of nodes created inside the block with `name/`.

        A name ending in "/" is absolute: it replaces the enclosing scopes, as in TensorFlow 1;
        "/" alone is the root scope.
        """
        absolute = name.endswith("/")
        name = name.rstrip("/")
        if not _NAME_OK.match(name) and not (absolute and name == ""):
            raise GraphError(f"invalid name scope {name!r}: use letters, digits, '_', '.', '-', '/'")
        saved = self._scopes
        self._scopes = ([name] if name else []) if absolute else saved + [name]
        try:
            yield "/".join(self._scopes)
        finally:
            self._scopes = saved

    @contextlib.contextmanager
    def role_scope(self, role: str) -> Iterator[None]:
        """Give nodes created inside the block the role `role` (see `ROLES`)."""
        if role not in ROLES:
            raise GraphError(f"unknown role {role!r}; roles are {ROLES}")
        self._roles.append(role)
        try:
            yield
        finally:
            self._roles.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Iterable | None) -> Iterator[None]:
        """Nodes created inside the block run only after every node in `control_inputs`.

        `None` clears the dependencies of enclosing blocks, as in TensorFlow 1.
        """
        if control_inputs is None:
            saved, self._control = self._control, []
            try:
                yield
            finally:
                self._control = saved
            return
        names = [self._own_name(t) for t in control_inputs]
        self._control.append(names)
        try:
            yield
        finally:
            self._control.pop()

    # ----- building ---------------------------------------------------------------------
    @property
    def current_role(self) -> str:
        return self._roles[-1]

    def unique_name(self, base: str) -> str:
        """Return `scope/base`, suffixed `_1`, `_2`, … if taken."""
        if not _NAME_OK.match(base):
            raise GraphError(f"invalid node name {base!r}: use letters, digits, '_', '.', '-', '/'")
        full = "/".join(self._scopes + [base])
        with self._lock:
            if full not in self._name_counts and full not in self.nx:
                self._name_counts[full] = 0
                return full
            count = self._name_counts.get(full, 0)
            while True:
                count += 1
                candidate = f"{full}_{count}"
                if candidate not in self.nx:
                    self._name_counts[full] = count
                    return candidate

    def add_node(self, op: str, inputs: list["Tensor"], attrs: dict, shape: tuple, dtype: np.dtype,
                 source: str, name: str | None = None, role: str | None = None,
                 handle: "Tensor | None" = None, exact_name: bool = False,
                 refs: tuple = ()) -> "Tensor":
        """Add one node with data edges from `inputs`; return its Tensor handle.

        `handle` (e.g. a Variable being constructed) becomes the node's handle; `exact_name`
        takes `name` as the full, already unique node name. `refs` are nodes the new one
        refers to without reading their value (an assign's variable): edges with `ref=True`.
        """
        node_name = name if exact_name else self.unique_name(name or op)
        if node_name in self.nx:
            raise GraphError(f"a node named {node_name!r} already exists")
        for t in inputs:
            self._own_name(t)
        with self._lock:
            self.nx.add_node(node_name, op=op, attrs=dict(attrs), shape=None if shape is None else tuple(shape), dtype=dtype,
                             role=role or self.current_role, source=source)
            for index, t in enumerate(inputs):
                self.nx.add_edge(t.name, node_name, index=index)
            for ref in refs:
                self.nx.add_edge(self._own_name(ref), node_name, ref=True)
            for deps in self._control:
                for dep in deps:
                    self.nx.add_edge(dep, node_name, control=True)
            handle = handle if handle is not None else Tensor.__new__(Tensor)
            handle.graph, handle.name = self, node_name
            self._tensors[node_name] = handle
        return handle

    def copy_node(self, name: str, node: dict, inputs: list, refs=(), controls=()) -> None:
        """Add node `name` defined as `node` (another graph's node dict: op, attrs, shape,
        dtype, role, source) with data edges from `inputs`, ref edges from `refs` and control
        edges from `controls`, all names of nodes already in this graph.

        What compiler passes use to rebuild a graph: `name` is taken as given (free in this
        graph) and no control-dependency block applies; edges are written into networkx's
        adjacency dicts as `add_edge` would, without its per-edge checks.
        """
        nxg = self.nx
        if name in nxg._node:
            raise GraphError(f"a node named {name!r} already exists")
        nxg._node[name] = {"op": node["op"], "attrs": dict(node["attrs"]),
                           "shape": node["shape"], "dtype": node["dtype"],
                           "role": node["role"], "source": node["source"]}
        nxg._succ[name], pred = {}, {}
        nxg._pred[name] = pred
        edges = [(u, {"index": i}) for i, u in enumerate(inputs)]
        edges += [(u, {"ref": True}) for u in refs]
        edges += [(u, {"control": True}) for u in controls]
        for u, data in edges:
            keys = pred.get(u)
            if keys is None:
                if u not in nxg._node:
                    raise NotFoundError(f"no node named {u!r} in this graph")
                keys = pred[u] = nxg._succ[u][name] = {}
            keys[len(keys)] = data
        handle = Tensor.__new__(Tensor)
        handle.graph, handle.name = self, name
        self._tensors[name] = handle
        nx._clear_cache(nxg)

    def remove_nodes(self, names) -> None:
        """Remove nodes nothing refers to (e.g. cotangents a gradient pass built but did not use)."""
        with self._lock:
            for name in names:
                self.nx.remove_node(name)
                self._tensors.pop(name, None)

    def add_control_input(self, node: str, dep: str) -> None:
        """Make `node` run after `dep`."""
        self.nx.add_edge(dep, node, control=True)

    # ----- reading ----------------------------------------------------------------------
    def tensor(self, name: str) -> "Tensor":
        """The Tensor handle of node `name` (the same object every time)."""
        try:
            return self._tensors[name]
        except KeyError:
            raise NotFoundError(f"no node named {name!r} in this graph") from None

    def node(self, name: str) -> dict:
        """The attribute dict of node `name`."""
        try:
            return self.nx.nodes[name]
        except KeyError:
            raise NotFoundError(f"no node named {name!r} in this graph") from None

    # The edge queries below read networkx's adjacency dicts (node -> neighbour -> key -> edge
    # data) directly: the compiler's passes ask them for every node of every graph they
    # rebuild, and building networkx's edge views costs eight times more.
    def inputs(self, name: str) -> list[str]:
        """Names of the data inputs of `name`, in input order (repeats kept)."""
        edges = [(d["index"], u) for u, keys in self.nx._pred[name].items()
                 for d in keys.values() if "index" in d]
        return [u for _, u in sorted(edges)]

    def control_inputs(self, name: str) -> list[str]:
        """Names of the nodes `name` must run after without using their values."""
        return [u for u, keys in self.nx._pred[name].items() for d in keys.values()
                if d.get("control")]

    def ref_inputs(self, name: str) -> list[str]:
        """Names of the nodes `name` refers to without reading them (an assign's variable)."""
        return [u for u, keys in self.nx._pred[name].items() for d in keys.values()
                if d.get("ref")]

    def consumers(self, name: str) -> list[str]:
        """Names of the nodes using `name`'s value (each once)."""
        return [v for v, keys in self.nx._succ[name].items()
                if any("index" in d for d in keys.values())]

    def get_collection(self, key: str) -> list:
        """A copy of the named collection (e.g. "variables", "trainable_variables")."""
        return list(self._collections.get(key, []))

    def add_to_collection(self, key: str, value) -> None:
        self._collections.setdefault(key, []).append(value)

    def encloses(self, other: "Graph") -> bool:
        """True if `other` is this graph or one it is nested in."""
        graph = self
        while graph is not None:
            if graph is other:
                return True
            graph = graph.outer
        return False

    def capture(self, tensor: "Tensor") -> "Tensor":
        """The handle in this graph for an outer graph's tensor (only nested graphs capture)."""
        raise GraphError(f"tensor {tensor.name!r} belongs to another graph than this one")

    def __contains__(self, name: str) -> bool:
        return name in self.nx

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def __repr__(self) -> str:
        return f"<sg.Graph with {len(self)} nodes>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Jupyter shows the graph drawn (see `staticgraph.io.dot.Drawing`)."""
        from staticgraph.io.dot import inline  # io sits above graph; loaded only to display
        return inline(self, include, exclude)

    def _own_name(self, t) -> str:
        """The node name of `t` (a Tensor of this graph, or a node name), else a GraphError."""
        if isinstance(t, str):
            if t not in self.nx:
                raise NotFoundError(f"no node named {t!r} in this graph")
            return t
        if isinstance(t, Tensor):
            if t.graph is not self:
                raise GraphError(f"tensor {t.name!r} belongs to another graph than this one")
            return t.name
        raise GraphError(f"expected a Tensor or node name, got {type(t).__name__}: {t!r}")


class Tensor:
    """A symbolic handle on one node's value: it has a shape and a dtype but no value until run.

    Arithmetic operators, comparisons, slicing, `.T`, `.sum()`, `.mean()`, `.reshape()` and
    `.norm()` build new nodes (see `staticgraph.ops`).
    """

    __slots__ = ("graph", "name")
    style = "static"
    # numpy defers `array * tensor`, `array @ tensor`, `array < tensor` to the Tensor's
    # reflected operator instead of making an object array of tensors.
    __array_ufunc__ = None

    def __init__(self, graph: Graph, name: str) -> None:
        self.graph = graph
        self.name = name

    @property
    def node(self) -> dict:
        return self.graph.nx.nodes[self.name]

    @property
    def shape(self) -> TensorShape | None:
        """The static shape: a `TensorShape` (a tuple of ints with None for dims known only at
        run time, with TF1's methods), or None when even the rank is unknown (`get_shape()`
        then gives TF1's `TensorShape(None)`; `sg.shape(t)` gives the run-time shape)."""
        shape = self.node["shape"]
        return None if shape is None else TensorShape.of(shape)

    def get_shape(self) -> TensorShape:
        """TF1's `Tensor.get_shape()`: the static shape as a `TensorShape`, `TensorShape(None)`
        when the rank is unknown."""
        return TensorShape.of(self.node["shape"])

    def set_shape(self, shape) -> None:
        """TF1's `Tensor.set_shape`: claim what a placeholder's fed values will have (its shape
        merged with `shape`; every feed is checked against it).

        Raises:
            ValueError: `shape` is incompatible with the static shape.
            UnimplementedError: refining a tensor that is not a placeholder (its value is
                computed, and nothing would check the claim at run time): use `sg.reshape`.
        """
        merged = self.get_shape().merge_with(shape)
        if merged == self.get_shape():
            return
        if self.op != "placeholder":
            raise UnimplementedError(
                f"set_shape: {self.name!r} ({self.op}) has shape {self.get_shape()}; only a "
                f"placeholder's shape can be refined in place (to {merged}); use "
                "sg.reshape(t, shape), which checks the claim at run time")
        self.node["shape"] = as_static(merged)
        self.node["attrs"]["shape"] = as_static(merged)

    @property
    def dtype(self) -> np.dtype:
        return self.node["dtype"]

    @property
    def op(self) -> str:
        return self.node["op"]

    @property
    def ndim(self) -> int | None:
        """The rank, or None when it is unknown."""
        return None if self.shape is None else len(self.shape)

    @property
    def role(self) -> str:
        return self.node["role"]

    @property
    def source(self) -> str:
        return self.node["source"]

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of tensor {self.name!r} is not known while the graph is being built: "
            "in the define-then-run style a Tensor holds no value until Session.run computes it. "
            "Put the decision in the graph with sg.cond(pred, true_fn, false_fn) or "
            "sg.while_loop(cond_fn, body_fn, loop_vars), or use the eager style "
            "(staticgraph.eager), where Python `if` and `while` work on values.")

    def __iter__(self):
        raise TypeError(f"tensor {self.name!r} is not iterable while the graph is being built; "
                        "index it (t[i]) or use sg.while_loop")

    __hash__ = object.__hash__

    def eval(self, feed_dict: dict | None = None, session=None):
        """This tensor's value, computed by `session`, else by the default session (as TF1's
        `Tensor.eval`); an op without a value gives None.

        Raises InvalidArgumentError when no session is given and none is the default, or the
        session runs another graph.
        """
        return _SESSION_RUNNER[0](self, feed_dict, session, "eval")

    def run(self, feed_dict: dict | None = None, session=None) -> None:
        """Run this op (e.g. a train step or an initializer) in `session`, else in the default
        session, as TF1's `Operation.run`; returns None."""
        _SESSION_RUNNER[0](self, feed_dict, session, "run")

    def __repr__(self) -> str:
        return f"<sg.Tensor {self.name!r} shape={self.shape} dtype={self.dtype.name}>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Jupyter shows what computing this tensor needs, drawn (see `staticgraph.io.dot.Drawing`)."""
        from staticgraph.io.dot import inline  # io sits above graph; loaded only to display
        return inline(self, include, exclude)


_SESSION_RUNNER: list = []


def set_session_runner(fn) -> None:
    """Install what `Tensor.eval` / `Tensor.run` call (staticgraph.runtime does, on import):
    `fn(tensor, feed_dict, session, method)`."""
    _SESSION_RUNNER[:] = [fn]


def _stack() -> list[Graph]:
    local = _DEFAULT
    if not hasattr(local, "stack"):
        local.stack = []
    return local.stack


_DEFAULT = threading.local()
_GLOBAL_DEFAULT = [Graph()]


def get_default_graph() -> Graph:
    """The graph new nodes go to: the innermost `as_default()` graph, else the global one."""
    stack = _stack()
    return stack[-1] if stack else _GLOBAL_DEFAULT[0]


def reset_default_graph() -> Graph:
    """Replace the global default graph with a new empty one and return it."""
    if _stack():
        raise GraphError("reset_default_graph() called inside a `with graph.as_default()` block")
    _GLOBAL_DEFAULT[0] = Graph()
    return _GLOBAL_DEFAULT[0]


def name_scope(name: str):
    """`with sg.name_scope("layer1"):` prefixes node names in the default graph."""
    return get_default_graph().name_scope(name)


def control_dependencies(control_inputs):
    """`with sg.control_dependencies([op]):` orders new nodes of the default graph after `op`."""
    graph = get_default_graph()
    if control_inputs:
        first = next(iter(control_inputs))
        if isinstance(first, Tensor):
            graph = first.graph
    return graph.control_dependencies(control_inputs)
