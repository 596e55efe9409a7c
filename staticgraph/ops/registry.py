"""The op registry: one `OpDef` per op (kernel, shape rule, vjp, jvp, traits) and `apply`.

`apply` hands an op to the builder its inputs belong to: a static `Graph` adds a node, the eager
tape runs the kernel at once and records it. The op itself never knows which style is in use.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import GraphError, InvalidArgumentError, NotFoundError, ShapeError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.sourceinfo import user_source


class Spec(NamedTuple):
    """What a shape rule knows of a value: its shape (a tuple of ints, None for an unknown dim;
    or None for an unknown rank) and dtype."""
    shape: tuple | None
    dtype: np.dtype


class _NotDifferentiable:
    """Marks an op whose output has no derivative (distinct from a zero derivative)."""

    def __repr__(self) -> str:
        return "NOT_DIFFERENTIABLE"


NOT_DIFFERENTIABLE = _NotDifferentiable()


class NotBatchable(NamedTuple):
    """Marks an op that `sg.vmap` cannot batch, and says why (its `batch` field)."""
    reason: str


@dataclass(frozen=True, eq=False)
class OpDef:
    """Everything about one op, in one place.

    kernel(*arrays, **attrs) -> array      numpy implementation
    shape_rule(*specs, **attrs) -> Spec    raises ShapeError at build time
    vjp(ct, *inputs, out, **attrs)         -> one cotangent (or None) per input, built with sg ops
    jvp(tangents, *inputs, out, **attrs)   -> the output tangent, built with sg ops
    batch(values, dims, **attrs)           -> (output, out_dim): the rule sg.vmap applies (see
        `staticgraph.ops.batching`); None for an "elementwise" op (one shared rule); or
        NotBatchable(reason) for an op that cannot be batched
    traits: "elementwise", "stateful" (kernel takes the run's state), "effect" (must run even if
        its value goes unused: never folded or dropped), "foldable", "inplace_ok", "out" (kernel
        takes out=), "view" (may return a view of an input), "no_output", "stops_gradient",
        "packed", "strings" (takes string tensors; other ops refuse them), "total" (raises for
        no input of its known planned shapes and dtypes while numpy's floating-point errors
        only warn: a run may update variables in place before it; the memory plan relies on it
        only where the node's and its inputs' shapes are all known, which holds because shape
        rules are sound: a dim a rule claims is the dim of every run)
    """
    name: str
    kernel: Callable
    shape_rule: Callable
    vjp: Callable | _NotDifferentiable = NOT_DIFFERENTIABLE
    jvp: Callable | _NotDifferentiable | None = None
    traits: frozenset = field(default_factory=frozenset)
    doc: str = ""
    batch: Callable | NotBatchable | None = None

    @property
    def differentiable(self) -> bool:
        return self.vjp is not NOT_DIFFERENTIABLE

    def __call__(self, *inputs, name: str | None = None, **attrs):
        return apply(self, inputs, attrs, name=name)

    def __repr__(self) -> str:
        return f"<OpDef {self.name}>"


REGISTRY: dict[str, OpDef] = {}


def defop(name: str, *, kernel: Callable, shape_rule: Callable,
          vjp: Callable | _NotDifferentiable = NOT_DIFFERENTIABLE,
          jvp: Callable | _NotDifferentiable | None = None, traits: Sequence[str] = (),
          doc: str = "", batch: Callable | NotBatchable | None = None) -> OpDef:
    """Define and register an op; return it (callable as `op(*inputs, name=None, **attrs)`).

    Example:
        >>> import numpy as np
        >>> from staticgraph.ops.registry import defop
        >>> from staticgraph.ops.shapes import same_as_input
        >>> import staticgraph as sg
        >>> cube = defop("cube_example", kernel=lambda x: x ** 3, shape_rule=same_as_input,
        ...              vjp=lambda ct, x, out: [ct * 3 * x * x])
    """
    if name in REGISTRY:
        raise GraphError(f"an op named {name!r} is already defined")
    if jvp is None and vjp is NOT_DIFFERENTIABLE:
        jvp = NOT_DIFFERENTIABLE
    op = OpDef(name, kernel, shape_rule, vjp, jvp, frozenset(traits), doc, batch)
    REGISTRY[name] = op
    return op


def get_op(name: str) -> OpDef:
    """The registered op called `name`."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise NotFoundError(f"unknown op {name!r}") from None


# ----- conversion of non-tensor inputs ------------------------------------------------------
def is_tensor(value) -> bool:
    """True for static and eager tensors."""
    return getattr(type(value), "style", None) in ("static", "eager")


