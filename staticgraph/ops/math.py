"""Elementwise ops: arithmetic, transcendental functions, comparisons, logic, where, cast, add_n.

Every binary op broadcasts like numpy; its vjp sums the cotangent back to each input's shape
with `unbroadcast`. At their kinks relu, abs, maximum and minimum take the derivative the active
kink convention gives (`staticgraph.kinks`; by default relu'(0) = 0, |x|'(0) = 0, ties shared).
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes, kinks
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import array as A
from staticgraph.ops import create as C
from staticgraph.ops.registry import ShapeError, Spec, defop
from staticgraph.ops.shapes import (broadcast_shapes, comparison, elementwise, float_elementwise,
                                    float_unary, logical, numeric_elementwise, numeric_unary,
                                    require_bool, same_dtype)

EW = {"elementwise", "out", "foldable", "inplace_ok", "total"}


def _tangent_sum(out, *terms):
    """The sum of the tangent terms that are not None, broadcast to out's shape (None if none)."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    total = terms[0] if len(terms) == 1 else add_n(terms)
    return A.broadcast_as(total, out)


def _scaled(t, factor):
    """t * factor, or None when the tangent t is None (zero)."""
    return None if t is None else t * factor


# ----- arithmetic -------------------------------------------------------------------------
add = defop("add", kernel=np.add, shape_rule=numeric_elementwise, traits=EW,
            vjp=lambda ct, x, y, out: [A.unbroadcast(ct, x), A.unbroadcast(ct, y)],
            jvp=lambda t, x, y, out: _tangent_sum(out, t[0], t[1]))

subtract = defop("subtract", kernel=np.subtract, shape_rule=numeric_elementwise, traits=EW,
                 vjp=lambda ct, x, y, out: [A.unbroadcast(ct, x), A.unbroadcast(negative(ct), y)],
                 jvp=lambda t, x, y, out: _tangent_sum(out, t[0], _scaled(t[1], -1)))

multiply = defop("multiply", kernel=np.multiply, shape_rule=numeric_elementwise, traits=EW,
                 vjp=lambda ct, x, y, out: [A.unbroadcast(ct * y, x), A.unbroadcast(ct * x, y)],
                 jvp=lambda t, x, y, out: _tangent_sum(out, _scaled(t[0], y), _scaled(t[1], x)))

# d(x/y) = dx / y - x dy / y^2 = (dx - out dy) / y
divide = defop("divide", kernel=np.divide, shape_rule=float_elementwise, traits=EW,
               vjp=lambda ct, x, y, out: [A.unbroadcast(ct / y, x),
                                          A.unbroadcast(negative(ct * out / y), y)],
               jvp=lambda t, x, y, out: _tangent_sum(out, t[0], _scaled(t[1], negative(out))) / y)

negative = defop("negative", kernel=np.negative, shape_rule=numeric_unary, traits=EW,
                 vjp=lambda ct, x, out: [negative(ct)],
                 jvp=lambda t, x, out: negative(t[0]))


# ----- integer-style division: floor_divide, floormod, truncatemod --------------------------
def _nonzero_divisor(y, what: str) -> None:
    """Refuse an integer division by zero (numpy would warn and give 0), as TF1 does."""
    if np.asarray(y).dtype.kind in "iu" and not np.all(y):
        raise InvalidArgumentError(f"{what}: integer division by zero")


def _floor_divide_kernel(x, y, out=None):
    _nonzero_divisor(y, "floor_divide")
    return np.floor_divide(x, y, out=out)


def _floormod_kernel(x, y, out=None):
    _nonzero_divisor(y, "floormod")
    return np.remainder(x, y, out=out)


def _truncatemod_kernel(x, y, out=None):
    _nonzero_divisor(y, "truncatemod")
    return np.fmod(x, y, out=out)


# Not "total": an integer division by zero raises.
floor_divide = defop("floor_divide", kernel=_floor_divide_kernel, shape_rule=numeric_elementwise,
                     traits=EW - {"total"},
                     doc="floor(x / y) elementwise (Python's //); no gradient, as TF1's FloorDiv.")

