"""Derivatives built from the two modes: full Jacobians (either mode), Hessians and Hessian-vector products.

Everything here is one graph: a Jacobian is a stack of vjps seeded with the rows of an identity
(reverse mode, one sweep per output element) or of jvps seeded with its columns (forward mode,
one sweep per input element). Which is cheaper depends on which of the two counts is smaller.
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.autodiff.forward import jvp
from staticgraph.autodiff.reverse import as_list, gradients
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor
from staticgraph.ops import array, create, math, reduce
from staticgraph.ops.shapes import fmt, known
from staticgraph.sourceinfo import user_source

MODES = ("rev", "fwd")


def jacobian(y: Tensor, x: Tensor, mode: str = "rev") -> Tensor:
    """The full Jacobian dy/dx, of shape y.shape + x.shape, as nodes of y's graph.

    The notes' shape table holds: scalar y, scalar x -> a scalar; scalar y, vector x -> a
    vector (the gradient); vector y, scalar x -> a vector; vector y, vector x -> a matrix.
    An x that y does not depend on gives zeros.

    Args:
        y: a float Tensor whose shape is fully known.
        x: a float Tensor whose shape is fully known.
        mode: "rev" builds one vjp per element of y (about m times the nodes of one
            gradient pass, m = y's size); "fwd" builds one jvp per element of x (about n
            times the nodes of one tangent pass, n = x's size). Pick "rev" when m < n.
    Returns:
        A Tensor of shape y.shape + x.shape: element [i..., j...] is d y[i...] / d x[j...].
    Raises:
        InvalidArgumentError: an unknown dim in y or x, a non-float y or x, or an unknown mode.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> y = x[0] ** 2 + 2 * x[1] ** 2
        >>> sg.Session().run(sg.jacobian(y, x, mode="fwd"), {x: np.array([1.0, 3.0])}).tolist()
        [2.0, 12.0]
    """
    if mode not in MODES:
        raise InvalidArgumentError(f"jacobian: mode must be one of {MODES}, got {mode!r}")
    _check_static(y, x, "jacobian")
    m, n = _size(y.shape), _size(x.shape)
    graph = y.graph
    with graph.as_default(), graph.name_scope("jacobian"), \
            graph.role_scope("gradient" if mode == "rev" else "tangent"):
        if m == 0 or n == 0:
            return create.zeros(y.shape + x.shape, y.dtype)
        if mode == "rev":
            rows = [gradients(y, x, grad_ys=_one_hot(y, i), unconnected_gradients="zero")[0]
                    for i in range(m)]
            return array.reshape(array.stack(rows, axis=0), y.shape + x.shape)
        columns = [jvp(y, x, _one_hot(x, j))[0] for j in range(n)]
        return array.reshape(array.stack(columns, axis=-1), y.shape + x.shape)


def hessian(y: Tensor, x: Tensor) -> Tensor:
    """The Hessian d2y/dx2 of a scalar y, of shape x.shape + x.shape (forward-over-reverse).

    Built as the forward-mode Jacobian of the reverse-mode gradient: one gradient pass, then
    one jvp of it per element of x.

    Args:
        y: a float scalar Tensor.
        x: a float Tensor whose shape is fully known.
    Returns:
        A Tensor of shape x.shape + x.shape: element [i..., j...] is d2y / dx[i...] dx[j...].
    Raises:
        InvalidArgumentError: y not a scalar, an unknown dim in x, or non-float tensors.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> y = x[0] ** 2 + 2 * x[1] ** 2
        >>> sg.Session().run(sg.hessian(y, x), {x: np.array([1.0, 3.0])}).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    _check_scalar(y, "hessian")
    _check_static(y, x, "hessian")
    (grad,) = gradients(y, x, unconnected_gradients="zero")
    return jacobian(grad, x, mode="fwd")


def hessians(ys, xs, name: str = "hessians", colocate_gradients_with_ops: bool = False,
             gate_gradients: bool = False, aggregation_method=None) -> list[Tensor]:
    """TF1's `tf.hessians`: for each x, the Hessian of sum(ys) (every element of every y) with
    respect to x alone, of shape x.shape + x.shape (no cross terms between xs).

    Args:
        ys: a float Tensor or list of them.
        xs: a float Tensor or list of them, each of fully known shape.
        name, colocate_gradients_with_ops, gate_gradients, aggregation_method: accepted for TF1
            compatibility, without effect.
    Returns:
        A list with one Tensor per x (zeros where ys do not depend on x).
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> (h,) = sg.hessians(x[0] ** 2 * x[1], x)
        >>> sg.Session().run(h, {x: np.array([1.0, 3.0])}).tolist()
        [[6.0, 2.0], [2.0, 0.0]]
    """
    ys, xs = as_list(ys), as_list(xs)
    for y in ys:
        _check_static(y, xs[0], "hessians")
    graph = ys[0].graph
    with graph.as_default():
        total = ys[0] if len(ys) == 1 and ys[0].shape == () else \
            math.add_n([reduce.sum(y) for y in ys])
    return [hessian(total, x) for x in xs]


def hvp(y: Tensor, x: Tensor, v) -> Tensor:
    """The Hessian-vector product (d2y/dx2) v of a scalar y, without forming the Hessian.

    One gradient pass and one jvp of it (forward-over-reverse): a few times the cost of y.

    Args:
        y: a float scalar Tensor.
        x: a float Tensor.
        v: a Tensor or array of x's shape and dtype.
    Returns:
        A Tensor of x's shape.
    Raises:
        InvalidArgumentError: y not a scalar, or v not of x's shape and dtype.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> y = sg.sum(x ** 3)
        >>> sg.Session().run(sg.hvp(y, x, np.array([1.0, 1.0])), {x: np.array([1.0, 2.0])}).tolist()
        [6.0, 12.0]
    """
    _check_scalar(y, "hvp")
    (grad,) = gradients(y, x, unconnected_gradients="zero")
    return jvp(grad, x, v)[0]


def _one_hot(like: Tensor, index: int) -> Tensor:
    """A constant of like's shape and dtype: 1 at flat position `index`, 0 elsewhere."""
    seed = np.zeros(like.shape, like.dtype)
    seed.reshape(-1)[index] = 1
    return create.constant(seed, name="one_hot_seed")


def _size(shape: tuple) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _check_static(y: Tensor, x: Tensor, what: str) -> None:
    for role, t in (("y", y), ("x", x)):
        if not isinstance(t, Tensor):
            raise InvalidArgumentError(f"{what}: {role} must be a static Tensor, got {t!r} at "
                                       f"{user_source()}")
        if not dtypes.is_floating(t.dtype):
            raise InvalidArgumentError(f"{what}: {role} {t.name!r} is {t.dtype.name}; only float "
                                       f"tensors have derivatives at {user_source()}")
        if not known(t.shape):
            raise InvalidArgumentError(
                f"{what}: the shape of {role} {t.name!r} must be fully known to size the Jacobian, "
                f"got {fmt(t.shape)} at {user_source()}; give the placeholder a full shape")


def _check_scalar(y: Tensor, what: str) -> None:
    if not isinstance(y, Tensor) or y.shape != ():
        shape = fmt(y.shape) if isinstance(y, Tensor) else repr(y)
        raise InvalidArgumentError(f"{what}: y must be a scalar Tensor, got shape {shape} at "
                                   f"{user_source()}; reduce it first (e.g. sg.sum(y))")
