"""Matrix products: matmul (numpy's @, batched, with 1-D promotion) and dot (vector · vector)."""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.ops import array as A
from staticgraph.ops.batching import align, example_rank
from staticgraph.ops.registry import ShapeError, Spec, defop
from staticgraph.ops.shapes import broadcast_shapes, fmt, same_dtype


def _matmul_rule(a: Spec, b: Spec):
    dtype = same_dtype(a, b)
    if dtype == dtypes.bool_:
        raise ShapeError("needs numeric inputs, got bool")
    if not a.shape or not b.shape:
        raise ShapeError(f"needs inputs of rank >= 1, got {fmt(a.shape)} @ {fmt(b.shape)}; "
                         "use * for scalars")
    a2 = a.shape if len(a.shape) > 1 else (1,) + a.shape
    b2 = b.shape if len(b.shape) > 1 else b.shape + (1,)
    if None not in (a2[-1], b2[-2]) and a2[-1] != b2[-2]:
        raise ShapeError(f"inner dims differ: {fmt(a.shape)} @ {fmt(b.shape)}")
    try:
        batch = broadcast_shapes(a2[:-2], b2[:-2])
    except ShapeError:
        raise ShapeError(f"batch dims do not broadcast: {fmt(a.shape)} @ {fmt(b.shape)}") from None
    out = batch + (a2[-2:-1] if len(a.shape) > 1 else ()) + (b2[-1:] if len(b.shape) > 1 else ())
    return Spec(out, dtype)


def _matmul_vjp(ct, a, b, out):
    # C = A B:  dA = dC B^T,  dB = A^T dC; 1-D operands are promoted to matrices and back.
    if a.ndim == 1 and b.ndim == 1:
        return [ct * b, ct * a]
    a2 = A.expand_dims(a, 0) if a.ndim == 1 else a
    b2 = A.expand_dims(b, -1) if b.ndim == 1 else b
    ct2 = A.expand_dims(ct, -2) if a.ndim == 1 else ct
    ct2 = A.expand_dims(ct2, -1) if b.ndim == 1 else ct2
    ga = A.unbroadcast(matmul(ct2, A.matrix_transpose(b2)), a2)
    gb = A.unbroadcast(matmul(A.matrix_transpose(a2), ct2), b2)
    return [A.reshape_back(ga, a) if a.ndim == 1 else ga, A.reshape_back(gb, b) if b.ndim == 1 else gb]


def _matmul_jvp(t, a, b, out):
    # d(A B) = dA B + A dB
    return _product_sum(None if t[0] is None else matmul(t[0], b),
                        None if t[1] is None else matmul(a, t[1]))


def _product_sum(first, second):
    """The sum of the product rule's two terms, either of which may be None (zero)."""
    if first is None or second is None:
        return second if first is None else first
    return first + second


def _matmul_batch(values, dims):
    """The batch as a leading dim of a matmul: 1-D operands made matrices (and their dim
    squeezed after), the batched ones given the other's rank so that the batch leads."""
    (a, b), (da, db) = values, dims
    vector_a, vector_b = example_rank(a, da) == 1, example_rank(b, db) == 1
    # A batch against one matrix is folded into a single 2-D product, which BLAS runs far
    # faster than numpy's stack of small products.
    if db is None and _known_matrix(b) and (vector_a or b.ndim == 2 and _known_rest(a)):
        return _folded(a, b), 0
    if da is None and _known_matrix(a) and (vector_b or a.ndim == 2 and _known_rest(b)):
        if vector_b:  # a @ b_i = b_i @ a^T
            return matmul_(b, A.transpose(a) if a.ndim == 2 else a), 0
        order = tuple(range(b.ndim - 2)) + (b.ndim - 1, b.ndim - 2)
        return A.transpose(_folded(A.transpose(b, order), A.transpose(a)), order), 0
    a = A.expand_dims(a, -2) if vector_a else a
    b = A.expand_dims(b, -1) if vector_b else b
    rank = max(example_rank(a, da), example_rank(b, db))
    out = matmul_(align(a, da, rank), align(b, db, rank))
    squeezed = tuple(axis for axis, vector in ((-2, vector_a), (-1, vector_b)) if vector)
    return (A.squeeze(out, squeezed) if squeezed else out), 0


def _known_rest(x) -> bool:
    """Whether batched x's example shape is known."""
    return x.ndim is not None and None not in x.shape[1:]


def _known_matrix(x) -> bool:
    """Whether unbatched x is a vector or a matrix of known shape."""
    return x.ndim is not None and x.ndim <= 2 and None not in x.shape


def _folded(a, b):
    """Batched a (batch dims first, then rows, then k) @ one matrix b: one (rows, k) @ (k, m)
    product over all rows of all examples."""
    if a.ndim <= 2:
        return matmul_(a, b)
    flat = matmul_(A.reshape(a, (-1, a.shape[-1])), b)
    return A.reshape(flat, (-1,) + tuple(a.shape[1:-1]) + tuple(flat.shape[-1:]))


matmul_ = defop("matmul", kernel=np.matmul, shape_rule=_matmul_rule, vjp=_matmul_vjp,
                jvp=_matmul_jvp, traits={"out", "foldable", "total"}, batch=_matmul_batch)

# matmul's kernel for operands whose 2-D transpose the executor passes untransposed, by which
# operands are (first, second): np.matmul takes a transposed view as it is, so the transpose
# needs no step of its own.
MATMUL_OF_TRANSPOSED = {
    (True, False): lambda a, b, out=None: np.matmul(a.T, b, out),
    (False, True): lambda a, b, out=None: np.matmul(a, b.T, out),
    (True, True): lambda a, b, out=None: np.matmul(a.T, b.T, out),
}


def matmul(a, b, name: str | None = None):
    """The matrix product a @ b with numpy's rules (batch dims broadcast; 1-D operands promoted).

    Example:
        >>> import staticgraph as sg
        >>> sg.matmul(sg.ones((3, 4)), sg.ones((4, 5))).shape
        (3, 5)
    """
    return matmul_(a, b, name=name)


def _dot_rule(x: Spec, y: Spec):
    dtype = same_dtype(x, y)
    if len(x.shape) != 1 or len(y.shape) != 1:
        raise ShapeError(f"needs two vectors, got {fmt(x.shape)} and {fmt(y.shape)}; use sg.matmul")
    if None not in (x.shape[0], y.shape[0]) and x.shape[0] != y.shape[0]:
        raise ShapeError(f"vector lengths differ: {fmt(x.shape)} . {fmt(y.shape)}")
    return Spec((), dtype)


# ndarray.dot: np.dot's BLAS call without its dispatch layer (a third of np.dot's time on R^4).
dot_ = defop("dot", kernel=np.ndarray.dot, shape_rule=_dot_rule, traits={"foldable", "total"},
             vjp=lambda ct, x, y, out: [ct * y, ct * x],
             jvp=lambda t, x, y, out: _product_sum(None if t[0] is None else dot(t[0], y),
                                                   None if t[1] is None else dot(x, t[1])),
             batch=_matmul_batch)


def dot(x, y, name: str | None = None):
    """The inner product of two vectors (like `torch.dot`): a scalar."""
    return dot_(x, y, name=name)