# x mod y = x - floor(x / y) y, so d/dx = 1 and d/dy = -floor(x / y) (TF1's FloorMod gradient).
floormod = defop("floormod", kernel=_floormod_kernel, shape_rule=numeric_elementwise,
                 traits=EW - {"total"},
                 vjp=lambda ct, x, y, out: [A.unbroadcast(ct, x),
                                            A.unbroadcast(negative(ct * floor_divide(x, y)), y)],
                 jvp=lambda t, x, y, out: _tangent_sum(
                     out, t[0], None if t[1] is None else negative(t[1] * floor_divide(x, y))),
                 doc="x mod y with the sign of y (Python's and numpy's %, TF1's floormod).")

truncatemod = defop("truncatemod", kernel=_truncatemod_kernel, shape_rule=numeric_elementwise,
                    traits=EW - {"total"},
                    doc="x mod y with the sign of x (C's fmod, TF1's truncatemod); no gradient, "
                        "as TF1 defines none.")


def _safe_log(x):
    """log(x) where x > 0, else 0: the y-derivative of x**y, finite wherever x**y is used."""
    positive = greater(x, 0)
    return where(positive, log(where(positive, x, C.ones_like(x))), C.zeros_like(x))


# d(x**y) = y x**(y-1) dx + log(x) x**y dy
# Not "total": numpy refuses integers to negative integer powers.
power = defop("power", kernel=np.power, shape_rule=numeric_elementwise, traits=EW - {"total"},
              vjp=lambda ct, x, y, out: [A.unbroadcast(ct * y * power(x, y - 1), x),
                                         A.unbroadcast(ct * out * _safe_log(x), y)],
              jvp=lambda t, x, y, out: _tangent_sum(
                  out, None if t[0] is None else t[0] * y * power(x, y - 1),
                  None if t[1] is None else t[1] * out * _safe_log(x)))

square = defop("square", kernel=np.square, shape_rule=numeric_unary, traits=EW,
               vjp=lambda ct, x, out: [ct * (2 * x)],
               jvp=lambda t, x, out: t[0] * (2 * x))

sqrt = defop("sqrt", kernel=np.sqrt, shape_rule=float_unary, traits=EW,
             vjp=lambda ct, x, out: [ct / (2 * out)],
             jvp=lambda t, x, out: t[0] / (2 * out))

exp = defop("exp", kernel=np.exp, shape_rule=float_unary, traits=EW,
            vjp=lambda ct, x, out: [ct * out],
            jvp=lambda t, x, out: t[0] * out)

log = defop("log", kernel=np.log, shape_rule=float_unary, traits=EW,
            vjp=lambda ct, x, out: [ct / x],
            jvp=lambda t, x, out: t[0] / x)

sin = defop("sin", kernel=np.sin, shape_rule=float_unary, traits=EW,
            vjp=lambda ct, x, out: [ct * cos(x)],
            jvp=lambda t, x, out: t[0] * cos(x))

cos = defop("cos", kernel=np.cos, shape_rule=float_unary, traits=EW,
            vjp=lambda ct, x, out: [negative(ct * sin(x))],
            jvp=lambda t, x, out: negative(t[0] * sin(x)))

tanh = defop("tanh", kernel=np.tanh, shape_rule=float_unary, traits=EW,
             vjp=lambda ct, x, out: [ct * (1 - square(out))],
             jvp=lambda t, x, out: t[0] * (1 - square(out)))


def _sigmoid_kernel(x, out=None):
    # 1 / (1 + exp(-x)) computed as exp(-log(1 + exp(-x))), which never overflows.
    r = np.negative(x, out=np.empty_like(x) if out is None else out)
    np.logaddexp(0, r, out=r)
    np.negative(r, out=r)
    return np.exp(r, out=r)


sigmoid = defop("sigmoid", kernel=_sigmoid_kernel, shape_rule=float_unary, traits=EW,
                vjp=lambda ct, x, out: [ct * out * (1 - out)],
                jvp=lambda t, x, out: t[0] * out * (1 - out))

def _at_zero(x, slope, value: float, dtype):
    """`slope`, with `value` where x == 0 (no extra nodes when value is 0)."""
    return slope if value == 0 else slope + value * cast(equal(x, 0), dtype)


def _relu_grad_kernel(g, x, *, at_zero, out=None):
    # The slope is taken before anything is written: `out` may be x's own buffer.
    slope = np.greater(x, 0)
    if at_zero:
        slope = slope + np.equal(x, 0) * x.dtype.type(at_zero)
    return np.multiply(g, slope, out=out)


