"""Turning `fetches` and `feed_dict` keys into node names, and checking fed values."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import GraphError, InvalidArgumentError, NotFoundError
from staticgraph.graph import Graph, Tensor
from staticgraph.ops.registry import as_array
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


def feed_items(feed_dict) -> list:
    """The (key, value) pairs of `feed_dict`, which must be a dict (or another mapping)."""
    if feed_dict is None:
        return []
    if not isinstance(feed_dict, Mapping):
        raise InvalidArgumentError(
            f"feed_dict must be a dict mapping placeholders (or names) to values, got "
            f"{type(feed_dict).__name__}: {_short(feed_dict)}")
    return list(feed_dict.items())


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_feed(graph: Graph, name: str, value) -> np.ndarray:
    """`value` as an array of node `name`'s dtype; a wrong shape or dtype kind is an error, and
    so is a value the dtype cannot hold (an integer out of its range, a finite float that would
    become infinite): a feed is never wrapped around or overflowed silently.

    TensorFlow 1 refuses a Python int out of range and converts arrays with numpy's `astype`,
    which wraps; here every conversion path (Python scalars, lists, arrays of a wider dtype) is
    checked alike.
    """
    node = graph.node(name)
    where = f"{node['op']} {name!r} (created at {node['source']})"
    try:
        arr = np.asarray(value)
    except Exception as exc:  # numpy raises many kinds for ragged or odd input
        raise InvalidArgumentError(f"cannot feed {where}: {exc}") from None
    dtype = node["dtype"]
    if dtype == dtypes.string:
        try:
            arr = as_array(value, dtype)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"cannot feed {where}: {exc}") from None
    elif arr.dtype != dtype:
        arr = _converted(arr, dtype, where)
    shape = node["shape"]
    if not compatible(shape, arr.shape):
        raise InvalidArgumentError(f"fed value of shape {fmt(arr.shape)} does not fit {where}, "
                                   f"whose shape is {fmt(shape)}")
    return arr


def _converted(arr: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    """`arr` as `dtype`, refusing other kinds of values and values out of `dtype`'s range."""
    if arr.dtype.kind == "O" and arr.size and all(isinstance(v, int) for v in arr.flat):
        raise _out_of_range(max(arr.flat, key=abs), dtype, where)  # ints beyond 64 bits
    # Integers go into any integer dtype (signed into unsigned too): the range is checked below.
    if arr.dtype.kind not in "biuf" or not (np.can_cast(arr.dtype, dtype, "same_kind")
                                             or (arr.dtype.kind in "iub" and dtype.kind == "f")
                                             or (arr.dtype.kind in "iu" and dtype.kind in "iu")):
        raise InvalidArgumentError(f"cannot feed a {arr.dtype} value to {where}, which is "
                                   f"{dtype.name}")
    if arr.size and dtype.kind in "iu" and not np.can_cast(arr.dtype, dtype, "safe"):
        info = np.iinfo(dtype)
        low, high = arr.min(), arr.max()
        if low < info.min or high > info.max:
            raise _out_of_range(low if low < info.min else high, dtype, where)
    if not (dtype.kind == "f" and arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize):
        return arr.astype(dtype)
    with np.errstate(over="ignore"):  # the overflow is reported below, naming the value
        converted = arr.astype(dtype)
    overflowed = np.isinf(converted) & np.isfinite(arr)
    if overflowed.any():
        raise _out_of_range(arr[overflowed].flat[0], dtype, where)
    return converted


def _out_of_range(culprit, dtype: np.dtype, where: str) -> InvalidArgumentError:
    culprit = culprit.item() if isinstance(culprit, np.generic) else culprit
    return InvalidArgumentError(
        f"cannot feed {culprit!r} to {where}, which is {dtype.name}: the value is out of "
        f"{dtype.name}'s range (numpy: OverflowError); a placeholder of a wider dtype "
        f"(int64, float64) takes it")
