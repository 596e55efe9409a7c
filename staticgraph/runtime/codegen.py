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

from staticgraph.compiler.lower import (BOUND, CALL1, CALL2, CALLN, OUT1, OUT2, STATE, UFUNC1,
                                        UFUNC2, Program, clear_slots)

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
    if kind == BOUND:
        return f"env[{out}] = {buffer}", False, True
    if kind == CALLN:
        return f"env[{out}] = {k}({', '.join(f'env[{i}]' for i in a)})", True, False
    if kind == STATE:  # an update in place first empties the slots that hold its array
        cleared = "".join(f"env[{i}] = None; " for i in b or ())
        args = "".join(f", env[{i}]" for i in a)
        return f"{cleared}env[{out}] = {k}(state{args})", True, False
    if fn is clear_slots:
        return "; ".join(f"env[{i}] = None" for i in a) or "pass", False, False
    return f"{k}(env, {tuple(a)!r})", True, False


PART_STEPS = 1000  # steps per generated function: Python compiles a function in time growing
# faster than linearly with the names it closes over, so long programs are cut into parts


class StraightLine:
    """The steps of `program`, laid out as in `template` (one instance's steps), as Python.

    `source` is the code; `bind(steps, fail, errors)` gives run(env, state) for one instance's
    steps: when a step raises one of `errors`, run calls `fail(exc, step_index, env)`. A
    program of more than `PART_STEPS` steps is written as several functions, run in turn.
    """

    def __init__(self, program: Program, template: list) -> None:
        self._named, parts, self._parts = [], [], []
        line_count = 0
        for base in range(0, max(len(template), 1), PART_STEPS):
            steps = template[base:base + PART_STEPS]
            name = "bind" if len(template) <= PART_STEPS else f"bind_{base // PART_STEPS}"
            part = self._part(program, steps, base, name, line_count)
            parts.append(part)
            line_count += part.count("\n")
            self._parts.append((name, len(steps)))
        self.source = "".join(parts)
        namespace: dict = {}
        exec(compile(self.source, f"<straight-line program, {len(template)} steps>", "exec"),
             namespace)
        self._factories = [namespace[name] for name, _ in self._parts]

    def _part(self, program: Program, template: list, base: int, name: str,
              line_count: int) -> str:
        """The source of one function running `template`, steps `base` on of the program,
        starting at line `line_count` + 1 of the source."""
        lines, names = [], []
        for t, step in enumerate(template, base):
            info = program.infos.get(step[-1]) if step[-1] >= 0 else None
            k = f"{_NOT_NAME.sub('_', info.op)}_{t}" if info is not None else f"debug_{t}"
            k = k if k.isidentifier() else f"kernel_{t}"
            line, kernel, buffer = _line(step, k, f"buf_{t}")
            note = f"  # {info.name!r}" if info is not None else ""
            lines.append(f"{_INDENT}{line}{note}")
            names += [k] * kernel + [f"buf_{t}"] * buffer
            self._named.append((kernel, buffer))
        header = [f"def {name}(fail, errors{''.join(', ' + n for n in names)}):",
                  "    def run(env, state):",
                  "        try:"]
        first = line_count + len(header) + 1 - base  # the line number of step 0
        return "\n".join([
            *header, *(lines or [f"{_INDENT}pass"]),
            "        except errors as exc:",
            f"            fail(exc, exc.__traceback__.tb_lineno - {first}, env)",
            "    return run"]) + "\n"

    def bind(self, steps: list, fail, errors: tuple):
        """run(env, state) running `steps`, an instance laid out as the template."""
        args = []
        for (_, fn, _, _, buf, _), (kernel, buffer) in zip(steps, self._named):
            args += [fn] * kernel + [buf] * buffer
        runs, start, taken = [], 0, 0
        for factory, (_, count) in zip(self._factories, self._parts):
            used = sum(k + b for k, b in self._named[start:start + count])
            runs.append(factory(fail, errors, *args[taken:taken + used]))
            start, taken = start + count, taken + used
        if len(runs) == 1:
            return runs[0]

        def run(env, state):
            for part in runs:
                part(env, state)
        return run
