"""Converting a function: read its source, rewrite it (`transform.Converter`), compile it with the
original file name and line numbers, and bind it to the original globals and closure cells.

Each function is converted once (cached); user functions it calls are converted when they are
first called. Library code (staticgraph itself, the standard library, installed packages) and
functions without source (builtins, lambdas, code typed at a prompt) run as written.
"""
from __future__ import annotations

import ast
import inspect
import os
import sysconfig
import textwrap
import types
import weakref

from staticgraph.autograph import operators
from staticgraph.autograph.transform import PREFIX, Converter
from staticgraph.errors import InvalidArgumentError

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# The bundled demos and comparison workloads are written as user code.
_USER_DIRS = tuple(os.path.join(_PACKAGE_DIR, name) + os.sep for name in ("demos", "compare"))
_LIBRARY_DIRS = tuple({os.path.abspath(sysconfig.get_paths()[key]) + os.sep
                       for key in ("stdlib", "platstdlib", "purelib", "platlib")})
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_NOT_CONVERTED = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def is_user_code(fn: types.FunctionType) -> bool:
    """True for functions defined in a file outside staticgraph, the standard library and
    installed packages (the bundled demos and comparison workloads count as user code)."""
    filename = fn.__code__.co_filename
    if filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE_DIR):
        return path.startswith(_USER_DIRS)
    return not path.startswith(_LIBRARY_DIRS)


def convert(fn):
    """`fn` with its `if`, `while` and `for ... in range(...)` statements rewritten to decide at
    trace time between Python and `sg.cond` / `sg.while_loop` (see `staticgraph.autograph`).

    A bound method is converted as its function, bound to the same object. Returns `fn` itself
    when it is not converted: library code (see `is_user_code`), not a Python function, a
    lambda, a generator or coroutine, or without source. Converting twice gives the same function.
    """
    fn = getattr(fn, "python_function", fn)  # an sg.function: its Python function
    if isinstance(fn, types.MethodType):
        function = convert(fn.__func__)
        return fn if function is fn.__func__ else types.MethodType(function, fn.__self__)
    if not isinstance(fn, types.FunctionType) or hasattr(fn, "__ag_source__") \
            or not is_user_code(fn):
        return fn
    if fn not in _CACHE:
        _CACHE[fn] = _convert(fn)
    return _CACHE[fn]


def to_code(fn) -> str:
    """The converted source of `fn` (a function or an `sg.function`), as Python text.

    Raises:
        InvalidArgumentError: `fn` cannot be converted (see `convert`).
    Example:
        >>> import staticgraph as sg
        >>> def f(x):
        ...     if x > 0:
        ...         x = x * 2
        ...     return x
        >>> print(sg.autograph.to_code(f))  # doctest: +SKIP
    """
    source = getattr(convert(fn), "__ag_source__", None)
    if source is None:
        raise InvalidArgumentError(f"cannot convert {fn!r}: only Python functions with source "
                                   f"(not lambdas, generators or builtins) are converted")
    return source


def _tree(fn: types.FunctionType) -> ast.FunctionDef | None:
    """`fn`'s definition as an ast, at its lines in its file; None without usable source."""
    if fn.__name__ == "<lambda>" or fn.__code__.co_flags & _NOT_CONVERTED:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        module = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    definition = module.body[0] if module.body else None
    if not isinstance(definition, ast.FunctionDef) or definition.name != fn.__name__:
        return None
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    definition.decorator_list = []
    return definition


def _convert(fn: types.FunctionType):
    definition = _tree(fn)
    if definition is None:
        return fn
    filename = fn.__code__.co_filename
    definition = Converter(os.path.basename(filename)).visit(definition)
    freevars = fn.__code__.co_freevars
    factory = ast.FunctionDef(
        name=f"{PREFIX}factory",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in (PREFIX,) + freevars],
                           vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[definition, ast.Return(ast.Name(fn.__name__, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    module = ast.fix_missing_locations(ast.Module([ast.copy_location(factory, definition)], []))
    namespace: dict = {}
    exec(compile(module, filename, "exec"), fn.__globals__, namespace)
    inner = namespace[f"{PREFIX}factory"](operators, *([None] * len(freevars)))
    # The user's own closure cells, so that the converted function sees later assignments too.
    cells = dict(zip(freevars, fn.__closure__ or ()))
    own = dict(zip(inner.__code__.co_freevars, inner.__closure__ or ()))
    closure = tuple(cells.get(name, own[name]) for name in inner.__code__.co_freevars)
    result = types.FunctionType(inner.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                closure or None)
    result.__kwdefaults__ = fn.__kwdefaults__
    result.__qualname__, result.__doc__, result.__module__ = fn.__qualname__, fn.__doc__, fn.__module__
    result.__ag_source__ = ast.unparse(definition)
    return result
