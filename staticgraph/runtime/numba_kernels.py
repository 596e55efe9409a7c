"""The numba code of a fused region: one loop nest compiled by numba, cached on disk.

The numba kernel (`numba.njit`, fastmath off, numpy's error model, so NaN and Inf come out as
numpy gives them) walks the region's shape once, the last dim in blocks of `BLOCK` elements; in
each block it runs the members one after another over the block (so that libm calls pipeline),
keeping values in a small scratch of `BLOCK` elements per value live at once, and sums in
float64. Its results equal the unfused ones to rounding: a few units in the last place per op
(libm's sin, cos, exp differ from numpy's SIMD loops; float32 tanh is computed in float64
through exp), and sums add in another order.

The source is written to a file in the kernel cache directory (`STATICGRAPH_CACHE_DIR`, else
`$XDG_CACHE_HOME/staticgraph/kernels`, else `~/.cache/staticgraph/kernels`) and imported from
there, so that numba's `cache=True` keeps the machine code beside it and a second process loads
it instead of compiling. The file is named by a hash of the region's structure (`numba_key`:
its ops, attributes, wiring, shapes, constants, and this module's own text), which costs far
less than writing the source: the source is written only when a kernel switches to numba.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

from staticgraph.ops.fused import REDUCTIONS, Region
from staticgraph.ops.shapes import normalize_axes
from staticgraph.runtime.numpy_kernels import scratch_slots

BLOCK = 256        # elements of the last dim per block of the numba loop nest


def cache_dir() -> Path:
    """Where generated kernel sources (and numba's compiled code beside them) are kept."""
    if os.environ.get("STATICGRAPH_CACHE_DIR"):
        return Path(os.environ["STATICGRAPH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "staticgraph" / "kernels"


def _literal(value, dtype: np.dtype) -> str:
    if dtype == np.dtype(bool):
        return repr(bool(value))
    number = float(np.asarray(value, dtype))
    text = repr(number) if np.isfinite(number) else "np.nan" if np.isnan(number) else \
        "np.inf" if number > 0 else "-np.inf"  # repr gives nan and inf, names numba lacks
    return f"np.{dtype.name}({text})"


def _form(op: str, args: list, attrs: dict, dtype: np.dtype) -> str:
    """The scalar expression of one member on the names `args`."""
    zero, one = _literal(0, dtype), _literal(1, dtype)
    a = args[0]
    b = args[1] if len(args) > 1 else None
    forms = {
        "add": lambda: f"{a} + {b}", "subtract": lambda: f"{a} - {b}",
        "multiply": lambda: f"{a} * {b}", "divide": lambda: f"{a} / {b}",
        "negative": lambda: f"-{a}", "square": lambda: f"{a} * {a}",
        "sqrt": lambda: f"np.sqrt({a})", "exp": lambda: f"np.exp({a})",
        "log": lambda: f"np.log({a})", "sin": lambda: f"np.sin({a})",
        "cos": lambda: f"np.cos({a})", "abs": lambda: f"np.abs({a})",
        "tanh": lambda: f"tanh32({a})" if dtype == np.float32 else f"np.tanh({a})",
        "sigmoid": lambda: f"np.exp(-np.logaddexp({zero}, -{a}))",
        "relu": lambda: f"{a} if ({a} > {zero} or {a} != {a}) else {zero}",
        "relu_grad": lambda: f"{a} * ({one} if {b} > {zero} else "
                             f"({_literal(attrs.get('at_zero', 0), dtype)} if {b} == {zero} "
                             f"else {zero}))",
        "sign": lambda: f"{one} if {a} > {zero} else (-{one} if {a} < {zero} else "
                        f"({a} if {a} != {a} else {zero}))",
        "maximum": lambda: f"{a} if ({a} > {b} or {a} != {a}) else {b}",
        "minimum": lambda: f"{a} if ({a} < {b} or {a} != {a}) else {b}",
        "add_n": lambda: " + ".join(args), "identity": lambda: a, "stop_gradient": lambda: a,
        "where": lambda: f"{b} if {a} else {args[2]}", "power": lambda: f"{a} ** {b}",
        "cast": lambda: f"np.{dtype.name}({a})",
        "equal": lambda: f"{a} == {b}", "not_equal": lambda: f"{a} != {b}",
        "less": lambda: f"{a} < {b}", "less_equal": lambda: f"{a} <= {b}",
        "greater": lambda: f"{a} > {b}", "greater_equal": lambda: f"{a} >= {b}",
    }
    return forms[op]()


_TANH32 = '''
@numba.njit(inline="always", error_model="numpy")  # inlined: cached with the kernel
def tanh32(x):
    # float32 tanh through float64's exp (about twice as fast as expm1, and far faster than
    # libm's tanhf): correctly rounded but for rare ties, so within an ulp of numpy's; exp's
    # cancellation near 0 costs float64 bits float32 lacks, and below 4e-4 two terms of the
    # series are exact in float32 (keeping -0.0); |x| > 20 is +-1 in float32
    if x > 20.0:
        return np.float32(1.0)
    if x < -20.0:
        return np.float32(-1.0)
    d = np.float64(x)
    if abs(d) < 4e-4:
        return np.float32(d * (1.0 - d * d / 3.0))
    e = np.exp(2.0 * d)
    return np.float32((e - 1.0) / (e + 1.0))

'''


def numba_source(region: Region) -> str:
    """The numba source of `region`: a module defining `kernel(*inputs, out)`."""
    reads = region.reads()
    graph, shape, dtype = region.graph, region.shape, region.dtype
    rank = len(shape)
    last_dim = shape[-1] if rank else 1
    block = min(BLOCK, last_dim)
    index = [f"i{p}" for p in range(rank - 1)] + ["{j}"]  # {j}: each loop's own variable
    lines = [f"def kernel({''.join(f'x{k}, ' for k in range(len(region.inputs)))}out):",
             "    flat = out.reshape(out.size)"]
    levels = _levels(region, reads)
    order = sorted(region.members, key=lambda m: levels[m])  # stable: run order within one
    slots, rows = scratch_slots(region, reads, numpy_in_place=False, order=order)
    if rows["f"]:
        lines.append(f"    s = np.empty(({rows['f']}, {block}), np.{dtype.name})")
    if rows["b"]:
        lines.append(f"    sb = np.empty(({rows['b']}, {block}), np.bool_)")
    names: dict = {}
    for k, i in enumerate(region.inputs):
        ishape = graph.nx.nodes[i]["shape"]
        if len(ishape) == 0:
            lines.append(f"    c{k} = x{k}[()]")
            names[i] = f"c{k}"
        else:
            dims = [("0" if n == 1 and shape[rank - len(ishape) + q] != 1
                     else index[rank - len(ishape) + q]) for q, n in enumerate(ishape)]
            names[i] = f"x{k}[{', '.join(dims)}]"
    for name in graph.nx:
        node = graph.nx.nodes[name]
        if node["op"] == "constant":
            names[name] = _literal(node["attrs"]["value"][()], node["dtype"])
    sums = [m for m in region.members if graph.nx.nodes[m]["op"] in REDUCTIONS]
    acc = "np.float64" if dtype == np.float32 else f"np.{dtype.name}"
    for k, name in enumerate(sums):  # arrays: a local summed into in the loops would be
        # defined twice
        lines.append(f"    acc{k} = np.zeros({_size(graph, name)}, {acc})")
    body, indent = [], "    "
    for p in range(rank - 1):
        body.append(f"{indent}for i{p} in range({shape[p]}):")
        indent += "    "
    flat_base = " + ".join(f"i{p} * {int(np.prod(shape[p + 1:], dtype=np.int64))}"
                           for p in range(rank - 1)) or "0"
    body += [f"{indent}for lo in range(0, {last_dim}, {block}):",
             f"{indent}    hi = min(lo + {block}, {last_dim})",
             f"{indent}    base = {flat_base}"]
    indent += "    "
    outputs = dict(zip(region.outputs, region.offsets))
    for t, name in enumerate(order):
        node = graph.nx.nodes[name]
        inputs = reads[name]
        # each loop and operand has a name of its own: reused names make numba's SSA pass
        # recurse through every loop before it
        j = f"j{levels[name]}"
        if t == 0 or levels[order[t - 1]] != levels[name]:
            body.append(f"{indent}for {j} in range(lo, hi):")
        body += [f"{indent}    a{t}_{q} = {names[i].format(j=j)}" for q, i in enumerate(inputs)]
        args = [f"a{t}_{q}" for q in range(len(inputs))]
        if node["op"] in REDUCTIONS:
            where = _reduced_index(shape, node["attrs"]["axis"], j)
            body.append(f"{indent}    acc{sums.index(name)}[{where}] += {acc}({args[0]})")
            continue
        kind, r = slots[name]
        row = f"{'sb' if kind == 'b' else 's'}[{r}, {{j}} - lo]"
        body.append(f"{indent}    {row.format(j=j)} = "
                    f"{_form(node['op'], args, node['attrs'], dtype)}")
        if name in outputs:
            body.append(f"{indent}    flat[{outputs[name]} + base + {j}] = {row.format(j=j)}")
        names[name] = row
    lines += body
    for k, name in enumerate(sums):
        lines += [f"    for q in range({_size(graph, name)}):",
                  f"        flat[{outputs[name]} + q] = np.{dtype.name}(acc{k}[q])"]
    header = "import numba\nimport numpy as np\n\n"
    if "tanh32(" in "\n".join(lines):
        header += _TANH32
    return header + "\n".join(lines) + "\n"


def _size(graph, name: str) -> int:
    return int(np.prod(graph.nx.nodes[name]["shape"], dtype=np.int64))


def _reduced_index(shape: tuple, axis, j: str) -> str:
    """The flat index, in a reduction's value, of the element of `shape` that the loop
    variables i0, i1, ... and `j` (the last dim's) point to: the kept dims' indices, each
    times its stride in the reduced shape."""
    rank = len(shape)
    reduced = set(normalize_axes(axis, rank))
    terms, stride = [], 1
    for p in reversed(range(rank)):
        if p in reduced:
            continue
        variable = j if p == rank - 1 else f"i{p}"
        terms.append(variable if stride == 1 else f"{variable} * {stride}")
        stride *= shape[p]
    return " + ".join(reversed(terms)) or "0"


def _levels(region: Region, reads: dict) -> dict:
    """member -> 1 + the longest chain of members before it: the members of one level are
    independent, so one loop computes them all (sin and cos of one value side by side, say)."""
    levels: dict = {}
    for name in region.members:
        levels[name] = 1 + max((levels.get(i, 0) for i in reads[name]), default=0)
    return levels


_GENERATOR = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def numba_key(region: Region, reads: dict) -> str:
    """A digest of what `numba_source` reads of `region` (names aside; its members read
    `reads`), and of this module's text: regions of one key have one source."""
    nodes = region.graph.nx._node
    index = {name: k for k, name in enumerate(region.inputs)}
    parts = [_GENERATOR, str(BLOCK), region.dtype.str, repr(region.shape),
             repr(region.offsets)]
    parts += [f"{nodes[i]['shape']!r}" for i in region.inputs]
    for name, node in nodes.items():
        if node["op"] == "constant":
            index[name] = len(index)
            parts.append(f"c{node['dtype'].str}{node['attrs']['value'].tobytes().hex()}")
    output = {name: k for k, name in enumerate(region.outputs)}
    for name in region.members:
        node = nodes[name]
        index[name] = len(index)
        parts.append(f"{node['op']}{node['attrs'] or ''}{[index[i] for i in reads[name]]}"
                     f"{output.get(name, '')}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:24]


def _path_of(key: str) -> Path:
    return cache_dir() / f"sg_fused_{key}.py"


def is_cached(key: str) -> bool:
    """True when numba's compiled code for the key's source is on disk (an index file)."""
    path = _path_of(key)
    return any((path.parent / "__pycache__").glob(f"{path.stem}.kernel-*.nbi"))


_MODULES: dict = {}
_MODULES_LOCK = threading.Lock()


def compiled(key: str, source: str):
    """The numba dispatcher of `source`'s kernel (of digest `key`), from its file in the cache
    directory (written if missing), compiled with cache=True; without a writable directory,
    compiled uncached."""
    import numba
    path = _path_of(key)
    with _MODULES_LOCK:
        if path.stem in _MODULES:
            return _MODULES[path.stem]
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                partial.write_text(source)
                os.replace(partial, path)
            # importable by name: numba's cache finds the globals of cached code through it
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            cache = True
        except OSError:
            module = type(sys)(path.stem)
            exec(compile(source, str(path), "exec"), module.__dict__)
            cache = False
        dispatcher = numba.njit(cache=cache, error_model="numpy", fastmath=False,
                                nogil=True)(module.kernel)
        _MODULES[path.stem] = dispatcher
        return dispatcher


def numba_entry(region: Region, dispatcher, numpy_run):
    """kernel(*inputs, out=None) calling `dispatcher`, compiled now for the inputs' types, or
    `numpy_run` when floating-point errors must not pass silently (see `errors_quiet`)."""
    scalars = [k for k, i in enumerate(region.inputs)
               if region.graph.nx.nodes[i]["shape"] == ()]
    names = "".join(f"x{k}, " for k in range(len(region.inputs)))
    lines = [f"def kernel({names}out=None):",
             "    if not quiet():",
             f"        return numpy_run({names}out=out)",
             "    if out is None:",
             f"        out = empty({region.spec.shape!r}, dtype)"]
    lines += [f"    x{k} = asarray(x{k})" for k in scalars]  # numpy scalars -> 0-d arrays
    lines += [f"    compiled({names}out)", "    return out"]
    env = {"empty": np.empty, "asarray": np.asarray, "dtype": region.dtype,
           "compiled": dispatcher, "quiet": errors_quiet, "numpy_run": numpy_run}
    exec(compile("\n".join(lines) + "\n", f"<numba entry {region.outputs[0]}>", "exec"), env)
    return env["kernel"]


try:  # numpy's error state: a context variable, set anew by each np.seterr and np.errstate
    from numpy._core._ufunc_config import _extobj_contextvar as _ERROR_STATE
except ImportError:  # another numpy: np.geterr() at each call
    _ERROR_STATE = None
_QUIET_MODES = frozenset(("ignore", "warn"))
_LAST_SEEN = [(object(), False)]  # (the error state seen last, whether it is quiet)
_LAST_FILTERS = [([None], False)]  # (a copy of the warnings filters seen last, whether any
# makes a RuntimeWarning an error)


def errors_quiet() -> bool:
    """True when floating-point errors pass with a warning at most: numpy's error state (its
    `np.seterr`, `np.errstate`) only ignores or warns, and no warnings filter makes a
    RuntimeWarning an error. numba's code checks no error, so a fused node runs its numpy
    code otherwise, which fails as the unfused ops would. Both answers are kept for the
    state and the filters they were found for (compared, not walked, at each call)."""
    state = _ERROR_STATE.get() if _ERROR_STATE is not None else None
    seen, quiet = _LAST_SEEN[0]
    if state is None or state is not seen:
        quiet = _QUIET_MODES.issuperset(np.geterr().values())
        _LAST_SEEN[0] = (state, quiet)
    if not quiet:
        return False
    filters = warnings.filters
    seen_filters, raises = _LAST_FILTERS[0]
    if filters != seen_filters:
        raises = any(action == "error" and issubclass(RuntimeWarning, category)
                     for action, _, category, _, _ in filters)
        _LAST_FILTERS[0] = (list(filters), raises)
    return not raises
