"""Neural-network ops: softmax and log_softmax (composites) and the cross-entropy losses (ops).

softmax and log_softmax subtract the (stop-gradient) maximum before exponentiating: softmax is
shift-invariant, so this changes neither the value nor the gradient, and exp never overflows.

The two cross-entropy losses are ops of their own, as in TensorFlow, for numerics and speed:
the kernel takes the stable log-softmax in one go, and the vjp is the closed form
ct · (softmax(z) − labels) instead of the chain back through log, sum, exp and max that the
composite would build (twice the nodes, and a log and an exp more per element). The vjps are
written with sg ops, so the losses can be differentiated twice.
"""
from __future__ import annotations

import numpy as np

from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops import math as M
from staticgraph.ops import reduce as R
from staticgraph.ops.registry import ShapeError, Spec, defop, is_tensor, op_scope
from staticgraph.ops.shapes import (broadcast_shapes, fmt, reduced_shape, require_float,
                                    same_dtype)


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


def _log_softmax_array(z: np.ndarray, axis: int) -> np.ndarray:
    """The kernels' log-softmax: z - max - log(sum(exp(z - max))), in a new array."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def _sum_terms(*terms):
    """The sum of the tangent terms that are not None (None when all are)."""
    terms = [t for t in terms if t is not None]
    return None if not terms else terms[0] if len(terms) == 1 else M.add_n(terms)


# ----- softmax cross-entropy: labels are a distribution over `axis` ---------------------------
def _xent_rule(labels: Spec, logits: Spec, *, axis):
    require_float(labels, logits)
    shape = broadcast_shapes(labels.shape, logits.shape)
    return Spec(reduced_shape(shape, axis, False), same_dtype(labels, logits))


def _xent_kernel(labels, logits, *, axis):
    return np.negative(np.sum(labels * _log_softmax_array(logits, axis), axis=axis))


def _xent_slope(labels, logits, axis):
    """d loss / d logits per unit of ct. loss = S·lse(z) − Σ labels·z with S = Σ labels, so the
    slope is softmax(z)·S − labels; S is 1 for distributions, but kept: the rule is exact."""
    return softmax(logits, axis) * R.sum(labels, axis=axis, keepdims=True) - labels


def _xent_vjp(ct, labels, logits, out, axis):
    ct = A.expand_dims(ct, axis)
    return [A.unbroadcast(M.negative(ct * log_softmax(logits, axis)), labels),
            A.unbroadcast(ct * _xent_slope(labels, logits, axis), logits)]


def _xent_jvp(t, labels, logits, out, axis):
    return _sum_terms(
        None if t[0] is None else M.negative(R.sum(t[0] * log_softmax(logits, axis), axis=axis)),
        None if t[1] is None else R.sum(t[1] * _xent_slope(labels, logits, axis), axis=axis))


softmax_cross_entropy_ = defop(
    "softmax_cross_entropy_with_logits", kernel=_xent_kernel, shape_rule=_xent_rule,
    vjp=_xent_vjp, jvp=_xent_jvp, traits={"foldable"},
    doc="Per-example -sum(labels * log_softmax(logits)) along `axis`.")


def softmax_cross_entropy_with_logits(labels, logits, axis: int = -1, name: str | None = None):
    """Per-example -sum(labels * log_softmax(logits)) along `axis` (labels: a distribution).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> z = sg.constant(np.log([[1.0, 3.0]]))
        >>> loss = sg.softmax_cross_entropy_with_logits([[0.0, 1.0]], z)
        >>> sg.Session().run(loss).round(4).tolist()
        [0.2877]
    """
    return softmax_cross_entropy_(labels, logits, axis=int(axis), name=name)


# ----- sparse softmax cross-entropy: labels are class indices over the last axis ------------
def _sparse_xent_rule(labels: Spec, logits: Spec):
    require_float(logits)
    if labels.dtype.kind not in "iu":
        raise ShapeError(f"labels must be integer class indices, got {labels.dtype.name}")
    batch = logits.shape[:-1]
    if not logits.shape or len(labels.shape) != len(batch) or any(
            a is not None and b is not None and a != b for a, b in zip(labels.shape, batch)):
        raise ShapeError(f"labels of shape {fmt(labels.shape)} must have the shape of logits "
                         f"{fmt(logits.shape)} without its last dim")
    return Spec(tuple(b if a is None else a for a, b in zip(labels.shape, batch)), logits.dtype)


def _sparse_xent_kernel(labels, logits):
    labels, depth = np.asarray(labels), logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= depth):
        raise InvalidArgumentError(f"labels must be class indices in [0, {depth}), got values "
                                   f"from {labels.min()} to {labels.max()}")
    picked = np.take_along_axis(_log_softmax_array(logits, -1), labels[..., None], axis=-1)
    return np.negative(picked[..., 0])


def _sparse_slope(labels, logits):
    """d loss / d logits per unit of ct: softmax(z) − one_hot(labels)."""
    return softmax(logits) - A.one_hot(labels, logits.shape[-1], dtype=logits.dtype)


sparse_softmax_cross_entropy_ = defop(
    "sparse_softmax_cross_entropy_with_logits", kernel=_sparse_xent_kernel,
    shape_rule=_sparse_xent_rule, traits={"foldable"},
    vjp=lambda ct, labels, logits, out: [None,
                                         A.expand_dims(ct, -1) * _sparse_slope(labels, logits)],
    jvp=lambda t, labels, logits, out:
        None if t[1] is None else R.sum(t[1] * _sparse_slope(labels, logits), axis=-1),
    doc="Per-example -log_softmax(logits)[label] over the last axis.")


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
    return sparse_softmax_cross_entropy_(labels, logits, name=name)
