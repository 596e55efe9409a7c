"""The summary ops: graph nodes whose value is one serialized TensorBoard Summary (bytes).

They are not "foldable" (a summary is made when it is run, not at compile time) and not
differentiable; a summary's tag is its node name, unique in the graph, so no two summary
nodes are ever merged as common subexpressions.
"""
from __future__ import annotations

from staticgraph import dtypes
from staticgraph.io import tensorboard as T
from staticgraph.ops.registry import NotBatchable, Spec, defop
from staticgraph.ops.shapes import fmt
from staticgraph.errors import ShapeError

# The dtype of a summary's value: a serialized proto, a bytes scalar (TF1's 0-d tf.string).
SERIALIZED = dtypes.string


def _number(spec: Spec, what: str) -> None:
    if spec.dtype.kind not in "iuf":
        raise ShapeError(f"{what} must be a real number tensor, got {spec.dtype.name}")


def _scalar_rule(value: Spec, *, tag: str) -> Spec:
    _number(value, f"the value of summary {tag!r}")
    if value.shape is not None and len(value.shape) != 0:
        raise ShapeError(f"the value of summary {tag!r} must be a scalar, got shape "
                         f"{fmt(value.shape)}")
    return Spec((), SERIALIZED)


def _histogram_rule(values: Spec, *, tag: str) -> Spec:
    _number(values, f"the values of histogram {tag!r}")
    return Spec((), SERIALIZED)


def _merge_rule(*summaries: Spec) -> Spec:
    for i, spec in enumerate(summaries):
        if spec.dtype != SERIALIZED or spec.shape != ():
            raise ShapeError(f"input {i} is not a summary (a serialized Summary scalar): "
                             f"shape {fmt(spec.shape)} dtype {spec.dtype.name}")
    return Spec((), SERIALIZED)


# A summary is one record per run: summarise the batched value after vmap instead.
ONE_RECORD = NotBatchable("a summary records one value per run; summarise the batched result "
                          "outside vmap")
summary_scalar = defop("summary_scalar", kernel=lambda value, *, tag: T.scalar_summary(tag, value),
                       shape_rule=_scalar_rule, batch=ONE_RECORD,
                       doc="A Summary holding the scalar `value` under `tag`.")
summary_histogram = defop("summary_histogram",
                          kernel=lambda values, *, tag: T.histogram_summary(tag, values),
                          shape_rule=_histogram_rule, batch=ONE_RECORD,
                          doc="A Summary holding the histogram of `values` under `tag`.")
summary_merge = defop("summary_merge", kernel=lambda *summaries: T.merge_summaries(*summaries),
                      shape_rule=_merge_rule, batch=ONE_RECORD, traits={"strings"},
                      doc="One Summary holding the values of all input summaries.")

