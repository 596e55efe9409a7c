"""TensorBoard's protos for staticgraph: summaries (scalar, histogram, merged) and the GraphDef of
a graph. The `tensorboard` package is an optional extra, imported only when summaries are made.
"""
from __future__ import annotations

import importlib
import re
from types import SimpleNamespace

import numpy as np

from staticgraph.errors import FailedPreconditionError, InvalidArgumentError
from staticgraph.graph import Graph

INSTALL = 'pip install "staticgraph[tensorboard]"  (or: pip install tensorboard)'
_MODULES = {"summary_pb2": "tensorboard.compat.proto.summary_pb2",
            "event_pb2": "tensorboard.compat.proto.event_pb2",
            "graph_pb2": "tensorboard.compat.proto.graph_pb2",
            "attr_value_pb2": "tensorboard.compat.proto.attr_value_pb2",
            "tensor_shape_pb2": "tensorboard.compat.proto.tensor_shape_pb2",
            "types_pb2": "tensorboard.compat.proto.types_pb2",
            "event_file_writer": "tensorboard.summary.writer.event_file_writer"}
_LOADED: list[SimpleNamespace] = []


def tensorboard(what: str) -> SimpleNamespace:
    """TensorBoard's proto and writer modules; a FailedPreconditionError naming `what` (the
    feature asked for) and the pip command when the package is not installed."""
    if not _LOADED:
        try:
            _LOADED.append(SimpleNamespace(**{key: importlib.import_module(path)
                                              for key, path in _MODULES.items()}))
        except ImportError as exc:
            raise FailedPreconditionError(
                f"{what} writes TensorBoard files and needs the tensorboard package, which is "
                f"not installed ({exc}); install it with: {INSTALL}") from None
    return _LOADED[0]


def _summary_proto():
    return tensorboard("a tf.summary op").summary_pb2.Summary


def as_summary(summary):
    """A Summary proto from a summary op's value (bytes, or a 0-d array of them) or a proto."""
    proto = _summary_proto()
    if isinstance(summary, proto):
        return summary
    if isinstance(summary, np.ndarray) and summary.shape == ():
        summary = summary.item()
    if not isinstance(summary, bytes):
        raise InvalidArgumentError(f"expected a serialized Summary (the value of a tf.summary "
                                   f"op, as sess.run returns it), got {type(summary).__name__}")
    parsed = proto()
    parsed.ParseFromString(summary)
    return parsed


def scalar_summary(tag: str, value) -> bytes:
    """A serialized Summary holding one scalar (TensorBoard's `simple_value`, a float32)."""
    if np.ndim(value) != 0:
        raise InvalidArgumentError(f"summary {tag!r}: the value must be a scalar, got shape "
                                   f"{np.shape(value)}")
    proto = _summary_proto()
    return proto(value=[proto.Value(tag=tag, simple_value=float(value))]).SerializeToString()


def _default_bucket_limits() -> np.ndarray:
    """TensorFlow's histogram buckets: edges growing by 10% from 1e-12 to 1e20, mirrored for
    negative values, with 0 and +-DBL_MAX."""
    edges, v = [], 1.0e-12
    while v < 1.0e20:
        edges.append(v)
        v *= 1.1  # repeated products, as TensorFlow makes them: the same doubles
    edges.append(np.finfo(np.float64).max)
    positive = np.array(edges)
    return np.concatenate([-positive[::-1], [0.0], positive])


BUCKET_LIMITS = _default_bucket_limits()


