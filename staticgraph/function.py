"""Tracing: `sg.function(f)` turns a Python function in the implicit style into a static graph.

The function is called once per input signature with placeholders in place of its array
arguments; the ops it applies build a graph instead of running, and later calls with the same
shapes and dtypes just run that graph in a Session. Before its first trace the function is
converted by AutoGraph (`staticgraph.autograph`): Python `if`, `while` and `for i in range(n)` on
a traced value become `sg.cond` / `sg.while_loop`; with `autograph=False` such code raises the
static Tensor's TypeError instead, and the decision must be written with those ops by hand.
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, NamedTuple, Sequence

import numpy as np

from staticgraph import autograph, dtypes
from staticgraph.autograph.operators import Undefined
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, Tensor
from staticgraph.ops.create import placeholder
from staticgraph.ops.state import global_variables_initializer
from staticgraph.nest import flatten, unflatten
from staticgraph.runtime.session import Session


class Trace(NamedTuple):
    """One traced signature: its graph, the placeholders in argument order, and the outputs
    (the function's return structure, static Tensors at its leaves)."""
    graph: Graph
    placeholders: list
    outputs: object
    session: Session


def _is_array(value) -> bool:
    """Array arguments become placeholders: numpy arrays and scalars, and eager tensors."""
    return (isinstance(value, (np.ndarray, np.generic))
            or getattr(type(value), "style", None) == "eager")


def _spec(value, shapes: bool = True):
    """A hashable description of an argument: shape and dtype for arrays (unless `shapes` is
    False, when an input signature fixes them), the value itself otherwise."""
    if isinstance(value, Tensor):
        raise InvalidArgumentError(
            f"sg.function arguments must be numpy arrays, eager tensors or Python values, not the "
            f"static tensor {value.name!r}: a traced function builds its own graph")
    if _is_array(value):
        arr = np.asarray(value)
        return ("array", arr.shape, dtypes.as_dtype(arr.dtype).str) if shapes else ("array",)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_spec(v, shapes) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _spec(v, shapes)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        raise InvalidArgumentError(f"sg.function: argument {value!r} is neither an array nor a "
                                   "hashable Python value, so it cannot key a trace") from None
    return ("value", value)


def _substitute(value, name: str, placeholders: list, specs: list):
    """`value` with each array leaf replaced by a new placeholder named after its parameter."""
    if _is_array(value):
        shape, dtype = specs.pop(0) if specs else (np.shape(value), np.asarray(value).dtype)
        placeholders.append(placeholder(dtype, shape, name=name))
        return placeholders[-1]
    if isinstance(value, (list, tuple)):
        items = [_substitute(v, name, placeholders, specs) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: _substitute(v, name, placeholders, specs) for k, v in value.items()}
    return value


def _array_leaves(value) -> list:
    return [np.asarray(v) for v in flatten(value) if _is_array(v)]


class Function:
    """A Python function traced into static graphs, one per input signature (see `function`)."""

    def __init__(self, fn: Callable, input_signature: Sequence | None = None,
                 autograph: bool = True) -> None:
        functools.update_wrapper(self, fn)
        self.python_function = fn
        self.autograph = autograph
        self.input_signature = None if input_signature is None else [
            (tuple(shape), dtypes.as_dtype(dtype)) for shape, dtype in input_signature]
        self._signature = inspect.signature(fn)
        self._traces: dict = {}

    def __call__(self, *args, **kwargs):
        """Run the graph traced for these arguments' shapes and dtypes (tracing it if new).

        Returns the function's return structure with numpy values at its leaves.
        """
        bound = self._bind(args, kwargs)
        trace = self._trace_for(bound)
        feeds = dict(zip(trace.placeholders, _array_leaves(bound.arguments)))
        leaves = flatten(trace.outputs)
        tensors = [t for t in leaves if isinstance(t, Tensor)]
        fetched = iter(trace.session.run(tensors, feeds) if tensors else [])
        return unflatten(trace.outputs, [next(fetched) if isinstance(t, Tensor) else t
                                         for t in leaves])

    def graph_for(self, *args, **kwargs) -> Graph:
        """The static graph traced for these arguments (tracing it if new)."""
        return self.trace_for(*args, **kwargs).graph

    def trace_for(self, *args, **kwargs) -> Trace:
        """The `Trace` (graph, placeholders, outputs, session) for these arguments."""
        return self._trace_for(self._bind(args, kwargs))

    @property
    def traces(self) -> list[Trace]:
        """Every trace made so far, oldest first."""
        return list(self._traces.values())

    def _bind(self, args, kwargs) -> inspect.BoundArguments:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.__name__}(): {exc}") from None
        bound.apply_defaults()
        return bound

    def _trace_for(self, bound: inspect.BoundArguments) -> Trace:
        key = _spec(tuple(bound.arguments.values()), shapes=self.input_signature is None)
        if key not in self._traces:
            self._traces[key] = self._trace(bound)
        return self._traces[key]

    def _trace(self, bound: inspect.BoundArguments) -> Trace:
        """Call the Python function once on placeholders, building a new graph."""
        graph = Graph()
        placeholders: list = []
        specs = list(self.input_signature or [])
        if specs and len(specs) != len(_array_leaves(bound.arguments)):
            raise InvalidArgumentError(
                f"{self.__name__}: input_signature has {len(specs)} entries but the call has "
                f"{len(_array_leaves(bound.arguments))} array arguments")
        with graph.as_default():
            arguments = {name: _substitute(value, name, placeholders, specs)
                         for name, value in bound.arguments.items()}
            symbolic = inspect.BoundArguments(self._signature, arguments)
            fn = autograph.convert(self.python_function) if self.autograph else self.python_function
            outputs = fn(*symbolic.args, **symbolic.kwargs)
        for leaf in flatten(outputs):
            if isinstance(leaf, Undefined):
                leaf.fail()
        session = Session(graph)
        if graph.get_collection("variables"):
            session.run(global_variables_initializer(graph))
        return Trace(graph, placeholders, outputs, session)

    def __repr__(self) -> str:
        return f"<sg.function {self.__name__} with {len(self._traces)} trace(s)>"


