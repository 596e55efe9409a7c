"""Neural-network ops: softmax (a composite), log_softmax and the cross-entropy losses (ops).

log_softmax subtracts the maximum before exponentiating: softmax is shift-invariant, so this
changes neither the value nor the gradient, and exp never overflows. softmax is exp(log_softmax).

log_softmax and the two cross-entropy losses are ops of their own, as in TensorFlow, for speed:
log_softmax is one kernel (instead of six nodes) whose vjp reads its output,
ct − exp(out) · Σ ct, instead of going back through log, sum, exp and max. The losses take the
labels, the logits and log_softmax(logits), which the wrapper builds beside them. Their kernel
only weighs and sums log-probabilities; their vjp is the closed form
ct · (softmax(z) · Σ labels − labels) with softmax(z) = exp(log_probs), the derivative through
log_probs included (so log_probs itself gets no cotangent): forward and backward share the one
log-softmax. All vjps are written with sg ops, so everything here can be differentiated twice.
"""
from __future__ import annotations

import numpy as np

from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import array as A
from staticgraph.ops import math as M
from staticgraph.ops import reduce as R
from staticgraph.ops.batching import all_batched, example_rank, shift_axes
from staticgraph.ops.registry import ShapeError, Spec, defop, is_tensor, op_scope
from staticgraph.ops.shapes import (as_axis, broadcast_shapes, fmt, normalize_axis,
                                    reduced_shape, require_float, same_dtype)


def softmax(logits, axis: int = -1, name: str | None = None):
    """exp(logits) normalised to sum to 1 along `axis`, computed as exp(log_softmax(logits)).

    An empty input gives an empty result (as PyTorch).
    """
    with op_scope(name or "softmax", logits):
        return M.exp(log_softmax(logits, axis))


def _log_softmax_kernel(z, *, axis):
    # Reduce over the first axis of a copy with `axis` swapped to the front: numpy reduces over
    # the last axis of a C array row by row, over the first with whole-row ufunc loops, twice
    # as fast for a batch of class scores, copy included.
    if z.shape[axis] == 0:  # empty classes: an empty result (numpy has no max of nothing)
        return np.empty_like(z)
    front = z.swapaxes(axis, 0).copy()
    front -= np.maximum.reduce(front, axis=0)
    log_sum = np.log(np.add.reduce(np.exp(front), axis=0))
    out = np.empty_like(z)
    np.subtract(front, log_sum, out=out.swapaxes(axis, 0))
    return out


def _log_softmax_rule(x: Spec, *, axis):
    require_float(x)
    normalize_axis(axis, len(x.shape))
    return x


log_softmax_ = defop(
    "log_softmax", kernel=_log_softmax_kernel, shape_rule=_log_softmax_rule, traits={"foldable"},
    vjp=lambda ct, x, out, axis: [ct - M.exp(out) * R.sum(ct, axis=axis, keepdims=True)],
    jvp=lambda t, x, out, axis: t[0] - R.sum(M.exp(out) * t[0], axis=axis, keepdims=True),
    batch=lambda values, dims, axis: (
        log_softmax_(values[0], axis=shift_axes(axis, example_rank(values[0], 0))), 0),
    doc="log(softmax(x)) along `axis`: x - max - log(sum(exp(x - max))).")


def log_softmax(logits, axis: int = -1, name: str | None = None):
    """log(softmax(logits)) along `axis`, computed stably as z - max - log(sum(exp(z - max))).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> sg.Session().run(sg.log_softmax(sg.constant(np.log([1.0, 3.0])))).round(4).tolist()
        [-1.3863, -0.2877]
    """
    return log_softmax_(logits, axis=as_axis(axis, "log_softmax"), name=name)


def _sum_terms(*terms):
    """The sum of the tangent terms that are not None (None when all are)."""
    terms = [t for t in terms if t is not None]
    return None if not terms else terms[0] if len(terms) == 1 else M.add_n(terms)


# ----- softmax cross-entropy: labels are a distribution over `axis` ---------------------------
def _xent_rule(labels: Spec, logits: Spec, log_probs: Spec, *, axis):
    require_float(labels, logits)
    if log_probs != logits:
        raise ShapeError(f"log_probs {fmt(log_probs.shape)} must be log_softmax(logits), of "
                         f"logits' shape {fmt(logits.shape)} and dtype")
    shape = broadcast_shapes(labels.shape, logits.shape)
    return Spec(reduced_shape(shape, axis, False), same_dtype(labels, logits))


def _xent_kernel(labels, logits, log_probs, *, axis):
    return np.negative(np.add.reduce(labels * log_probs, axis=axis))


def _xent_slope(labels, log_probs, axis):
    """d loss / d logits per unit of ct. loss = S·lse(z) − Σ labels·z with S = Σ labels, so the
    slope is softmax(z)·S − labels; S is 1 for distributions, but kept: the rule is exact."""
    return M.exp(log_probs) * R.sum(labels, axis=axis, keepdims=True) - labels


def _xent_vjp(ct, labels, logits, log_probs, out, axis):
    ct = A.expand_dims(ct, axis)
    return [A.unbroadcast(M.negative(ct * log_probs), labels),
            A.unbroadcast(ct * _xent_slope(labels, log_probs, axis), logits), None]


