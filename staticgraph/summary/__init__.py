"""TF1's `tf.summary`: summary ops in the graph and a FileWriter of TensorBoard event files.

A summary op's value, fetched with `sess.run`, is a serialized Summary (bytes), which
`FileWriter.add_summary(summary, step)` writes. Needs the optional `tensorboard` package
(`pip install "staticgraph[tensorboard]"`) once a summary is run or a FileWriter made.

Example:
    >>> import staticgraph as tf
    >>> x = tf.placeholder(tf.float32, shape=(), name="x")
    >>> loss_summary = tf.summary.scalar("loss", x * x)
    >>> merged = tf.summary.merge_all()
    >>> merged.name
    'Merge/MergeSummary'
"""
from __future__ import annotations

import re

from staticgraph.graph import Tensor, get_default_graph
from staticgraph.io.tensorboard import tensorboard
from staticgraph.ops.create import constant
from staticgraph.ops.registry import apply_static
from staticgraph.summary.ops import summary_histogram, summary_merge, summary_scalar
from staticgraph.summary.writer import FileWriter
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError

SUMMARIES = "summaries"  # TF1's GraphKeys.SUMMARIES: the collection merge_all reads
_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w.]", re.ASCII)

__all__ = ["scalar", "histogram", "merge", "merge_all", "FileWriter", "Summary", "SUMMARIES"]


def scalar(name: str, tensor, collections: list | None = None, family: str | None = None):
    """A summary op holding the scalar `tensor`, tagged with its node name (name scopes
    included; `name_1` when `name` is taken), as TF1's `tf.summary.scalar`.

    Args:
        name: the tag's last part. Characters other than letters, digits, `_-/.` become `_`.
        tensor: a real-valued scalar tensor (or Python number).
        collections: the graph collections to add the op to (default: ["summaries"]).
        family: a prefix for the tag and the node name, grouping summaries in TensorBoard.
    Returns:
        A Tensor whose value is the serialized Summary (bytes).
    Raises:
        ShapeError: when `tensor` is not a real-valued scalar.
    """
    return _summary(summary_scalar, name, tensor, collections, family)


def histogram(name: str, values, collections: list | None = None, family: str | None = None):
    """A summary op holding the histogram of `values` (any shape), as TF1's
    `tf.summary.histogram`: TensorFlow's buckets (edges 10% apart from 1e-12 to 1e20, both
    signs). A run fails with InvalidArgumentError when `values` holds a NaN or an Inf.
    Arguments as `scalar`."""
    return _summary(summary_histogram, name, values, collections, family)


def merge(inputs: list, collections: list | None = None, name: str | None = None):
    """A summary op holding the values of all `inputs` (summary ops); a run fails when two
    hold the same tag. `collections` (default none) are the collections to add it to."""
    inputs = list(inputs)
    if not inputs:
        raise InvalidArgumentError("tf.summary.merge: inputs is empty")
    graph = inputs[0].graph if isinstance(inputs[0], Tensor) else get_default_graph()
    with graph.name_scope(name or "Merge"):
        merged = summary_merge(*inputs, name=name or "MergeSummary")
    for key in collections or ():
        graph.add_to_collection(key, merged)
    return merged


def merge_all(key: str = SUMMARIES, scope: str | None = None, name: str | None = None):
    """`merge` of every summary op in the default graph's collection `key` whose name
    matches `scope` (a regular expression, from the start); None when there is none, as TF1."""
    ops = get_default_graph().get_collection(key)
    if scope is not None:
        ops = [op for op in ops if re.match(scope, op.name)]
    return merge(ops, name=name) if ops else None


def _summary(op, name: str, value, collections, family):
    graph = get_default_graph()
    base = _clean(name) if family is None else f"{_clean(family)}/{_clean(name)}"
    node_name = graph.unique_name(base)
    while any(other.startswith(node_name + "/") for other in graph.nx):
        node_name = graph.unique_name(base)  # a name scope's name is taken too, as in TF1
    tag = node_name if family is None else f"{_clean(family)}/{node_name}"
    if not isinstance(value, Tensor):
        value = constant(value)
    elif value.graph is not graph:
        value = graph.capture(value)
    node = apply_static(graph, op, [value], {"tag": tag}, name=node_name,
                        handle=Tensor.__new__(Tensor))
    for key in (SUMMARIES,) if collections is None else collections:
        graph.add_to_collection(key, node)
    return node


def _clean(name: str) -> str:
    """`name` as a tag part: other characters than letters, digits, `_-/.` become `_` (TF1)."""
    cleaned = _INVALID_TAG_CHARACTERS.sub("_", str(name)).lstrip("/")
    if not cleaned:
        raise InvalidArgumentError(f"summary name {name!r} has no character a tag may hold")
    return cleaned


def __getattr__(name: str):
    # tf.summary.Summary: TensorBoard's Summary proto class, loaded only when asked for;
    # without tensorboard it is a missing attribute (hasattr is False), the message says why.
    if name == "Summary":
        try:
            return tensorboard("tf.summary.Summary").summary_pb2.Summary
        except FailedPreconditionError as exc:
            raise AttributeError(str(exc)) from None
    raise AttributeError(f"module 'staticgraph.summary' has no attribute {name!r}")
