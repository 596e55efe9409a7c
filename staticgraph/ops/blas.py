"""c += alpha · op(a) @ op(b), written into c: the BLAS gemm with beta = 1.

numpy's matmul has no way to add its product into an existing array, so an SGD step
`w -= lr * (x.T @ d)` costs numpy three passes over a matrix of w's size: the product into a
temporary, the scaling, the subtraction. gemm does all three in one, and writes nothing else.

The gemm called is the one numpy's own matmul calls: the CBLAS of the OpenBLAS library that
numpy's wheels bundle (found beside numpy and checked once on a small product). Where there is
none (numpy built on another BLAS), or the arrays do not suit it (not float32 / float64, not
contiguous in either order, overlapping), `add_product` does the same with numpy's matmul.
Set STATICGRAPH_BLAS=0 to always take that path.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# (symbol, its integer type) in the order tried: OpenBLAS as numpy's wheels build it (64-bit
# integers, prefixed names), then plain CBLAS builds.
_SYMBOLS = (("scipy_cblas_{}gemm64_", ctypes.c_int64), ("cblas_{}gemm64_", ctypes.c_int64),
            ("scipy_cblas_{}gemm", ctypes.c_int), ("cblas_{}gemm", ctypes.c_int))
_SCALARS = {np.dtype(np.float32): ("s", ctypes.c_float),
            np.dtype(np.float64): ("d", ctypes.c_double)}


def _bundled_libraries() -> list[str]:
    """The BLAS libraries numpy's wheels ship beside it (Linux, macOS and Windows layouts)."""
    root = os.path.dirname(np.__file__)
    folders = (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs"))
    return sorted(path for folder in folders
                  for path in glob.glob(os.path.join(folder, "*openblas*")))


def _bind(library: str) -> dict:
    """dtype -> the library's gemm for it, as a ctypes function; empty when it has none."""
    try:
        lib = ctypes.CDLL(library)
    except OSError:
        return {}
    for pattern, integer in _SYMBOLS:
        found = {}
        for dtype, (letter, scalar) in _SCALARS.items():
            fn = getattr(lib, pattern.format(letter), None)
            if fn is None:
                break
            ptr = ctypes.c_void_p
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                           scalar, ptr, integer, ptr, integer, scalar, ptr, integer]
            fn.restype = None
            found[dtype] = fn
        else:
            return found
    return {}


def _agrees(gemm: dict) -> bool:
    """True when each function gives numpy's answer on a small product in every layout."""
    rng = np.random.default_rng(0)
    for dtype in gemm:
        a, b = rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((2, 4)).astype(dtype)
        for a_, b_ in ((a, b), (np.asfortranarray(a), np.asfortranarray(b))):
            c = np.ones((3, 4), dtype)
            if not _gemm(gemm[dtype], c, a_, b_, 0.5) or not np.allclose(c, 1 + 0.5 * (a @ b)):
                return False
    return True


def _find() -> dict:
    """The gemm functions of numpy's bundled BLAS, or {} (none found, or switched off)."""
    if os.environ.get("STATICGRAPH_BLAS", "1") == "0":
        return {}
    for library in _bundled_libraries():
        gemm = _bind(library)
        if gemm and _agrees(gemm):
            return gemm
    return {}


def _layout(x: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) of a 2-D operand as row-major CBLAS reads it."""
    if x.flags.c_contiguous:
        return _NO_TRANS, max(1, x.shape[1])
    if x.flags.f_contiguous:
        return _TRANS, max(1, x.shape[0])
    return None


def _address(x: np.ndarray) -> int:
    """The address of a contiguous array's first element (ctypes' buffer view is the quick
    way; numpy's `.ctypes` costs five times more, but takes read-only arrays too)."""
    try:
        return ctypes.addressof(_CHAR_AT(x if x.flags.c_contiguous else x.T))
    except (TypeError, BufferError, ValueError):
        return x.ctypes.data


_CHAR_AT = ctypes.c_char.from_buffer


def _gemm(fn, c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> bool:
    """c += alpha · a @ b through `fn` when c is C-contiguous and a, b contiguous in either
    order, all aligned and apart; False (nothing done) otherwise."""
    layout_a, layout_b = _layout(a), _layout(b)
    if layout_a is None or layout_b is None or not (c.flags.c_contiguous and c.flags.writeable
                                                     and c.flags.aligned and a.flags.aligned
                                                     and b.flags.aligned) \
            or np.may_share_memory(c, a) or np.may_share_memory(c, b):
        return False
    (m, k), n = a.shape, b.shape[1]
    fn(_ROW_MAJOR, layout_a[0], layout_b[0], m, n, k, alpha, _address(a), layout_a[1],
       _address(b), layout_b[1], 1.0, _address(c), n)
    return True


GEMM = _find()


def available() -> bool:
    """True when `add_product` calls BLAS directly for float32 and float64."""
    return bool(GEMM)


def add_product(c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """c += alpha · (a @ b) for 2-D arrays, written into c (which is returned).

    Example:
        >>> import numpy as np
        >>> from staticgraph.ops.blas import add_product
        >>> add_product(np.ones((2, 2)), np.eye(2), np.full((2, 2), 3.0), -0.5).tolist()
        [[-0.5, -0.5], [-0.5, -0.5]]
    """
    if a.ndim != 2 or b.ndim != 2 or c.shape != (a.shape[0], b.shape[1]) \
            or a.shape[1] != b.shape[0]:
        raise ValueError(f"cannot add the product of shapes {a.shape} and {b.shape} into "
                         f"shape {c.shape}")
    fn = GEMM.get(c.dtype)
    if fn is not None and a.dtype == c.dtype and b.dtype == c.dtype and c.size and a.shape[1]:
        # c.T += alpha · b.T @ a.T is the same update of an F-contiguous c, all row-major
        if _gemm(fn, c, a, b, alpha) or c.flags.f_contiguous and _gemm(fn, c.T, b.T, a.T, alpha):
            return c
    c += (a @ b) * c.dtype.type(alpha)
    return c
