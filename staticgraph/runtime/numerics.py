"""The numerics check of a run (compile / Session option check_numerics): every float value
computed is checked, and the first node that makes a NaN or an Inf fails the run, naming the
node, its op, its source line and the ranges of its inputs.

A node fed a NaN reports it too (its inputs' counts show where it came from). Both branches of
`sg.where` are computed, so a NaN in the branch not taken is reported as well: the where NaN trap.
"""
from __future__ import annotations

import numpy as np

from staticgraph.errors import NumericsError


def check_value(value, name: str, op: str, source: str, inputs: list) -> None:
    """Raise a NumericsError when float `value` (node `name`'s result) holds a NaN or an Inf.

    Args:
        value: the node's result (array or scalar; values that are not floats pass).
        name, op, source: the node, its op and the user source line that built it.
        inputs: (name, value) of each of the node's inputs, described in the message.
    Raises:
        NumericsError: naming the node, how many NaN and Inf it made, and its inputs' ranges.
    Example:
        >>> x, y = np.array([0.0, 800.0]), np.array([1.0, np.inf])  # y = exp(x)
        >>> try:
        ...     check_value(y, "y", "exp", "model.py:3", [("x", x)])
        ... except NumericsError as exc:
        ...     print(exc)
        node 'y' (exp, created at model.py:3) made 0 NaN and 1 Inf in its float64 (2,) value \
(check_numerics); its inputs: 'x' float64 (2,), range [0, 800], 0 NaN, 0 Inf
    """
    if isinstance(value, float):  # a Python float, from a step on scalars
        value = np.float64(value)
    dtype = getattr(value, "dtype", None)  # None: no value, or a packed tuple of values
    if dtype is None or dtype.kind != "f" or np.isfinite(value).all():
        return
    made = f"{_count(np.isnan, value)} NaN and {_count(np.isinf, value)} Inf"
    inputs_text = "; ".join(f"{n!r} {describe(v)}" for n, v in inputs) or "none"
    raise NumericsError(f"node {name!r} ({op}, created at {source}) made {made} in its "
                        f"{dtype.name} {np.shape(value)} value (check_numerics); "
                        f"its inputs: {inputs_text}")


def describe(value) -> str:
    """A value's dtype and shape, the range of its finite elements and its NaN and Inf counts.

    Example:
        >>> describe(np.array([1.0, np.nan, -2.0]))
        'float64 (3,), range [-2, 1], 1 NaN, 0 Inf'
    """
    array = np.asarray(value)
    text = f"{array.dtype.name} {tuple(array.shape)}"
    if array.dtype.kind not in "biuf" or array.size == 0:
        return text
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array.ravel()
    if finite.size:
        text += f", range [{finite.min():.6g}, {finite.max():.6g}]"
    if array.dtype.kind == "f":
        text += f", {_count(np.isnan, array)} NaN, {_count(np.isinf, array)} Inf"
    return text


def _count(test, value) -> int:
    return int(np.count_nonzero(test(value)))
