"""Checks a run makes: check_numerics (no NaN or Inf) and ensure_shape_like (one value's shape
equals another's where the shape rules could not tell)."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import NumericsError, ShapeError
from staticgraph.ops.batching import all_batched
from staticgraph.ops.registry import Spec, defop
from staticgraph.ops.shapes import compatible, fmt, float_unary


def _check_kernel(x, *, message):
    if not np.all(np.isfinite(x)):
        nans, infs = int(np.isnan(x).sum()), int(np.isinf(x).sum())
        raise NumericsError(f"{message}: found {nans} NaN and {infs} Inf in a tensor of shape {x.shape}")
    return x


check_numerics_ = defop("check_numerics", kernel=_check_kernel, shape_rule=float_unary,
                        traits={"view", "effect"},
                        vjp=lambda ct, x, out, message: [check_numerics(ct, message + " (gradient)")],
                        jvp=lambda t, x, out, message: check_numerics(t[0], message + " (tangent)"),
                        batch=lambda values, dims, message: (
                            check_numerics_(values[0], message=message), 0))


def check_numerics(t, message: str, name: str | None = None):
    """t unchanged, but the run fails with `message` if t holds a NaN or an Inf."""
    return check_numerics_(t, message=str(message), name=name)


def _same_shape_kernel(x, like, *, message):
    if np.shape(x) != np.shape(like):
        raise ShapeError(f"{message}: shape {fmt(np.shape(x))} differs from {fmt(np.shape(like))}")
    return x


def _same_shape_rule(x: Spec, like: Spec, *, message):
    if not compatible(x.shape, like.shape):
        raise ShapeError(f"{message}: shape {fmt(x.shape)} differs from {fmt(like.shape)}")
    return Spec(tuple(a if a is not None else b for a, b in zip(x.shape, like.shape)), x.dtype)


ensure_shape_like_ = defop("ensure_shape_like", kernel=_same_shape_kernel, shape_rule=_same_shape_rule,
                           traits={"view"},
                           vjp=lambda ct, x, like, out, message: [ct, None],
                           jvp=lambda t, x, like, out, message: t[0],
                           batch=lambda values, dims, message: (ensure_shape_like_(
                               *all_batched(values, dims, "ensure_shape_like"), message=message), 0),
                           doc="x unchanged; the run fails unless x has like's shape.")


def ensure_shape_like(x, like, message: str, name: str | None = None):
    """x unchanged, but the run fails with `message` unless x's shape is like's (checked at
    build time where the shapes are known, else at run time)."""
    return ensure_shape_like_(x, like, message=str(message), name=name)
