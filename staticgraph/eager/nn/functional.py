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
        return F.mean(loss)
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
    """Softmax cross-entropy of logits `input` (N x C, or C) against class indices (or
    probabilities of input's shape) `target`: nll_loss(log_softmax(input)), as PyTorch."""
    if label_smoothing:
        raise InvalidArgumentError("cross_entropy: label_smoothing is not supported")
    classes = 1 if input.ndim > 1 else 0
    log_p = F.log_softmax(input, classes)
    if not dtypes.is_floating(target.dtype):
        return nll_loss(log_p, target, reduction)
    _check_same_shape(input, target, "cross_entropy")
    if reduction == "none":
        return -R.sum(log_p * target, classes)
    total = -R.sum(log_p * target)
    if reduction == "sum":
        return total
    _reduce(total, reduction)  # refuses an unknown reduction
    return F.named(total / (input.shape[0] if classes else 1), "DivBackward1")


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(t log p + (1 - t) log(1 - p)), with the logs clamped at -100 as PyTorch does."""
    _check_same_shape(input, target, "binary_cross_entropy")

    def loss(p, t):
        log_p = F.clamp(M.log(p), min=-100.0)
        log_q = F.clamp(M.log(1 - p), min=-100.0)
        out = -(t * log_p + (1 - t) * log_q)
        return _reduce(out if weight is None else out * weight, reduction)
    return composite("BinaryCrossEntropyBackward0", loss, input, target)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), computed stably:
    max(z, 0) - z t + log(1 + exp(-|z|))."""
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")

    def loss(z, t):
        softplus = M.log(1 + M.exp(-M.abs(z)))
        if pos_weight is None:
            out = M.relu(z) - z * t + softplus
        else:
            log_weight = (pos_weight - 1) * t + 1
            out = (1 - t) * z + log_weight * (softplus + M.relu(-z))
        return _reduce(out if weight is None else out * weight, reduction)
    return composite("BinaryCrossEntropyWithLogitsBackward0", loss, input, target)


def one_hot(tensor: Tensor, num_classes: int = -1):
    """Class indices as int64 one-hot rows."""
    depth = int(tensor._value.max()) + 1 if num_classes == -1 else num_classes
    return A.one_hot(tensor, depth, dtype=dtypes.int64)
