"""Graph files: `save_graph` / `load_graph` as versioned JSON (no pickle), checked on the way in.

Attribute values are encoded with explicit tags (arrays as base64 bytes with dtype and shape,
dtypes, slices, tuples, nested sub-graphs, a fused node's region: its sub-graph and the names of
its inputs, members and outputs), so loading builds only data, never code. A file that
is malformed, of an unknown version, names an unknown op, has dangling or duplicate edges, a
cycle, shapes its ops' shape rules disagree with, or absurd sizes, is rejected with an
InvalidArgumentError and no graph.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import networkx as nx
import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError, StaticGraphError
from staticgraph.compiler.verify import verify
from staticgraph.graph import ROLES, Graph
from staticgraph.io.graph_schema import check_packed_read, check_schema, check_variable_reference, same_shape
from staticgraph.ops.fused import Region, check_region
from staticgraph.ops.registry import REGISTRY, Spec, get_op, infer_spec
from staticgraph.ops.state import Variable
from staticgraph.ops.subgraph import FuncGraph

FORMAT = "staticgraph-graph"
VERSION = 1
MAX_NODES = 1_000_000
MAX_ELEMENTS = 1 << 31
MAX_DEPTH = 64
MAX_STRING_BYTES = 1 << 20  # the longest string element an array in a file may hold
DEFAULT_MAX_BYTES = 1 << 30


class GraphFileError(InvalidArgumentError):
    """A graph file that cannot be loaded."""


# ----- saving ------------------------------------------------------------------------------------
def save_graph(graph: Graph, path) -> None:
    """Write `graph` (nodes, attributes, edges, sub-graphs, constants, variables) to `path` as JSON.

    Example:
        >>> import os, tempfile, staticgraph as sg
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     y = sg.sin(sg.placeholder(sg.float64, (2,), name="x"))
        >>> path = os.path.join(tempfile.mkdtemp(), "g.json")
        >>> sg.save_graph(g, path)
        >>> sorted(sg.load_graph(path).nx.nodes)
        ['sin', 'x']
    """
    document = {"format": FORMAT, "version": VERSION, **_encode_graph(graph)}
    Path(path).write_text(json.dumps(document, indent=1))


def dumps_graph(graph: Graph) -> str:
    """`save_graph`'s JSON as a string (what `loads_graph` reads)."""
    return json.dumps({"format": FORMAT, "version": VERSION, **_encode_graph(graph)})


