"""Derivatives built from the two modes: full Jacobians (either mode), Hessians and Hessian-vector products.

A Jacobian is one vjp (reverse mode) or one jvp (forward mode) built for one seed and batched by
`vmap` over the rows (columns) of an identity: its graph has the same nodes whatever the number
of outputs (inputs); what grows is the batch its ops run on. The vmapped function works on a copy
of the nodes between x and y (`_between`), rebuilt inside it, so that it can differentiate them.
Which mode is cheaper to run depends on which of the two counts is smaller.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from staticgraph import dtypes
from staticgraph.autodiff.forward import jvp
from staticgraph.autodiff.paths import data_reachable
from staticgraph.autodiff.reverse import as_list, gradients
from staticgraph.autodiff.vmap import vmap
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.nest import flatten, unflatten
from staticgraph.ops import array, create, math, reduce
from staticgraph.ops.registry import apply, get_op
from staticgraph.ops.shapes import fmt, known
from staticgraph.sourceinfo import user_source

MODES = ("rev", "fwd")


def jacobian(y, x, mode: str = "rev"):
    """The full Jacobian dy/dx, of shape y.shape + x.shape, as nodes of y's graph.

    The notes' shape table holds: scalar y, scalar x -> a scalar; scalar y, vector x -> a
    vector (the gradient); vector y, scalar x -> a vector; vector y, vector x -> a matrix.
    An x that y does not depend on gives zeros. Built with `sg.vmap`: the graph does not grow
    with the number of elements of y or x.

    Args:
        y: a float Tensor whose shape is fully known, or a nested list / tuple / dict of them.
        x: a float Tensor whose shape is fully known, or a nested list / tuple / dict of them.
        mode: "rev" batches one vjp over the m = y.size rows (m sweeps of reverse mode run as
            one batched sweep); "fwd" batches one jvp over the n = x.size columns. Both build
            about as many nodes as one gradient; pick "rev" when m < n (the batched work is m
            resp. n times one sweep).
    Returns:
        A Tensor of shape y.shape + x.shape: element [i..., j...] is d y[i...] / d x[j...]. For
        structures, y's structure holding x's structure of such Tensors (as JAX's jacobian).
    Raises:
        InvalidArgumentError: an unknown dim in y or x, a non-float y or x, or an unknown mode.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> y = x[0] ** 2 + 2 * x[1] ** 2
        >>> sg.Session().run(sg.jacobian(y, x, mode="fwd"), {x: np.array([1.0, 3.0])}).tolist()
        [2.0, 12.0]
        >>> ja, jb = sg.jacobian([y, x * 3.0], x)
        >>> sg.Session().run(jb, {x: np.array([1.0, 3.0])}).tolist()
        [[3.0, 0.0], [0.0, 3.0]]
    """
    if mode not in MODES:
        raise InvalidArgumentError(f"jacobian: mode must be one of {MODES}, got {mode!r}")
    ys, xs = flatten(y), flatten(x)
    for t in ys:
        _check_static(t, xs[0], "jacobian")
    for t in xs:
        _check_static(ys[0], t, "jacobian")
    graph = ys[0].graph
    with graph.as_default(), graph.name_scope("jacobian"), \
            graph.role_scope("gradient" if mode == "rev" else "tangent"):
        if mode == "rev":
            rows = [_reverse_rows(yi, xs) for yi in ys]
        else:
            columns = [_forward_columns(ys, xi) for xi in xs]
            rows = [[columns[j][i] for j in range(len(xs))] for i in range(len(ys))]
    return unflatten(y, [unflatten(x, row) for row in rows])


def _reverse_rows(y: Tensor, xs: list[Tensor]) -> list[Tensor]:
    """dy/dx for each x: the vjp of y batched over the rows of an identity (one per y element)."""
    m = _size(y.shape)
    if m == 0 or any(_size(x.shape) == 0 for x in xs):
        return [create.zeros(y.shape + x.shape, y.dtype) for x in xs]

    def vjp(seed):
        (y_copy,), xs_copy = _between(xs, [y])
        return gradients(y_copy, xs_copy, grad_ys=array.reshape(seed, y.shape),
                         unconnected_gradients="zero")

    rows = vmap(vjp)(_identity(m, y.dtype))
    return [array.reshape(r, y.shape + x.shape) for r, x in zip(rows, xs)]


def _forward_columns(ys: list[Tensor], x: Tensor) -> list[Tensor]:
    """dy/dx for each y: the jvp along x batched over the columns of an identity."""
    n = _size(x.shape)
    if n == 0 or any(_size(y.shape) == 0 for y in ys):
        return [create.zeros(y.shape + x.shape, y.dtype) for y in ys]

    def push(seed):
        ys_copy, (x_copy,) = _between([x], ys)
        return jvp(ys_copy, x_copy, array.reshape(seed, x.shape))

    columns = vmap(push, out_axes=-1)(_identity(n, x.dtype))
    return [array.reshape(c, y.shape + x.shape) for c, y in zip(columns, ys)]


def _identity(n: int, dtype) -> Tensor:
    """The n x n identity, made at run time from n indices (the graph holds no n x n constant)."""
    return array.one_hot(create.constant(np.arange(n, dtype=np.int64)), n, dtype=dtype)


def _between(xs: list[Tensor], ys: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """The nodes on data paths from xs to ys rebuilt in the default graph (a vmapped function's
    sub-graph), on the xs captured there; returns the copies of ys and the captured xs."""
    graph = get_default_graph()
    outer = ys[0].graph
    names = [x.name for x in xs]
    region = data_reachable(outer, names, forward=True) & \
        data_reachable(outer, [y.name for y in ys], forward=False)
    copies = {name: graph.capture(outer.tensor(name)) for name in names}
    for name in nx.topological_sort(outer.nx.subgraph(region)):
        node = outer.node(name)
        # A random node is used, not copied: a copy would draw other values than y's.
        if name not in copies and "random" not in get_op(node["op"]).traits:
            inputs = [copies[i] if i in copies else outer.tensor(i) for i in outer.inputs(name)]
            copies[name] = apply(get_op(node["op"]), inputs, node["attrs"])
    return [copies[y.name] if y.name in copies else graph.capture(y) for y in ys], \
        [copies[n] for n in names]


def hessian(y, x):
    """The Hessian d2y/dx2 of a scalar y, of shape x.shape + x.shape (forward-over-reverse).

    Built as the forward-mode Jacobian (`jacobian(..., mode="fwd")`, one batched jvp) of the
    reverse-mode gradient: the graph does not grow with the number of elements of x.

    Args:
        y: a float scalar Tensor, or a nested list / tuple / dict of them.
        x: a float Tensor whose shape is fully known, or a nested list / tuple / dict of them.
    Returns:
        A Tensor of shape x.shape + x.shape: element [i..., j...] is d2y / dx[i...] dx[j...].
        For structures: y's structure holding x's structure holding x's structure (the blocks
        d2y / dx_i dx_j, cross terms included, as JAX's hessian).
    Raises:
        InvalidArgumentError: y not a scalar, an unknown dim in x, or non-float tensors.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> y = x[0] ** 2 + 2 * x[1] ** 2
        >>> sg.Session().run(sg.hessian(y, x), {x: np.array([1.0, 3.0])}).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    ys, xs = flatten(y), flatten(x)
    blocks = []
    for yi in ys:
        _check_scalar(yi, "hessian")
        for xj in xs:
            _check_static(yi, xj, "hessian")
        grads = gradients(yi, xs, unconnected_gradients="zero")
        blocks.append(jacobian(unflatten(x, grads), x, mode="fwd"))
    return unflatten(y, blocks)


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

    One gradient pass and one jvp of it (forward-over-reverse): a few times the cost of y. A
    batch of vectors (v with one more leading dim than x) gives one product per vector, as one
    jvp batched by `sg.vmap`.

    Args:
        y: a float scalar Tensor.
        x: a float Tensor.
        v: a Tensor or array of x's shape and dtype, or a batch of them (shape (k,) + x.shape).
    Returns:
        A Tensor of v's shape.
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
    shape = v.shape if isinstance(v, Tensor) else np.shape(v)
    if x.ndim is None or shape is None or len(shape) != x.ndim + 1:
        return jvp(grad, x, v)[0]

    def push(direction):
        (grad_copy,), (x_copy,) = _between([x], [grad])
        return jvp(grad_copy, x_copy, direction)[0]
    with grad.graph.as_default(), grad.graph.name_scope("hvp"):
        return vmap(push)(v)


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
