"""A lowered program written out as one straight-line Python function, a line per step.

`staticgraph.runtime.executor.execute` interprets a program's steps: each costs a loop turn, a
tuple unpacked and a branch on the step's kind. `StraightLine` writes the same steps as Python
source instead, with each step's kernel and buffer bound as closure variables of
`run(env, state)`, so that a run pays for the calls alone. The source depends only on the
program's kinds and slots, so it is compiled once per program and bound to each instance's
kernels and buffers. A failing kernel names its node as under the interpreter: the line that
failed tells the step.
"""
from __future__ import annotations

import operator
import re

from staticgraph.compiler.lower import (CALL1, CALL2, CALLN, OUT1, OUT2, STATE, UFUNC1, UFUNC2,
                                        Program, clear_slots)

_INDENT = " " * 12
_OPERATORS = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}
_NOT_NAME = re.compile(r"\W")  # what an op's name may hold that a Python name may not


def _line(step: tuple, k: str, buffer: str) -> tuple[str, bool, bool]:
    """A step as a line of Python calling its kernel `k` (and buffer `buffer`), and whether
    the line names them."""
    kind, fn, a, b, buf, out = step
    if kind == CALL2 and fn in _OPERATORS:  # a Python operator on scalars: no call at all
        return f"env[{out}] = env[{a}] {_OPERATORS[fn]} env[{b}]", False, False
    calls = {
        UFUNC2: f"{k}(env[{a}], env[{b}], {buffer})",
        CALL2: f"{k}(env[{a}], env[{b}])",
        UFUNC1: f"{k}(env[{a}], {buffer})",
        CALL1: f"{k}(env[{a}])",
        OUT2: f"{k}(env[{a}], env[{b}], out={buffer})",
        OUT1: f"{k}(env[{a}], out={buffer})",
    }
    if kind in calls:
        return f"env[{out}] = {calls[kind]}", True, buf is not None
    if kind == CALLN:
        return f"env[{out}] = {k}({', '.join(f'env[{i}]' for i in a)})", True, False
    if kind == STATE:  # an update in place first empties the slots that hold its array
        cleared = "".join(f"env[{i}] = None; " for i in b or ())
        args = "".join(f", env[{i}]" for i in a)
        return f"{cleared}env[{out}] = {k}(state{args})", True, False
    if fn is clear_slots:
        return "; ".join(f"env[{i}] = None" for i in a) or "pass", False, False
    return f"{k}(env, {tuple(a)!r})", True, False


class StraightLine:
    """The steps of `program`, laid out as in `template` (one instance's steps), as Python.

    `source` is the code; `bind(steps, fail, errors)` gives run(env, state) for one instance's
    steps: when a step raises one of `errors`, run calls `fail(exc, step_index, env)`.
    """

    def __init__(self, program: Program, template: list) -> None:
        lines, names, self._named = [], [], []
        for t, step in enumerate(template):
            info = program.infos.get(step[-1]) if step[-1] >= 0 else None
            k = f"{_NOT_NAME.sub('_', info.op)}_{t}" if info is not None else f"debug_{t}"
            k = k if k.isidentifier() else f"kernel_{t}"
            line, kernel, buffer = _line(step, k, f"buf_{t}")
            note = f"  # {info.name!r}" if info is not None else ""
            lines.append(f"{_INDENT}{line}{note}")
            names += [k] * kernel + [f"buf_{t}"] * buffer
            self._named.append((kernel, buffer))
        header = [f"def bind(fail, errors{''.join(', ' + n for n in names)}):",
                  "    def run(env, state):",
                  "        try:"]
        first = len(header) + 1  # the line number of step 0
        self.source = "\n".join([
            *header, *(lines or [f"{_INDENT}pass"]),
            "        except errors as exc:",
            f"            fail(exc, exc.__traceback__.tb_lineno - {first}, env)",
            "    return run"]) + "\n"
        namespace: dict = {}
        exec(compile(self.source, f"<straight-line program, {len(template)} steps>", "exec"),
             namespace)
        self._factory = namespace["bind"]

    def bind(self, steps: list, fail, errors: tuple):
        """run(env, state) running `steps`, an instance laid out as the template."""
        args = []
        for (_, fn, _, _, buf, _), (kernel, buffer) in zip(steps, self._named):
            args += [fn] * kernel + [buf] * buffer
        return self._factory(fail, errors, *args)
