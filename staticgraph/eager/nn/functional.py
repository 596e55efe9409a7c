"""`eager.nn.functional`: PyTorch's activation and loss functions, composed from staticgraph ops.

Losses take PyTorch's arguments (`reduction="mean" | "sum" | "none"`, class-index targets for
`cross_entropy` and `nll_loss`) and compute what PyTorch computes; the cross-entropy is the
static side's own sparse softmax cross-entropy op.
"""
from __future__ import annotations

from staticgraph import dtypes
from staticgraph.eager import functions as F
from staticgraph.eager.composite import composite
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import array as A
from staticgraph.ops import math as M
from staticgraph.ops import nn as N
from staticgraph.ops import reduce as R

softmax = F.softmax
log_softmax = F.log_softmax


def relu(input, inplace: bool = False):
    """max(x, 0); relu'(0) = 0."""
    return input.relu_() if inplace else M.relu(input)


def sigmoid(input):
    return M.sigmoid(input)


def tanh(input):
    return M.tanh(input)


def linear(input, weight, bias=None):
    """input @ weight.T + bias, as `nn.Linear` computes it (weight is out x in)."""
    if bias is None:
        return F.matmul(input, F.t(weight) if weight.ndim == 2 else weight)
    if input.ndim == 2 and weight.ndim == 2:  # one node, as PyTorch's addmm
        return composite("AddmmBackward0", lambda x, w, b: F.matmul(x, F.t(w)) + b,
                         input, weight, bias)
    return F.matmul(input, F.t(weight) if weight.ndim == 2 else weight) + bias


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (when training)."""
    if not training or p == 0:
        return input
    from staticgraph.eager.factories import rand
    keep = M.cast(M.greater(rand(*input.shape), p), input.dtype)
    return input * keep / (1 - p)


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return R.mean(loss)
    if reduction == "sum":
        return R.sum(loss)
    if reduction == "none":
        return loss
    raise InvalidArgumentError(f"{reduction} is not a valid value for reduction")


def _check_same_shape(input, target, name):
    if input.shape != target.shape:
        raise InvalidArgumentError(f"{name}: target size {list(target.shape)} differs from "
                                   f"input size {list(input.shape)}")


def mse_loss(input, target, reduction: str = "mean"):
    """The mean (or sum) of squared differences. A target of another shape is broadcast, as
    PyTorch does (it warns); compare shapes when that is not what you mean."""
    def loss(x, y):
        diff = x - y
        return _reduce(diff * diff, reduction)
    return composite("MseLossBackward0", loss, input, target)


def l1_loss(input, target, reduction: str = "mean"):
    return _reduce(M.abs(input - target), reduction)


def nll_loss(input, target, reduction: str = "mean"):
    """-input[i, target[i]] averaged: `input` holds log-probabilities, `target` class indices."""
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name}")
    key = (list(range(input.shape[0])), target._value.tolist()) if input.ndim == 2 else \
        int(target.item())
    return composite("NllLossBackward0", lambda x: _reduce(-A.getitem(x, key), reduction),
                     input)


def cross_entropy(input, target, reduction: str = "mean", label_smoothing: float = 0.0):
    """Softmax cross-entropy of logits `input` (N x C) against class indices (or
    probabilities of N x C) `target`."""
    if label_smoothing:
        raise InvalidArgumentError("cross_entropy: label_smoothing is not supported")
    if dtypes.is_floating(target.dtype):
        loss = N.softmax_cross_entropy_with_logits(target, input, axis=1 if input.ndim > 1
                                                   else 0)
    else:
        if input.ndim == 1:
            input, target = A.expand_dims(input, 0), A.expand_dims(target, 0)
        loss = N.sparse_softmax_cross_entropy_with_logits(target, input)
    return F.named(_reduce(loss, reduction), "NllLossBackward0")


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(t log p + (1 - t) log(1 - p)), with the logs clamped at -100 as PyTorch does."""
    _check_same_shape(input, target, "binary_cross_entropy")
    log_p = F.clamp(M.log(input), min=-100.0)
    log_q = F.clamp(M.log(1 - input), min=-100.0)
    loss = -(target * log_p + (1 - target) * log_q)
    loss = loss if weight is None else loss * weight
    return F.named(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably:
    max(z, 0) - z t + log(1 + exp(-|z|))."""
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    softplus = M.log(1 + M.exp(-M.abs(input)))
    if pos_weight is None:
        loss = M.relu(input) - input * target + softplus
    else:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * (softplus + M.relu(-input))
    loss = loss if weight is None else loss * weight
    return F.named(_reduce(loss, reduction), "BinaryCrossEntropyWithLogitsBackward0")


def one_hot(tensor: Tensor, num_classes: int = -1):
    """Class indices as int64 one-hot rows."""
    depth = int(tensor._value.max()) + 1 if num_classes == -1 else num_classes
    return A.one_hot(tensor, depth, dtype=dtypes.int64)