def histogram_summary(tag: str, values) -> bytes:
    """A serialized Summary holding the histogram of `values` in TensorFlow's buckets (a value
    v counts in the first bucket whose limit exceeds it; runs of empty buckets are merged)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise InvalidArgumentError(f"Nan in summary histogram for: {tag} (the values hold a "
                                   f"NaN or an Inf)")
    counts = np.bincount(np.searchsorted(BUCKET_LIMITS, values, side="right"),
                         minlength=len(BUCKET_LIMITS))[:len(BUCKET_LIMITS)]
    limits, buckets = [], []
    for limit, count in zip(BUCKET_LIMITS, counts):
        if count == 0 and buckets and buckets[-1] == 0:
            limits[-1] = limit  # extend the run of empty buckets
        else:
            limits.append(limit)
            buckets.append(count)
    big = np.finfo(np.float64).max
    proto = _summary_proto()
    histo = tensorboard("tf.summary.histogram").summary_pb2.HistogramProto(
        min=values.min() if values.size else big, max=values.max() if values.size else -big,
        num=values.size, sum=values.sum(), sum_squares=np.dot(values, values),
        bucket_limit=limits, bucket=[float(c) for c in buckets])
    return proto(value=[proto.Value(tag=tag, histo=histo)]).SerializeToString()


def merge_summaries(*summaries) -> bytes:
    """One serialized Summary holding the values of all `summaries`; a tag twice is an error."""
    merged, seen = _summary_proto()(), set()
    for summary in summaries:
        for value in as_summary(summary).value:
            if value.tag in seen:
                raise InvalidArgumentError(f"Duplicate tag {value.tag} found in summary inputs")
            seen.add(value.tag)
            merged.value.add().CopyFrom(value)
    return merged.SerializeToString()


_DATA_TYPES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int32": "DT_INT32",
               "int64": "DT_INT64", "bool": "DT_BOOL", "int8": "DT_INT8", "int16": "DT_INT16",
               "uint8": "DT_UINT8", "uint16": "DT_UINT16", "float16": "DT_HALF",
               "bytes": "DT_STRING"}


def graph_def(graph: Graph):
    """The GraphDef TensorBoard's graph tab draws for `graph`: a NodeDef per node with its op,
    its inputs (control inputs as "^name"), and attrs: dtype, `_output_shapes` (unknown dims
    -1), role, source line, and the node's scalar and string attrs."""
    tb = tensorboard("FileWriter.add_graph")
    result = tb.graph_pb2.GraphDef()
    for name, data in graph.nx.nodes(data=True):
        node = result.node.add(name=name, op=data["op"])
        node.input.extend(graph.inputs(name))
        node.input.extend("^" + dep for dep in graph.control_inputs(name))
        node.input.extend("^" + ref for ref in graph.ref_inputs(name))
        _set_attrs(tb, node.attr, data)
    return result


def _set_attrs(tb, attr, data: dict) -> None:
    value = tb.attr_value_pb2.AttrValue
    dtype = data["dtype"]
    if dtype is not None and dtype.name in _DATA_TYPES:  # not a packed tuple of values
        attr["dtype"].CopyFrom(value(type=tb.types_pb2.DataType.Value(_DATA_TYPES[dtype.name])))
    attr["_output_shapes"].CopyFrom(value(list=value.ListValue(
        shape=[_shape_proto(tb, data["shape"])])))
    attr["role"].CopyFrom(value(s=data["role"].encode()))
    attr["source"].CopyFrom(value(s=str(data["source"]).encode()))
    for key, item in data["attrs"].items():
        if isinstance(item, (bool, np.bool_)):
            attr[key].CopyFrom(value(b=bool(item)))
        elif isinstance(item, (int, np.integer)):
            attr[key].CopyFrom(value(i=int(item)))
        elif isinstance(item, (float, np.floating)):
            attr[key].CopyFrom(value(f=float(item)))
        elif isinstance(item, str) and _PRINTABLE.match(item):
            attr[key].CopyFrom(value(s=item.encode()))


_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


def _shape_proto(tb, shape):
    proto = tb.tensor_shape_pb2.TensorShapeProto
    if shape is None:
        return proto(unknown_rank=True)
    return proto(dim=[proto.Dim(size=-1 if d is None else int(d)) for d in shape])