# g · relu'(x) as one op: the mask multiplies as bool, with no cast and no extra node (the
# W2 benchmark's backward runs it on every hidden layer). Linear in g; flat in x almost everywhere.
relu_grad = defop(
    "relu_grad", kernel=_relu_grad_kernel, shape_rule=numeric_elementwise, traits=EW,
    vjp=lambda ct, g, x, out, at_zero: [A.unbroadcast(relu_grad(ct, x, at_zero=at_zero), g), None],
    jvp=lambda t, g, x, out, at_zero: None if t[0] is None else relu_grad(t[0], x, at_zero=at_zero),
    doc="g times relu'(x), with relu'(0) = at_zero (the kink convention's value).")


def _through_relu(v, x, out):
    """v · relu'(x), with relu'(0) from the kink convention active now. relu(x) > 0 where x > 0,
    so with relu'(0) = 0 the rule reads the output, and x can die at the relu (in place)."""
    at_zero = kinks.active_convention().relu_at_zero
    return relu_grad(v, out if at_zero == 0 else x, at_zero=at_zero)


_ZEROS: dict = {}  # dtype -> a read-only vector of zeros as long as the largest relu input yet


def _relu_kernel(x, out=None):
    # max(x, 0) against an array of zeros of x's shape, not against the scalar 0: numpy's SIMD
    # loop for maximum takes two arrays of one shape; against a scalar it runs four times slower.
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < x.size:
        zeros = np.zeros(x.size, x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype] = zeros
    return np.maximum(x, zeros[:x.size].reshape(x.shape), out=out)


relu = defop("relu", kernel=_relu_kernel, shape_rule=numeric_unary, traits=EW | {"kink"},
             vjp=lambda ct, x, out: [_through_relu(ct, x, out)],
             jvp=lambda t, x, out: _through_relu(t[0], x, out))

sign = defop("sign", kernel=np.sign, shape_rule=numeric_unary, traits=EW,
             vjp=lambda ct, x, out: [C.zeros_like(ct)],
             jvp=lambda t, x, out: None)

def _abs_slope(x, dtype):
    """|x|'(x) = sign(x), with the kink convention's |x|'(0) at 0 (sign(0) = 0 already)."""
    return _at_zero(x, sign(x), kinks.active_convention().abs_at_zero, dtype)


abs = defop("abs", kernel=np.abs, shape_rule=numeric_unary, traits=EW | {"kink"},
            vjp=lambda ct, x, out: [ct * _abs_slope(x, ct.dtype)],
            jvp=lambda t, x, out: t[0] * _abs_slope(x, t[0].dtype))


def _first_share(x, y, beats, dtype):
    """The share of max/min(x, y)'s cotangent that goes to x: 1 where x beats y, 0 where it
    loses, and on a tie the kink convention's share (1/2, or 1 when ties go to the first)."""
    tie = kinks.active_convention().first_share
    return cast(beats(x, y), dtype) + tie * cast(equal(x, y), dtype)


def _tie_split(ct, x, y, beats):
    """Cotangents of max/min(x, y): ct * share to x, ct * (1 - share) to y."""
    share = _first_share(x, y, beats, ct.dtype)
    return [A.unbroadcast(ct * share, x), A.unbroadcast(ct * (1 - share), y)]


def _tie_mix(t, x, y, out, beats):
    """Tangent of max/min(x, y): tx * share + ty * (1 - share), the transpose of _tie_split."""
    share = _first_share(x, y, beats, out.dtype)
    return _tangent_sum(out, _scaled(t[0], share), None if t[1] is None else t[1] * (1 - share))


maximum = defop("maximum", kernel=np.maximum, shape_rule=numeric_elementwise, traits=EW | {"kink"},
                vjp=lambda ct, x, y, out: _tie_split(ct, x, y, greater),
                jvp=lambda t, x, y, out: _tie_mix(t, x, y, out, greater))

minimum = defop("minimum", kernel=np.minimum, shape_rule=numeric_elementwise, traits=EW | {"kink"},
                vjp=lambda ct, x, y, out: _tie_split(ct, x, y, less),
                jvp=lambda t, x, y, out: _tie_mix(t, x, y, out, less))


def _add_n_kernel(*xs, out=None):
    if out is None:
        out = np.empty(np.broadcast_shapes(*(np.shape(x) for x in xs)), np.result_type(*xs))
    else:
        # An input sharing memory with `out` must be read before `out` is written: add it first.
        first = next((i for i, x in enumerate(xs) if np.may_share_memory(out, x)), 0)
        xs = (xs[first],) + xs[:first] + xs[first + 1:]
    if len(xs) == 1:
        np.copyto(out, xs[0])
    else:
        np.add(xs[0], xs[1], out=out)
    for x in xs[2:]:
        np.add(out, x, out=out)
    return out


