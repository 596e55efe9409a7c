"""check_numerics: stop a run at the first NaN or Inf, with a message naming where."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import NumericsError
from staticgraph.ops.registry import defop
from staticgraph.ops.shapes import float_unary


def _check_kernel(x, *, message):
    if not np.all(np.isfinite(x)):
        nans, infs = int(np.isnan(x).sum()), int(np.isinf(x).sum())
        raise NumericsError(f"{message}: found {nans} NaN and {infs} Inf in a tensor of shape {x.shape}")
    return x


check_numerics_ = defop("check_numerics", kernel=_check_kernel, shape_rule=float_unary,
                        traits={"view", "effect"},
                        vjp=lambda ct, x, out, message: [check_numerics(ct, message + " (gradient)")],
                        jvp=lambda t, x, out, message: check_numerics(t[0], message + " (tangent)"))


def check_numerics(t, message: str, name: str | None = None):
    """t unchanged, but the run fails with `message` if t holds a NaN or an Inf."""
    return check_numerics_(t, message=str(message), name=name)
