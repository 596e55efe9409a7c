"""Turning `fetches` and `feed_dict` keys into node names, and checking fed values."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import GraphError, InvalidArgumentError, NotFoundError
from staticgraph.graph import Graph, Tensor
from staticgraph.ops.shapes import compatible, fmt


def node_name(graph: Graph, key, what: str) -> str:
    """The node that a fetch or feed key (a Tensor, "name" or "name:0") names in `graph`."""
    if isinstance(key, Tensor):
        if key.graph is not graph:
            raise GraphError(f"{what} {key.name!r} is a tensor of another graph than the session's")
        return key.name
    if isinstance(key, str):
        name = key[:-2] if key.endswith(":0") else key
        if name not in graph:
            raise NotFoundError(f"{what} {key!r} names no node of the session's graph")
        return name
    if getattr(type(key), "style", None) == "eager":
        raise GraphError(f"{what} is an eager tensor; sessions run static graphs "
                         "(use sg.function to trace eager-style code into one)")
    raise InvalidArgumentError(f"{what} must be a Tensor or a node name, got "
                               f"{type(key).__name__}: {key!r}")


def check_feed(graph: Graph, name: str, value) -> np.ndarray:
    """`value` as an array of node `name`'s dtype; a wrong shape or dtype kind is an error."""
    node = graph.node(name)
    where = f"{node['op']} {name!r} (created at {node['source']})"
    try:
        arr = np.asarray(value)
    except Exception as exc:  # numpy raises many kinds for ragged or odd input
        raise InvalidArgumentError(f"cannot feed {where}: {exc}") from None
    dtype = node["dtype"]
    if arr.dtype != dtype:
        if arr.dtype.kind not in "biuf" or not (np.can_cast(arr.dtype, dtype, "same_kind")
                                                 or (arr.dtype.kind in "iub" and dtype.kind == "f")):
            raise InvalidArgumentError(f"cannot feed a {arr.dtype} value to {where}, which is "
                                       f"{dtype.name}")
        arr = arr.astype(dtype)
    shape = node["shape"]
    if not compatible(shape, arr.shape):
        raise InvalidArgumentError(f"fed value of shape {fmt(arr.shape)} does not fit {where}, "
                                   f"whose shape is {fmt(shape)}")
    return arr