def _xent_jvp(t, labels, logits, log_probs, out, axis):
    # As the vjp: t[1] carries the whole change of the logits, t[2] (its image) adds nothing.
    return _sum_terms(
        None if t[0] is None else M.negative(R.sum(t[0] * log_probs, axis=axis)),
        None if t[1] is None else R.sum(t[1] * _xent_slope(labels, log_probs, axis), axis=axis))


softmax_cross_entropy_ = defop(
    "softmax_cross_entropy_with_logits", kernel=_xent_kernel, shape_rule=_xent_rule,
    vjp=_xent_vjp, jvp=_xent_jvp, traits={"foldable"},
    batch=lambda values, dims, axis: (softmax_cross_entropy_(
        *all_batched(values, dims, "softmax_cross_entropy_with_logits"),
        axis=shift_axes(axis, max(example_rank(v, d) for v, d in zip(values, dims)))), 0),
    doc="Per-example -sum(labels * log_probs) along `axis`, log_probs = log_softmax(logits).")


def softmax_cross_entropy_with_logits(labels, logits, axis: int = -1, name: str | None = None):
    """Per-example -sum(labels * log_softmax(logits)) along `axis` (labels: a distribution).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> z = sg.constant(np.log([[1.0, 3.0]]))
        >>> loss = sg.softmax_cross_entropy_with_logits([[0.0, 1.0]], z)
        >>> sg.Session().run(loss).round(4).tolist()
        [0.2877]
    """
    with op_scope(name or "softmax_cross_entropy", logits):
        log_probs = log_softmax(logits, axis)
    return softmax_cross_entropy_(labels, logits, log_probs,
                                  axis=as_axis(axis, "softmax_cross_entropy_with_logits"), name=name)


# ----- sparse softmax cross-entropy: labels are class indices over the last axis ------------
def _sparse_xent_rule(labels: Spec, logits: Spec, log_probs: Spec):
    require_float(logits)
    if labels.dtype.kind not in "iu":
        raise ShapeError(f"labels must be integer class indices, got {labels.dtype.name}")
    batch = logits.shape[:-1]
    if not logits.shape or len(labels.shape) != len(batch) or any(
            a is not None and b is not None and a != b for a, b in zip(labels.shape, batch)):
        raise ShapeError(f"labels of shape {fmt(labels.shape)} must have the shape of logits "
                         f"{fmt(logits.shape)} without its last dim")
    return Spec(tuple(b if a is None else a for a, b in zip(labels.shape, batch)), logits.dtype)


def _sparse_xent_kernel(labels, logits, log_probs):
    labels, depth = np.asarray(labels), logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= depth):
        raise InvalidArgumentError(f"labels must be class indices in [0, {depth}), got values "
                                   f"from {labels.min()} to {labels.max()}")
    return np.negative(np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0])


def _sparse_slope(labels, log_probs):
    """d loss / d logits per unit of ct: softmax(z) − one_hot(labels)."""
    return M.exp(log_probs) - A.one_hot(labels, log_probs.shape[-1], dtype=log_probs.dtype)


sparse_softmax_cross_entropy_ = defop(
    "sparse_softmax_cross_entropy_with_logits", kernel=_sparse_xent_kernel,
    shape_rule=_sparse_xent_rule, traits={"foldable"},
    batch=lambda values, dims: (sparse_softmax_cross_entropy_(
        *all_batched(values[:1], dims[:1], "sparse_softmax_cross_entropy_with_logits"),
        *all_batched(values[1:], dims[1:], "sparse_softmax_cross_entropy_with_logits")), 0),
    vjp=lambda ct, labels, logits, log_probs, out: [
        None, A.expand_dims(ct, -1) * _sparse_slope(labels, log_probs), None],
    jvp=lambda t, labels, logits, log_probs, out:
        None if t[1] is None else R.sum(t[1] * _sparse_slope(labels, log_probs), axis=-1),
    doc="Per-example -log_probs[label] over the last axis, log_probs = log_softmax(logits).")


def sparse_softmax_cross_entropy_with_logits(labels, logits, name: str | None = None):
    """Per-example -log_softmax(logits)[label] with integer class `labels` over the last axis.

    Raises:
        InvalidArgumentError: the number of classes (logits' last dim) is unknown; at run time,
            a label outside [0, classes).
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> z = sg.constant(np.log([[1.0, 3.0], [2.0, 2.0]]))
        >>> loss = sg.sparse_softmax_cross_entropy_with_logits([1, 0], z)
        >>> sg.Session().run(loss).round(4).tolist()
        [0.2877, 0.6931]
    """
    depth = logits.shape[-1] if logits.shape else None
    if depth is None:
        raise ShapeError("sparse_softmax_cross_entropy_with_logits: the number of classes "
                           "(the last dim of logits) must be known")
    # Class indices given as a list stay integers (beside float logits they would become floats).
    labels = labels if is_tensor(labels) else np.asarray(labels)
    with op_scope(name or "sparse_softmax_cross_entropy", logits):
        log_probs = log_softmax(logits)
    return sparse_softmax_cross_entropy_(labels, logits, log_probs, name=name)