def as_array(value, dtype=None) -> np.ndarray:
    """`value` as a numpy array of a supported dtype: `dtype`, else TF1's default for it (see
    `dtypes.default_dtype_of`). A conversion that would change the kind of a value (a float to
    an integer, a number to a string) or lose an integer is an error."""
    if dtype is None:
        dtype = dtypes.default_dtype_of(value)
    dtype = dtypes.as_dtype(dtype)
    if dtype == dtypes.string:
        return _as_bytes(value)
    arr = np.asarray(value)
    if arr.dtype != dtype:
        if arr.dtype.kind not in "biuf":
            raise InvalidArgumentError(f"cannot make a {dtype.name} tensor of {_short(value)}")
        if not np.can_cast(arr.dtype, dtype, "same_kind") and not _fits_weakly(value, dtype):
            kind = arr.dtype.name if isinstance(value, (np.ndarray, np.generic)) else \
                type(value).__name__
            raise InvalidArgumentError(
                f"cannot convert {_short(value)} of type {kind} to {dtype.name} without losing "
                f"its kind; use sg.cast")
        _check_range(arr, dtype)
        arr = arr.astype(dtype)
    return arr


def _as_bytes(value) -> np.ndarray:
    """`value` (str or bytes, or arrays of them) as a bytes array; str is encoded as UTF-8."""
    arr = np.asarray(value)
    if arr.dtype.kind == "U":
        return np.char.encode(arr, "utf-8")
    if arr.dtype.kind == "S":
        return arr
    if arr.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in arr.flat):
        return np.array([v.encode() if isinstance(v, str) else v for v in arr.flat],
                        dtype=bytes).reshape(arr.shape)
    raise InvalidArgumentError(f"cannot make a string tensor of {_short(value)}: "
                               "only str and bytes values are strings")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_range(arr: np.ndarray, dtype: np.dtype) -> None:
    """Integers that `dtype` cannot hold are an error (as numpy's OverflowError), not wrapped."""
    if dtype.kind not in "iu" or arr.dtype.kind not in "iu" or not arr.size:
        return
    info = np.iinfo(dtype)
    for value in (arr.min(), arr.max()):
        if not info.min <= int(value) <= info.max:
            raise InvalidArgumentError(f"the integer {int(value)} is out of range for {dtype.name} "
                                       f"([{info.min}, {info.max}])")


def _fits_weakly(value, dtype: np.dtype) -> bool:
    """Python scalars adopt the other operand's dtype (numpy's NEP 50), ints into floats too."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return dtype.kind in "iuf"
    if isinstance(value, float):
        return dtype.kind == "f"
    if isinstance(value, (list, tuple)):
        return all(_fits_weakly(v, dtype) for v in value)
    return False


def dtype_hint(inputs: Sequence) -> np.dtype | None:
    """The dtype non-tensor inputs should take: that of the first tensor input."""
    for value in inputs:
        if is_tensor(value):
            return value.dtype
    return None


def op_scope(name: str, *inputs):
    """A name scope for the nodes of a composite op, in the graph of its static inputs."""
    for x in inputs:
        if isinstance(x, Tensor):
            return x.graph.name_scope(name)
    return contextlib.nullcontext()


# ----- dispatch ---------------------------------------------------------------------------
_EAGER_APPLY: list[Callable] = []


def set_eager_apply(fn: Callable) -> None:
    """Install the eager tape's `apply` (called by `staticgraph.eager` on import)."""
    _EAGER_APPLY[:] = [fn]


def apply(op: OpDef, inputs: Sequence, attrs: dict, name: str | None = None):
    """Apply `op` to `inputs` in the style of the tensors among them."""
    styles = {type(x).style for x in inputs if is_tensor(x)}
    if "eager" in styles:
        if "static" in styles:
            raise GraphError(f"{op.name}: cannot mix eager tensors with static graph tensors "
                             f"at {user_source()}")
        return _EAGER_APPLY[0](op, list(inputs), attrs)
    graph = _target_graph(op, [x for x in inputs if isinstance(x, Tensor)])
    inputs = [graph.capture(x) if isinstance(x, Tensor) and x.graph is not graph else x
              for x in inputs]
    return apply_static(graph, op, inputs, attrs, name)


def _target_graph(op: OpDef, tensors: list[Tensor]) -> Graph:
    """The default graph when it is, or is nested in, the inputs' graph (a branch or loop body
    capturing outer tensors); else the one graph the inputs share."""
    default = get_default_graph()
    if all(default.encloses(t.graph) for t in tensors):
        return default
    graphs = {id(t.graph): t.graph for t in tensors}
    if len(graphs) > 1:
        names = ", ".join(repr(t.name) for t in tensors)
        raise GraphError(f"{op.name}: inputs {names} belong to different graphs at {user_source()}")
    return tensors[0].graph


