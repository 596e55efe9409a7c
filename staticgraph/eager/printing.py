"""How eager tensors print, as PyTorch shows them: `tensor([0., 1., 2.], requires_grad=True)`."""
from __future__ import annotations

from typing import Callable

import numpy as np

from staticgraph import dtypes

PRECISION = 4
# The dtype PyTorch leaves out of a tensor's repr: its default for each kind.
IMPLICIT_DTYPES = (dtypes.float32, dtypes.int64, dtypes.bool_)


def _float_format(values: np.ndarray) -> Callable[[float], str]:
    """PyTorch's choice: `2.` when every value is whole, else fixed 4 decimals, or 4-digit
    scientific notation when magnitudes span more than 1000x or exceed 1e8."""
    finite = np.abs(values[np.isfinite(values)])
    nonzero = finite[finite != 0]
    if nonzero.size and np.all(nonzero == np.round(nonzero)) and nonzero.max() <= 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                         or nonzero.min() < 1e-4):
        return lambda v: f"{v:.{PRECISION}e}"
    return lambda v: f"{v:.{PRECISION}f}"


def _element_format(values: np.ndarray) -> Callable:
    """One formatter for every element, padded to the widest one so columns line up."""
    if values.dtype.kind == "f":
        base = _float_format(values)
    elif values.dtype.kind == "b":
        base = lambda v: str(bool(v))  # noqa: E731
    else:
        base = lambda v: str(int(v))  # noqa: E731
    width = max((len(base(v)) for v in values.reshape(-1)), default=0)
    return lambda v: base(v).rjust(width)


def format_tensor(values: np.ndarray, extras: list[str]) -> str:
    """`tensor(<values>, <extras>)` with the values laid out like PyTorch's (80 columns wide).

    `extras` are the trailing `key=value` parts, e.g. `["requires_grad=True"]`.
    """
    prefix = "tensor("
    fmt = _element_format(values)
    body = np.array2string(values, separator=", ", prefix=prefix, max_line_width=80,
                           formatter={"all": fmt}, threshold=1000, edgeitems=3)
    if values.dtype not in IMPLICIT_DTYPES:
        extras = [f"dtype={values.dtype.name}"] + extras
    return prefix + ", ".join([body] + extras) + ")"