def _add_n_rule(*xs: Spec):
    if not xs:
        raise ShapeError("needs at least one input")
    return numeric_elementwise(*xs)


add_n_ = defop("add_n", kernel=_add_n_kernel, shape_rule=_add_n_rule, traits=EW,
               vjp=lambda ct, *xs, out: [A.unbroadcast(ct, x) for x in xs],
               jvp=lambda t, *xs, out: _tangent_sum(out, *t),
               doc="The sum of several tensors in one node (where gradient paths meet).")


def add_n(inputs, name: str | None = None):
    """The elementwise sum of a list of tensors, as one node."""
    return add_n_(*inputs, name=name)


# ----- selection and casting ---------------------------------------------------------------
def _where_rule(cond: Spec, x: Spec, y: Spec):
    require_bool(cond)
    return Spec(broadcast_shapes(cond.shape, x.shape, y.shape), same_dtype(x, y))


where_ = defop("where", kernel=np.where, shape_rule=_where_rule,
               traits={"elementwise", "foldable", "total"},
               vjp=lambda ct, c, x, y, out: [None,
                                             A.unbroadcast(where(c, ct, C.zeros_like(ct)), x),
                                             A.unbroadcast(where(c, C.zeros_like(ct), ct), y)],
               jvp=lambda t, c, x, y, out: _where_jvp(t, c, out))


def _where_jvp(t, c, out):
    """where(c, tx, ty), a missing tangent being zeros."""
    if t[1] is None and t[2] is None:
        return None
    zeros = C.zeros_like(out)
    return where(c, zeros if t[1] is None else t[1], zeros if t[2] is None else t[2])


def where(condition, x, y, name: str | None = None):
    """Elementwise `x if condition else y`, broadcasting all three.

    Both x and y are computed everywhere, and both vjps run: see the README on the where NaN trap.
    """
    return where_(condition, x, y, name=name)


def _cast_rule(x: Spec, *, dtype):
    return Spec(x.shape, dtype)


def _cast_vjp(ct, x, out, dtype):
    return [cast(ct, x.dtype)] if dtypes.is_floating(x.dtype) else [None]


def _cast_jvp(t, x, out, dtype):
    # Only float-to-float casts carry a tangent; an integer result is piecewise constant.
    return cast(t[0], dtype) if dtypes.is_floating(dtype) and t[0] is not None else None


cast_ = defop("cast", kernel=lambda x, *, dtype: x.astype(dtype), shape_rule=_cast_rule,
              vjp=_cast_vjp, jvp=_cast_jvp, traits={"elementwise", "foldable", "total"})


def cast(x, dtype, name: str | None = None):
    """x converted to `dtype`; gradients flow only between float dtypes."""
    return cast_(x, dtype=dtypes.as_dtype(dtype), name=name)


# ----- comparisons and logic (no gradient) --------------------------------------------------
CMP = {"elementwise", "out", "foldable", "total"}
equal = defop("equal", kernel=np.equal, shape_rule=comparison, traits=CMP)
not_equal = defop("not_equal", kernel=np.not_equal, shape_rule=comparison, traits=CMP)
less = defop("less", kernel=np.less, shape_rule=comparison, traits=CMP)
less_equal = defop("less_equal", kernel=np.less_equal, shape_rule=comparison, traits=CMP)
greater = defop("greater", kernel=np.greater, shape_rule=comparison, traits=CMP)
greater_equal = defop("greater_equal", kernel=np.greater_equal, shape_rule=comparison, traits=CMP)
logical_and = defop("logical_and", kernel=np.logical_and, shape_rule=logical, traits=CMP)
logical_or = defop("logical_or", kernel=np.logical_or, shape_rule=logical, traits=CMP)
logical_xor = defop("logical_xor", kernel=np.logical_xor, shape_rule=logical, traits=CMP)
logical_not = defop("logical_not", kernel=np.logical_not, shape_rule=logical, traits=CMP)

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "exp", "log",
    "sin", "cos", "tanh", "sigmoid", "relu", "sign", "abs", "maximum", "minimum", "add_n",
    "where", "cast", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "float_elementwise", "elementwise",
    "floor_divide", "floormod", "truncatemod",
]
