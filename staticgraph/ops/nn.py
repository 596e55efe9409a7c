"""Neural-network ops built from primitives: softmax, log_softmax and the cross-entropy losses.

They subtract the (stop-gradient) maximum before exponentiating: softmax is shift-invariant, so
this changes neither the value nor the gradient, and exp never overflows.
"""
from __future__ import annotations

from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops import math as M
from staticgraph.ops import reduce as R
from staticgraph.ops.registry import op_scope


def _shifted(logits, axis):
    return logits - C.stop_gradient(R.max(logits, axis=axis, keepdims=True))


def softmax(logits, axis: int = -1, name: str | None = None):
    """exp(logits) normalised to sum to 1 along `axis`."""
    with op_scope(name or "softmax", logits):
        e = M.exp(_shifted(logits, axis))
        return M.divide(e, R.sum(e, axis=axis, keepdims=True))


def log_softmax(logits, axis: int = -1, name: str | None = None):
    """log(softmax(logits)), computed as shifted - log(sum(exp(shifted)))."""
    with op_scope(name or "log_softmax", logits):
        shifted = _shifted(logits, axis)
        return shifted - M.log(R.sum(M.exp(shifted), axis=axis, keepdims=True))


def softmax_cross_entropy_with_logits(labels, logits, axis: int = -1, name: str | None = None):
    """Per-example -sum(labels * log_softmax(logits)) along `axis` (labels: a distribution)."""
    with op_scope(name or "softmax_cross_entropy", logits):
        return M.negative(R.sum(labels * log_softmax(logits, axis), axis=axis))


def sparse_softmax_cross_entropy_with_logits(labels, logits, name: str | None = None):
    """Per-example -log_softmax(logits)[label] with integer class `labels` over the last axis."""
    depth = logits.shape[-1]
    if depth is None:
        raise A.ShapeError("sparse_softmax_cross_entropy_with_logits: the number of classes "
                           "(the last dim of logits) must be known")
    with op_scope(name or "sparse_softmax_cross_entropy", logits):
        onehot = A.one_hot(labels, depth, dtype=logits.dtype)
        return M.negative(R.sum(onehot * log_softmax(logits), axis=-1))
