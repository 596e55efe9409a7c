"""The helpers converted code calls (as `ag__.*`): each decides at trace time, on the value of a
condition or range bound, whether a statement stays plain Python or becomes a graph op.

A static Tensor condition gives `sg.cond` / `sg.while_loop`; anything else (Python values, numpy
values, eager tensors) runs the statement as Python would.
"""
from __future__ import annotations

import builtins
import types

from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.control import cond
from staticgraph.ops.loops import while_loop
from staticgraph.nest import flatten, unflatten


class Undefined:
    """The value of a variable that has none at this point; any use raises its explanation."""
    __slots__ = ("name", "why")

    def __init__(self, name: str, why: str | None = None) -> None:
        self.name = name
        self.why = why or f"{name!r} is used before it is assigned"

    def fail(self, *_, **__):
        raise InvalidArgumentError(self.why)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self.fail()

    __bool__ = __len__ = __iter__ = __array__ = __index__ = __float__ = __int__ = __call__ = fail
    __getitem__ = __neg__ = __abs__ = __lt__ = __le__ = __gt__ = __ge__ = fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = fail
    __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __rpow__ = __floordiv__ = fail

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"


def ld(getter, name: str):
    """The variable `getter` reads, or `Undefined(name)` where it has no value yet."""
    try:
        return getter()
    except NameError:
        return Undefined(name)


def converted(fn):
    """`fn` converted if it is a user function (see `staticgraph.autograph.convert`), else `fn`."""
    from staticgraph.autograph.conversion import convert
    return convert(fn) if isinstance(fn, (types.FunctionType, types.MethodType)) else fn


# ----- statements that stay Python ---------------------------------------------------------
def _unconvertible(kind: str, where: str, reason: str, reason_where: str) -> UnimplementedError:
    return UnimplementedError(
        f"the {kind} at {where} depends on a tensor, but its body uses `{reason}` "
        f"({reason_where}), which this conversion keeps as Python: restructure it so that each "
        f"branch or iteration assigns variables and the statement ends normally (return after "
        f"it, and fold a break into the loop's condition)")


def python_test(test, kind: str, reason: str, reason_where: str, where: str):
    """The condition of an `if` / `while` that must stay Python; a static tensor is an error."""
    if isinstance(test, Tensor):
        raise _unconvertible(kind, where, reason, reason_where)
    return test


def python_range(range_fn, args: tuple, reason: str, reason_where: str, where: str):
    """`range_fn(*args)` for a `for` loop that must stay Python; a static tensor bound is an error."""
    if any(isinstance(a, Tensor) for a in args):
        raise _unconvertible("for loop", where, reason, reason_where)
    return range_fn(*args)


def python_iter(iterable, reason: str, reason_where: str, where: str):
    """The iterable of a `for` loop kept as Python; a static tensor is an error."""
    if isinstance(iterable, Tensor):
        raise UnimplementedError(
            f"the for loop at {where} iterates over tensor {iterable.name!r}: only `for i in "
            f"range(n)` with a tensor n becomes a graph loop; index the tensor in such a loop")
    return iterable


# ----- if --------------------------------------------------------------------------------
def _as_output(value, name: str, where: str, dtype=None):
    """`value` as what a graph op can carry: tensors (nested lists/tuples of them) and numbers."""
    leaves = flatten(value)
    for leaf in leaves:
        if isinstance(leaf, Undefined):
            raise InvalidArgumentError(f"{leaf.why} (in the statement at {where}, whose condition "
                                       f"is a tensor)")
        if not isinstance(leaf, (Tensor, bool, int, float)) and not hasattr(leaf, "dtype"):
            raise InvalidArgumentError(
                f"{name!r} holds a {type(leaf).__name__} after the statement at {where}, whose "
                f"condition is a tensor: a graph branch or loop can only carry tensors and numbers")
    return unflatten(value, [t if isinstance(t, Tensor) else C.constant(t, dtype=dtype)
                             for t in leaves])