def _encode_graph(graph: Graph) -> dict:
    nodes = [{"name": n, "op": d["op"], "attrs": {k: _encode(v) for k, v in d["attrs"].items()},
              "shape": None if d["shape"] is None else list(d["shape"]), "dtype": _dtype_name(d["dtype"]),
              "role": d["role"], "source": d["source"]}
             for n, d in ((n, graph.node(n)) for n in nx.topological_sort(graph.nx))]
    edges = []
    for u, v, d in graph.nx.edges(data=True):
        kind = "data" if "index" in d else "control" if d.get("control") else "ref"
        edges.append({"src": u, "dst": v, "kind": kind, **({"index": d["index"]} if kind == "data" else {})})
    variables = [{"name": v.name, "initializer": v.initializer.name,
                  "initial_value": v.initial_value.name, "trainable": v.trainable}
                 for v in graph.get_collection("variables")]
    encoded = {"nodes": nodes, "edges": edges, "variables": variables}
    if isinstance(graph, FuncGraph):
        encoded.update(name=graph.name, params=[t.name for t in graph.params],
                       captures=[[outer.name, inner.name] for outer, inner in graph.captured.values()],
                       outputs=[t.name for t in graph.outputs])
    return encoded


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"__ndarray__": {"dtype": _dtype_name(value.dtype), "shape": list(value.shape),
                                "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()}}
    if isinstance(value, np.dtype):
        return {"__dtype__": _dtype_name(value)}
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, Spec):
        return {"__spec__": [list(value.shape), _encode(value.dtype)]}
    if isinstance(value, FuncGraph):
        return {"__graph__": _encode_graph(value)}
    if isinstance(value, Region):
        return {"__region__": {"graph": _encode_graph(value.graph), "inputs": list(value.inputs),
                               "members": list(value.members), "outputs": list(value.outputs)}}
    if isinstance(value, (tuple, list)):
        items = [_encode(v) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    raise InvalidArgumentError(f"save_graph: cannot encode an attribute of type {type(value).__name__}")


# ----- loading -----------------------------------------------------------------------------------
def load_graph(path, max_bytes: int = DEFAULT_MAX_BYTES) -> Graph:
    """Read a graph written by `save_graph`, checking everything the file says before using it.

    Each node is checked against its op's schema (`staticgraph.io.graph_schema`: its number of
    inputs and exactly the attributes its kernel takes), its dtype against the supported set, and
    its stored shape and dtype against its op's shape rule re-run on its inputs; a node that reads
    or writes a variable must agree with the variable's shape and dtype.

    Args:
        path: the file.
        max_bytes: the largest file accepted, and the most any one node may hold by its static
            shape (a constant, a `fill`, a `one_hot`...); 1 GiB by default.
    Returns:
        a new Graph with the file's nodes, variables and sub-graphs.
    Raises:
        InvalidArgumentError (GraphFileError) naming the file and the culprit, for any file
        that is not a well-formed, consistent graph within the limits.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise GraphFileError(f"load_graph: cannot read {path}: {exc}") from None
    if len(data) > max_bytes:
        raise GraphFileError(f"load_graph: {path} is larger than max_bytes={max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraphFileError(f"load_graph: {path} is not UTF-8 text: {exc}") from None
    return loads_graph(text, where=str(path), max_bytes=max_bytes)


def loads_graph(text: str, where: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES) -> Graph:
    """`load_graph` from a JSON string."""
    if len(text) > max_bytes:
        raise GraphFileError(f"load_graph: {where} is larger than max_bytes={max_bytes}")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise GraphFileError(f"load_graph: {where} is not valid JSON: {exc}") from None
    try:
        _expect(isinstance(document, dict) and document.get("format") == FORMAT,
                "not a staticgraph graph file (no 'format': 'staticgraph-graph')")
        _expect(document.get("version") == VERSION,
                f"unknown version {document.get('version')!r}; this staticgraph reads version {VERSION}")
        graph = Graph()
        _decode_into(graph, document, depth=0, max_bytes=max_bytes)
        return verify(graph)
    except StaticGraphError as exc:
        raise GraphFileError(f"load_graph: {where}: {exc}") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, RecursionError, MemoryError) as exc:
        raise GraphFileError(f"load_graph: {where}: malformed graph ({type(exc).__name__}: {exc})") from None


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise GraphFileError(message)


def _decode_into(graph: Graph, doc: dict, depth: int, max_bytes: int) -> None:
    _expect(depth < MAX_DEPTH, "sub-graphs nested too deeply")
    _expect(isinstance(doc, dict), "a graph must be an object")
    nodes, edges = doc.get("nodes"), doc.get("edges")
    _expect(isinstance(nodes, list) and isinstance(edges, list), "'nodes' and 'edges' must be lists")
    _expect(len(nodes) <= MAX_NODES, f"absurd node count {len(nodes)}")
    data_in, other_in = _check_edges(nodes, edges)
    variables = {}
    for info in _list(doc.get("variables", []), "variables"):
        _expect(isinstance(info, dict) and isinstance(info.get("name"), str) and
                info["name"] not in variables, f"bad or repeated variable entry {info!r}")
        variables[info["name"]] = info
    for node in nodes:
        try:
            _add(graph, node, data_in.get(node["name"], []), other_in.get(node["name"], []),
                 variables, depth, max_bytes)
        except GraphFileError:
            raise
        except StaticGraphError as exc:
            raise GraphFileError(f"node {node['name']!r}: {exc}") from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise GraphFileError(f"node {node['name']!r}: malformed ({type(exc).__name__}: {exc})") from None
    for name in graph.nx:
        if "var" in graph.node(name)["attrs"]:
            check_variable_reference(graph, name)
        check_packed_read(graph, name)
    _attach_variables(graph, variables)
    if isinstance(graph, FuncGraph):
        graph.params = [graph.tensor(n) for n in _names(doc.get("params"), "params")]
        graph.outputs = [graph.tensor(n) for n in _names(doc.get("outputs"), "outputs")]


def _list(value, what: str) -> list:
    _expect(isinstance(value, list), f"'{what}' must be a list")
    return value


def _names(value, what: str) -> list:
    _expect(all(isinstance(n, str) for n in _list(value, what)), f"'{what}' must be node names")
    return value


def _check_edges(nodes: list, edges: list) -> tuple[dict, dict]:
    names = [n.get("name") if isinstance(n, dict) else None for n in nodes]
    _expect(all(isinstance(n, str) for n in names), "every node needs a string 'name'")
    _expect(len(set(names)) == len(names), "duplicate node names")
    known = set(names)
    data_in: dict[str, dict] = {}
    other_in: dict[str, list] = {}
    seen = set()
    for e in edges:
        _expect(isinstance(e, dict) and e.get("src") in known and e.get("dst") in known,
                f"dangling edge {e!r}")
        key = (e["src"], e["dst"], e.get("kind"), e.get("index"))
        _expect(key not in seen, f"duplicate edge {e!r}")
        seen.add(key)
        if e.get("kind") == "data":
            index = e.get("index")
            _expect(isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 4096,
                    f"bad input index in {e!r}")
            _expect(index not in data_in.setdefault(e["dst"], {}), f"two inputs at index {index} of {e['dst']!r}")
            data_in[e["dst"]][index] = e["src"]
        else:
            _expect(e.get("kind") in ("control", "ref"), f"unknown edge kind in {e!r}")
            other_in.setdefault(e["dst"], []).append((e["src"], e["kind"]))
    ordered = {}
    for dst, by_index in data_in.items():
        _expect(sorted(by_index) == list(range(len(by_index))), f"inputs of {dst!r} are not numbered 0..n-1")
        ordered[dst] = [by_index[i] for i in range(len(by_index))]
    check = nx.DiGraph()
    check.add_nodes_from(known)
    check.add_edges_from((e["src"], e["dst"]) for e in edges)
    _expect(nx.is_directed_acyclic_graph(check), "the graph has a cycle")
    return ordered, other_in


def _add(graph: Graph, node: dict, inputs: list, others: list, variables: dict, depth: int,
         max_bytes: int) -> None:
    name, op_name = node["name"], node.get("op")
    _expect(isinstance(op_name, str) and op_name in REGISTRY, f"unknown op {op_name!r} at node {name!r}")
    op = get_op(op_name)
    attrs = node.get("attrs", {})
    _expect(isinstance(attrs, dict), f"attrs of {name!r} must be an object")
    check_schema(op, name, len(inputs), attrs)
    attrs = {k: _decode(v, graph, depth, max_bytes) for k, v in attrs.items()}
    shape, dtype = _shape(node.get("shape"), name), _dtype(node.get("dtype"), name)
    _expect(_bytes(shape, dtype) <= max_bytes,
            f"node {name!r} would hold {_bytes(shape, dtype)} bytes, over max_bytes={max_bytes}")
    role = node.get("role", "forward")
    _expect(isinstance(role, str) and role in ROLES, f"unknown role {role!r} at node {name!r}")
    source = node.get("source", "<file>")
    _expect(isinstance(source, str), f"bad source at node {name!r}")
    for src in inputs:
        _expect(src in graph, f"input {src!r} of {name!r} comes after it")
    specs = [Spec(graph.node(i)["shape"], graph.node(i)["dtype"]) for i in inputs]
    expected = infer_spec(op, specs, attrs, source)
    _expect(same_shape(expected.shape, shape) and expected.dtype == dtype,
            f"node {name!r}: stored {dtype.name}{shape} but {op_name}'s shape rule gives "
            f"{np.dtype(expected.dtype).name}{expected.shape}")
    handle = Variable.__new__(Variable) if name in variables else None
    graph.add_node(op_name, [graph.tensor(i) for i in inputs], attrs, shape, dtype, source,
                   name=name, role=role, handle=handle, exact_name=True)
    for src, kind in others:
        graph.nx.add_edge(src, name, **({"control": True} if kind == "control" else {"ref": True}))


def _bytes(shape: tuple, dtype: np.dtype) -> int:
    """The bytes the known dims of `shape` take (a lower bound when some dim is unknown)."""
    size = 1 if dtype == dtypes.packed else dtype.itemsize
    for d in shape or ():
        size *= 1 if d is None else d
    return size


def _shape(value, name: str) -> tuple | None:
    """A shape read from a file: a list of dims (ints, None for unknown), or null for an unknown
    rank."""
    if value is None:
        return None
    _expect(isinstance(value, list) and len(value) <= 32, f"bad shape at node {name!r}")
    for d in value:
        _expect(d is None or isinstance(d, int) and not isinstance(d, bool) and 0 <= d < MAX_ELEMENTS,
                f"bad dim {d!r} at node {name!r}")
    return tuple(value)


def _dtype_name(dtype: np.dtype) -> str:
    """A dtype as a file names it: numpy's name, "packed", "string" (a string node), or
    "string:N" (an array of bytes strings of N bytes each)."""
    if dtype == dtypes.packed:
        return "packed"
    if dtype.kind == "S":
        return f"string:{dtype.itemsize}" if dtype.itemsize else "string"
    return dtype.name


def _dtype(value, name: str) -> np.dtype:
    if value == "packed":
        return dtypes.packed
    if isinstance(value, str) and value.startswith("string:"):
        size = value[len("string:"):]
        _expect(size.isdigit() and 0 < int(size) <= MAX_STRING_BYTES,
                f"bad string dtype {value!r} at node {name!r}")
        return np.dtype(f"S{int(size)}")
    names = {_dtype_name(d): d for d in dtypes.SUPPORTED}
    _expect(isinstance(value, str) and value in names, f"unknown dtype {value!r} at node {name!r}")
    return names[value]


def _decode(value, graph: Graph, depth: int, max_bytes: int):
    _expect(depth < MAX_DEPTH, "attributes nested too deeply")
    if isinstance(value, list):
        return [_decode(v, graph, depth + 1, max_bytes) for v in value]
    if not isinstance(value, dict):
        return value
    _expect(len(value) == 1, f"unknown attribute encoding {sorted(value)}")
    tag, body = next(iter(value.items()))
    if tag == "__tuple__":
        return tuple(_decode(v, graph, depth + 1, max_bytes) for v in _list(body, tag))
    if tag == "__ndarray__":
        return _array(body, max_bytes)
    if tag == "__dtype__":
        return _dtype(body, "<attribute>")
    if tag == "__slice__":
        _expect(isinstance(body, list) and len(body) == 3 and
                all(v is None or isinstance(v, int) and not isinstance(v, bool) for v in body), "bad slice")
        return slice(*body)
    if tag == "__ellipsis__":
        return Ellipsis
    if tag == "__spec__":
        _expect(isinstance(body, list) and len(body) == 2 and isinstance(body[1], dict), "bad spec")
        dtype = _decode(body[1], graph, depth + 1, max_bytes)
        _expect(isinstance(dtype, np.dtype), "bad spec dtype")
        return Spec(_shape(body[0], "<spec>"), dtype)
    if tag == "__graph__":
        _expect(isinstance(body, dict), "bad sub-graph")
        sub = FuncGraph(graph, str(body.get("name", "sub")))
        _decode_into(sub, body, depth + 1, max_bytes)
        for pair in _list(body.get("captures", []), "captures"):
            _expect(isinstance(pair, list) and len(pair) == 2, "bad capture")
            outer, inner = _names(pair, "captures")
            sub.captured[outer] = (graph.tensor(outer), sub.tensor(inner))
        return sub
    if tag == "__region__":
        return _region(body, depth, max_bytes)
    raise GraphFileError(f"unknown attribute tag {tag!r}")


def _region(body, depth: int, max_bytes: int) -> Region:
    """A fused node's region: its sub-graph loaded as any graph, then checked as a region."""
    _expect(isinstance(body, dict) and set(body) == {"graph", "inputs", "members", "outputs"},
            "a region needs exactly 'graph', 'inputs', 'members' and 'outputs'")
    sub = Graph()
    _decode_into(sub, body["graph"], depth + 1, max_bytes)
    names = [_names(body[key], key) for key in ("inputs", "members", "outputs")]
    _expect(all(n in sub for part in names for n in part) and names[1] and names[2],
            "a region names nodes its sub-graph does not have, or none")
    return check_region(Region.of(sub, *names))


def _array(body, max_bytes: int) -> np.ndarray:
    _expect(isinstance(body, dict), "bad array")
    dtype = _dtype(body.get("dtype"), "<array>")
    shape = _shape(body.get("shape"), "<array>")
    _expect(None not in shape and _bytes(shape, dtype) <= max_bytes,
            f"array of {dtype.name}{shape} over max_bytes={max_bytes}")
    data = base64.b64decode(str(body.get("data", "")), validate=True)
    _expect(len(data) == _bytes(shape, dtype),
            f"array data of {len(data)} bytes does not fit {dtype.name}{shape}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    array.flags.writeable = False
    return array


def _attach_variables(graph: Graph, variables: dict) -> None:
    for name, info in variables.items():
        _expect(name in graph and graph.node(name)["op"] == "variable" and
                graph.node(name)["attrs"]["var"] == name, f"variable {name!r} is not a variable node")
        handle = graph.tensor(name)
        initializer, initial_value = info.get("initializer"), info.get("initial_value")
        _expect(isinstance(initializer, str) and initializer in graph and
                graph.node(initializer)["attrs"].get("var") == name and
                graph.inputs(initializer)[:1] == [initial_value],
                f"variable {name!r}: its initializer must assign its initial value to it")
        handle.initializer = graph.tensor(initializer)
        handle.initial_value = graph.tensor(initial_value)
        handle.trainable = bool(info.get("trainable", True))
        graph.add_to_collection("variables", handle)
        if handle.trainable:
            graph.add_to_collection("trainable_variables", handle)