def apply_static(graph: Graph, op: OpDef, inputs: Sequence, attrs: dict, name: str | None = None,
                 handle: Tensor | None = None, refs: tuple = ()) -> Tensor:
    """Add `op` to `graph` as a node, after checking its shape rule; constants become nodes."""
    source = user_source()
    hints = [x.dtype for x in inputs if isinstance(x, Tensor)]
    try:
        tensors = [x if isinstance(x, Tensor) else _constant_node(graph, x, hints, source)
                   for x in inputs]
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{op.name}: {exc} at {source}") from None
    spec = infer_spec(op, [Spec(t.shape, t.dtype) for t in tensors], attrs, source)
    return graph.add_node(op.name, tensors, attrs, spec.shape, spec.dtype, source, name=name,
                          handle=handle, exact_name=handle is not None, refs=refs)


def infer_spec(op: OpDef, specs: list[Spec], attrs: dict, source: str) -> Spec:
    """Run the shape rule; a failure names the op, the input shapes and the source line.

    Inputs of unknown rank (shape None) are tried at each rank up to `UNKNOWN_RANKS` with
    unknown dims; the output keeps what all the ranks that pass agree on (see `_at_any_rank`),
    so that every shape rule stays sound without knowing of unknown ranks.
    """
    if "strings" not in op.traits and any(s.dtype.kind == "S" for s in specs):
        raise InvalidArgumentError(f"{op.name}: string tensors are only stored, fed, fetched and "
                                   f"passed through identity, not computed with, at {source}")
    try:
        if any(s.shape is None for s in specs):
            spec = _at_any_rank(op, specs, attrs)
        else:
            spec = op.shape_rule(*specs, **attrs)
    except ShapeError as exc:
        raise ShapeError(f"{op.name}: {exc} at {source}") from None
    except TypeError as exc:
        raise InvalidArgumentError(f"{op.name}: bad arguments ({exc}) at {source}") from None
    dtype = spec.dtype if spec.dtype == dtypes.packed else dtypes.as_dtype(spec.dtype)
    return Spec(None if spec.shape is None else tuple(spec.shape), dtype)


UNKNOWN_RANKS = range(5)  # the ranks an input of unknown rank is tried at
_MOST_TRIES = 125  # beyond it, inputs of unknown rank are tried at one rank each


def _at_any_rank(op: OpDef, specs: list[Spec], attrs: dict) -> Spec:
    """The shape rule's result for inputs of which some have unknown rank: the merge of its
    results at each rank those inputs may have (dims kept where all agree; unknown rank where
    the ranks differ); the rule's error at the highest rank when it passes at none."""
    unknown = [i for i, s in enumerate(specs) if s.shape is None]
    if len(UNKNOWN_RANKS) ** len(unknown) <= _MOST_TRIES:
        choices = itertools.product(UNKNOWN_RANKS, repeat=len(unknown))
    else:  # many inputs of unknown rank (add_n): the output rank is left unknown below
        choices = ((rank,) * len(unknown) for rank in UNKNOWN_RANKS)
    results, error = [], None
    for ranks in choices:
        tried = list(specs)
        for i, rank in zip(unknown, ranks):
            tried[i] = Spec((None,) * rank, specs[i].dtype)
        try:
            results.append(op.shape_rule(*tried, **attrs))
        except (ShapeError, InvalidArgumentError) as exc:
            error = exc  # the error at the highest rank is the one to report
    if not results:
        raise error
    dtypes_found = {r.dtype for r in results}
    if len(dtypes_found) > 1:
        raise ShapeError("the output dtype depends on the rank of an input of unknown rank")
    shapes = [None if r.shape is None else tuple(r.shape) for r in results]
    if len(UNKNOWN_RANKS) ** len(unknown) > _MOST_TRIES:
        shapes.append(None)
    return Spec(_merge_shapes(shapes), results[0].dtype)


def _merge_shapes(shapes: list) -> tuple | None:
    """What a shape can say of a value that has one of `shapes`: their common rank with the dims
    all agree on (None elsewhere), or None (unknown rank) when the ranks differ."""
    if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1:
        return None
    return tuple(dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes))


def _constant_node(graph: Graph, value, hints: list, source: str) -> Tensor:
    """`value` as a constant node, of the first of the op's tensor dtypes `hints` it converts to
    (as TF1 gives `where(c, x, 0.0)`'s 0.0 x's dtype), else of its own default dtype."""
    converted = (converted_dtype(value, hint) for hint in hints)
    arr = as_array(value, next((d for d in converted if d is not None), None))
    return graph.add_node("constant", [], {"value": arr}, arr.shape, dtypes.as_dtype(arr.dtype),
                          source, name="Const")


def converted_dtype(value, hint: np.dtype | None) -> np.dtype | None:
    """The dtype a non-tensor operand takes beside a tensor of dtype `hint` (None: its own)."""
    if hint is None:
        return None
    if _fits_weakly(value, hint) or np.asarray(value).dtype.kind == hint.kind:
        return hint
    return None