def if_stmt(test, true_fn, false_fn, init: tuple, names: tuple, both: tuple, where: str):
    """Run an `if`: Python on a Python or eager condition, `sg.cond` on a static tensor.

    With a tensor condition the outputs are the variables either branch assigns; one that has no
    value before the `if` and is assigned in only one branch is left undefined after it (using
    it raises, naming the `if`), as AutoGraph does.
    """
    if not isinstance(test, Tensor):
        return (true_fn if test else false_fn)(*init)
    keep = [k for k, n in enumerate(names) if n in both or not isinstance(init[k], Undefined)]

    def branch(fn):
        def build():
            out = fn(*init)
            return tuple(_as_output(out[k], names[k], where) for k in keep)
        return build
    outs = cond(test, branch(true_fn), branch(false_fn))
    result = [Undefined(n, f"{n!r} is assigned in only one branch of the if at {where}, whose "
                           f"condition is a tensor: assign it in both branches or before the if")
              for n in names]
    for k, value in zip(keep, outs):
        result[k] = value
    return tuple(result)


# ----- loops ------------------------------------------------------------------------------
def _decide(test_fn, values):
    """Evaluate a loop's test once; a static tensor test's nodes are removed again (the loop
    builds its own), so only the decision is kept."""
    graph = get_default_graph()
    before = set(graph.nx)
    test = test_fn(*values)
    if isinstance(test, Tensor):
        graph.remove_nodes([n for n in list(graph.nx) if n not in before])
    return test


def while_stmt(test_fn, body_fn, init: tuple, names: tuple, where: str):
    """Run a `while`: Python while its test is a Python or eager value, `sg.while_loop` from the
    first test that is a static tensor on."""
    values = tuple(init)
    while True:
        test = _decide(test_fn, values)
        if isinstance(test, Tensor):
            return _graph_loop(test_fn, body_fn, values, names, where, "while loop")
        if not test:
            return values
        values = tuple(body_fn(*values))


def for_range(range_fn, args: tuple, body_fn, init: tuple, names: tuple, where: str):
    """Run `for i in range(*args)`: Python on Python bounds, `sg.while_loop` over a counter when
    a bound is a static tensor (the step must then be a Python int). Returns the index, then the
    variables the body assigns."""
    if range_fn is not builtins.range or not any(isinstance(a, Tensor) for a in args):
        index, values = init[0], tuple(init[1:])
        for index in range_fn(*args):
            values = tuple(body_fn(index, *values))
        return (index,) + values
    start, stop, step = (0, args[0], 1) if len(args) == 1 else tuple(args) + (1,) * (3 - len(args))
    if isinstance(step, Tensor) or not isinstance(step, int) or step == 0:
        raise UnimplementedError(f"the for loop at {where} has a tensor bound and the step "
                                 f"{step!r}: the step of a graph range loop must be a nonzero "
                                 f"Python int")
    dtype = next(a.dtype for a in args if isinstance(a, Tensor))
    start = start if isinstance(start, Tensor) else C.constant(start, dtype=dtype)

    def test(i, *_):
        return i < stop if step > 0 else i > stop

    def body(i, *values):
        return (i + step,) + tuple(body_fn(i, *values))
    index = f"the index of the for loop at {where}"
    out = _graph_loop(test, body, (start,) + tuple(init[1:]), (index,) + tuple(names[1:]),
                      where, "for loop")
    return (Undefined(names[0], f"{names[0]!r}, the index of the for loop at {where} over a "
                                f"tensor range, has no value after the loop"),) + out[1:]


def _graph_loop(test_fn, body_fn, values: tuple, names: tuple, where: str, kind: str) -> tuple:
    """`sg.while_loop` over the variables that have values; those without one (temporaries the
    body assigns) stay undefined after the loop."""
    keep = [k for k, v in enumerate(values) if not isinstance(v, Undefined)]
    if not keep:
        raise InvalidArgumentError(f"the {kind} at {where} has a tensor condition but changes no "
                                   f"variable that exists before it, so it would never stop")
    loop_vars = [_as_output(values[k], names[k], where) for k in keep]

    def full(parts):
        merged = list(values)
        for k, v in zip(keep, parts):
            merged[k] = v
        return merged

    def body(*parts):
        out = body_fn(*full(parts))
        return [_as_output(out[k], names[k], where, getattr(parts[j], "dtype", None))
                for j, k in enumerate(keep)]
    try:
        finals = while_loop(lambda *parts: test_fn(*full(parts)), body, loop_vars,
                            return_same_structure=True)
    except InvalidArgumentError as exc:
        raise type(exc)(f"in the {kind} at {where} (loop variables "
                        f"{', '.join(names[k] for k in keep)}): {exc}") from exc
    result = [Undefined(n, f"{n!r} is assigned only inside the {kind} at {where}, whose "
                           f"condition is a tensor: give it a value before the loop to use it "
                           f"after") for n in names]
    for k, value in zip(keep, finals):
        result[k] = value
    return tuple(result)
