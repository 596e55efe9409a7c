"""PyTorch's names for what the eager tape records: grad_fn names, tensor type names, sizes.

The ops are staticgraph's (`multiply`, `sum` ...); a recorded node is named as PyTorch names the
backward function of the same call (`MulBackward0`, `SumBackward0`), so `grad_fn` chains and
drawings read as they do in PyTorch. A Tensor method may rename the node it made (`t()` gives
`TBackward0`, `view()` `ViewBackward0`), since PyTorch's name depends on the call, not the math.
"""
from __future__ import annotations

import builtins

import numpy as np

_FIXED = {
    "add": "AddBackward0", "add_n": "AddBackward0", "subtract": "SubBackward0",
    "multiply": "MulBackward0", "divide": "DivBackward0", "negative": "NegBackward0",
    "square": "PowBackward0", "sqrt": "SqrtBackward0", "exp": "ExpBackward0",
    "log": "LogBackward0", "sin": "SinBackward0", "cos": "CosBackward0",
    "tanh": "TanhBackward0", "sigmoid": "SigmoidBackward0", "relu": "ReluBackward0",
    "sign": "SignBackward0", "abs": "AbsBackward0", "maximum": "MaximumBackward0",
    "minimum": "MinimumBackward0", "where": "WhereBackward0", "cast": "ToCopyBackward0",
    "dot": "DotBackward0", "broadcast_to": "ExpandBackward0", "broadcast_like": "ExpandBackward0",
    "expand_dims": "UnsqueezeBackward0", "concat": "CatBackward0", "stack": "StackBackward0",
    "identity": "CloneBackward0", "log_softmax": "LogSoftmaxBackward0",
    "norm": "LinalgVectorNormBackward0", "gather": "IndexSelectBackward0",
    "getitem_grad": "CopySlices", "fill": "ExpandBackward0", "reshape": "ViewBackward0",
    "reshape_like": "ViewBackward0", "transpose": "PermuteBackward0",
    "sparse_softmax_cross_entropy_with_logits": "NllLossBackward0",
    "softmax_cross_entropy_with_logits": "SumBackward1",
}


def backward_name(op: str, inputs: list, attrs: dict) -> str:
    """PyTorch's grad_fn name for `op` applied to `inputs` with `attrs`."""
    if op in ("sum", "mean"):
        return f"{op.capitalize()}Backward{0 if attrs.get('axis') is None else 1}"
    if op == "max":
        return "MaxBackward1" if attrs.get("axis") is None else "MaxBackward0"
    if op == "squeeze":
        return "SqueezeBackward0" if attrs.get("axis") is None else "SqueezeBackward1"
    if op == "power":
        base, exponent = (t.requires_grad for t in inputs)
        return "PowBackward1" if base and exponent else "PowBackward2" if exponent else "PowBackward0"
    if op == "matmul":
        ranks = tuple(min(t.ndim, 3) for t in inputs)
        return {(1, 1): "DotBackward0", (2, 2): "MmBackward0", (2, 1): "MvBackward0",
                (3, 3): "BmmBackward0"}.get(ranks, "UnsafeViewBackward0")
    if op == "getitem":
        return _index_name(attrs["key"])
    return _FIXED.get(op) or "".join(p.capitalize() for p in op.split("_")) + "Backward0"


def scalar_operands(node, numbers: list[bool]) -> None:
    """Name `node` and pick its next_functions as PyTorch does where some operands were Python
    numbers (`numbers[i]`): pow's Scalar forms leave the number out (PowBackward0 / 2), and
    `number - tensor` is RsubBackward1 over the tensor alone."""
    if not builtins.any(numbers):
        return
    if node.op.name == "power" or node.op.name == "subtract" and numbers[0]:
        node.shown = tuple(i for i, n in enumerate(numbers) if not n)
    if node.op.name == "subtract" and numbers[0]:
        node.torch_name = "RsubBackward1"


def _index_name(key: tuple) -> str:
    """SelectBackward0 for an int, SliceBackward0 for slices, IndexBackward0 for index arrays."""
    if any(isinstance(k, tuple) for k in key):
        return "IndexBackward0"
    if any(isinstance(k, int) for k in key):
        return "SelectBackward0"
    if any(k is None for k in key):
        return "UnsqueezeBackward0"
    return "SliceBackward0"


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
               "bool": "Bool"}


def type_name(dtype: np.dtype) -> str:
    """PyTorch's legacy type name, e.g. "torch.FloatTensor" for float32."""
    return f"torch.{_TYPE_NAMES.get(np.dtype(dtype).name, 'Float')}Tensor"


def size(shape: tuple) -> str:
    """A shape as PyTorch prints it: `torch.Size([2, 3])`."""
    return f"torch.Size({list(shape)})"
