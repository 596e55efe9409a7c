"""The source rewrite: a function's `ast` with `if`, `while` and `for ... in range(...)` turned
into calls of the dispatching helpers in `staticgraph.autograph.operators` (named `ag__`).

Each statement becomes small local functions (its branches, or its loop's test and body) taking
and returning the variables the statement assigns, and one call that runs them: as plain Python
when the condition is a Python value, as `sg.cond` / `sg.while_loop` when it is a tensor.
Statements whose body leaves them early (`return`, `break`, `continue`) or binds names of an
outer scope (`global`, `nonlocal`, `yield`) stay Python statements, guarded so that a tensor
condition raises an error naming the line. Calls of functions by name (`g(x)`) and of methods on
`self` / `cls` go through `ag__.converted`, which converts user functions as they are called.
"""
from __future__ import annotations

import ast
import itertools

PREFIX = "ag__"
# Names whose calls are never worth converting (builtins); keeps the converted source readable.
_PLAIN_CALLS = frozenset({
    "range", "len", "print", "isinstance", "issubclass", "super", "type", "int", "float", "bool",
    "str", "list", "tuple", "dict", "set", "min", "max", "abs", "sum", "zip", "enumerate", "map",
    "filter", "sorted", "reversed", "getattr", "setattr", "hasattr", "iter", "next", "repr",
    "round", "any", "all", "callable", "id", "format", "object", "ValueError", "TypeError",
})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_scope(nodes):
    """Every node under `nodes` that runs in their scope: nested functions, classes and
    comprehensions are not entered (their own names are not this scope's)."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, _SCOPES):
            continue
        todo.extend(ast.iter_child_nodes(node))


def assigned_names(stmts) -> list[str]:
    """The names `stmts` bind in their scope, sorted (the helpers' own names left out)."""
    names = set()
    for node in _walk_scope(stmts):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return sorted(n for n in names if not n.startswith(PREFIX))


def escape(stmts) -> tuple[str, int] | None:
    """The first statement in `stmts` that a functional form cannot express, as (keyword, line):
    `return`, `break` / `continue` of this loop, `yield`, `global`, `nonlocal`; else None."""
    todo = [(s, False) for s in reversed(stmts)]
    found = []
    while todo:
        node, in_loop = todo.pop()
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            found.append((type(node).__name__.lower().replace("yieldfrom", "yield from"), node.lineno))
        elif isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
            found.append((type(node).__name__.lower(), node.lineno))
        if isinstance(node, _SCOPES):
            continue
        inner = in_loop or isinstance(node, (ast.For, ast.While, ast.AsyncFor))
        todo.extend((c, inner) for c in ast.iter_child_nodes(node))
    return min(found, key=lambda f: f[1]) if found else None


def _ag(attr: str) -> ast.Attribute:
    return ast.Attribute(ast.Name(PREFIX, ast.Load()), attr, ast.Load())


def _call(attr: str, *args) -> ast.Call:
    return ast.Call(_ag(attr), list(args), [])


def _names_tuple(names, ctx) -> ast.Tuple:
    return ast.Tuple([ast.Name(n, ctx()) for n in names], ctx())


def _strings(names) -> ast.Tuple:
    return ast.Tuple([ast.Constant(n) for n in names], ast.Load())


def _lookups(names) -> ast.Tuple:
    """`(ag__.ld(lambda: x, 'x'), ...)`: each variable's value, or Undefined if it has none."""
    return ast.Tuple([_call("ld", ast.Lambda(_arguments([]), ast.Name(n, ast.Load())),
                            ast.Constant(n)) for n in names], ast.Load())


def _arguments(names) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _def(name: str, params, body, returns) -> ast.FunctionDef:
    body = list(body) + [ast.Return(returns)]
    return ast.FunctionDef(name=name, args=_arguments(params), body=body, decorator_list=[],
                           returns=None, type_comment=None)


class Converter(ast.NodeTransformer):
    """Rewrites one function's tree; `filename` labels each statement as `file:line`."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._ids = itertools.count(1)

    def _where(self, node) -> ast.Constant:
        return ast.Constant(f"{self.filename}:{node.lineno}")

    def _located(self, node, stmts: list) -> list:
        for stmt in stmts:
            ast.copy_location(stmt, node)
        return stmts

    def _guard(self, test, node, kind: str, reason: tuple[str, int]) -> ast.Call:
        """`ag__.python_test(test, ...)`: the value of a condition that must not be a tensor."""
        return _call("python_test", test, ast.Constant(kind), ast.Constant(reason[0]),
                     ast.Constant(f"{self.filename}:{reason[1]}"), self._where(node))

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        func = node.func
        by_name = isinstance(func, ast.Name) and func.id not in _PLAIN_CALLS \
            and not func.id.startswith(PREFIX)
        on_self = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id in ("self", "cls")
        if by_name or on_self:
            node.func = ast.copy_location(_call("converted", func), func)
        return node

    def visit_If(self, node: ast.If):
        self.generic_visit(node)
        reason = escape(node.body + node.orelse)
        if reason:
            node.test = self._guard(node.test, node, "if", reason)
            return node
        k = next(self._ids)
        names = assigned_names(node.body + node.orelse)
        both = sorted(set(assigned_names(node.body)) & set(assigned_names(node.orelse)))
        true_fn, false_fn = f"{PREFIX}if_true_{k}", f"{PREFIX}if_false_{k}"
        result = _names_tuple(names, ast.Load)
        call = _call("if_stmt", node.test, ast.Name(true_fn, ast.Load()),
                     ast.Name(false_fn, ast.Load()), _lookups(names), _strings(names),
                     _strings(both), self._where(node))
        tail = ast.Assign([_names_tuple(names, ast.Store)], call) if names else ast.Expr(call)
        return self._located(node, [_def(true_fn, names, node.body, result),
                                    _def(false_fn, names, node.orelse or [ast.Pass()], result),
                                    tail])

    def visit_While(self, node: ast.While):
        self.generic_visit(node)
        reason = escape(node.body) or (("else", node.orelse[0].lineno) if node.orelse else None)
        if reason:
            node.test = self._guard(node.test, node, "while", reason)
            return node
        k = next(self._ids)
        names = assigned_names(node.body)
        test_fn, body_fn = f"{PREFIX}while_test_{k}", f"{PREFIX}while_body_{k}"
        call = _call("while_stmt", ast.Name(test_fn, ast.Load()), ast.Name(body_fn, ast.Load()),
                     _lookups(names), _strings(names), self._where(node))
        tail = ast.Assign([_names_tuple(names, ast.Store)], call) if names else ast.Expr(call)
        return self._located(node, [_def(test_fn, names, [], node.test),
                                    _def(body_fn, names, node.body, _names_tuple(names, ast.Load)),
                                    tail])

    def visit_For(self, node: ast.For):
        self.generic_visit(node)
        it = node.iter
        is_range = (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                    and it.func.id == "range" and not it.keywords and 1 <= len(it.args) <= 3
                    and not any(isinstance(a, ast.Starred) for a in it.args))
        reason = escape(node.body) or (("else", node.orelse[0].lineno) if node.orelse else None)
        if not is_range or reason or not isinstance(node.target, ast.Name):
            why = reason or (("a target that is not one name", node.lineno)
                             if is_range else ("an iterable that is not range(...)", node.lineno))
            checks = (ast.Constant(why[0]), ast.Constant(f"{self.filename}:{why[1]}"),
                      self._where(node))
            node.iter = (_call("python_range", it.func, ast.Tuple(it.args, ast.Load()), *checks)
                         if is_range else _call("python_iter", node.iter, *checks))
            return node
        k = next(self._ids)
        index = node.target.id
        names = [index] + [n for n in assigned_names(node.body) if n != index]
        body_fn = f"{PREFIX}for_body_{k}"
        call = _call("for_range", it.func, ast.Tuple(it.args, ast.Load()),
                     ast.Name(body_fn, ast.Load()), _lookups(names), _strings(names),
                     self._where(node))
        return self._located(node, [
            _def(body_fn, names, node.body, _names_tuple(names[1:], ast.Load)),
            ast.Assign([_names_tuple(names, ast.Store)], call)])