def function(fn: Callable | None = None, *, input_signature: Sequence | None = None,
             autograph: bool = True):
    """Trace `fn`, written in the implicit style, into a static graph; use as `@sg.function`.

    Each new signature of array arguments (shapes and dtypes) traces `fn` once: it is called
    with a placeholder per numpy array or eager tensor argument, so its ops build a graph. Other
    arguments (Python numbers, strings, None) are passed as they are and baked into the trace,
    which is keyed by their values. Later calls feed the arrays and run the graph in a Session.
    Results are numpy values, with no eager history: to differentiate, call `sg.gradients`
    inside the function (it then lands in the traced graph).

    With `autograph` (the default) `fn` is first converted as TensorFlow 2's AutoGraph does (see
    `staticgraph.autograph`, and `sg.autograph.to_code(fn)` for the result): `if`, `while` and
    `for i in range(n)` whose condition or bound is a traced tensor become `sg.cond` /
    `sg.while_loop` in the graph, and stay Python on Python values; the user functions it calls
    are converted too.

    Args:
        fn: the function; it returns a tensor, or a list / tuple / dict of them.
        input_signature: optionally, `(shape, dtype)` per array argument (None dims allowed):
            one trace then serves every call whose arrays fit it.
        autograph: False traces `fn` as written: Python control flow on a traced value then
            raises TypeError.
    Returns:
        A `Function`: calling it returns numpy values in `fn`'s return structure;
        `.graph_for(*args)` gives the traced `Graph`.
    Raises:
        UnimplementedError, InvalidArgumentError: while tracing, on control flow AutoGraph
            cannot convert, naming its `file:line` (see `staticgraph.autograph`).
        TypeError: while tracing with `autograph=False`, on Python `if` / `while` over a traced
            value: use `sg.cond` and `sg.while_loop`, which put the decision in the graph.
    Example:
        >>> import numpy as np, staticgraph as sg
        >>> @sg.function
        ... def f(x):
        ...     y = 2 * sg.dot(x, x)
        ...     return y, sg.gradients(y, x)[0]
        >>> y, dx = f(np.arange(4.0))
        >>> float(y), dx.tolist()
        (28.0, [0.0, 4.0, 8.0, 12.0])
    """
    if fn is None:
        return lambda f: Function(f, input_signature, autograph)
    return Function(fn, input_signature, autograph)
