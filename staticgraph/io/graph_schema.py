"""What a graph file may say about a node, derived from its op's kernel and shape rule signatures.

No second table of ops: an op's inputs and attributes are what its kernel accepts and its shape
rule agrees with. A numpy ufunc kernel takes exactly `nin` inputs and no attributes (its keywords,
such as `out=` and `where=`, are numpy's own). A Python kernel takes its positional parameters
(after the run's state, for stateful ops) as inputs and its keyword-only parameters without a
default as attributes; keyword parameters with a default (`out=`, `in_place=`) are the executor's,
never a file's.
"""
from __future__ import annotations

import functools
import inspect
from typing import NamedTuple

import numpy as np

from staticgraph.errors import InvalidArgumentError
from staticgraph.ops.registry import OpDef

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Schema(NamedTuple):
    """The inputs and attributes a node of one op may have."""
    min_inputs: int
    max_inputs: int | None  # None: any number
    attrs: frozenset        # exactly these, every one required


class _Params(NamedTuple):
    """One signature's view: an input count range, its attributes, and whether it takes **kwargs."""
    min_inputs: int
    max_inputs: int | None
    attrs: frozenset
    any_keyword: bool


def _params(fn, skip_first: bool) -> _Params:
    if isinstance(fn, np.ufunc):
        return _Params(fn.nin, fn.nin, frozenset(), False)
    params = list(inspect.signature(fn).parameters.values())[1 if skip_first else 0:]
    positional = [p for p in params if p.kind in _POSITIONAL]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return _Params(sum(p.default is inspect.Parameter.empty for p in positional),
                   None if variadic else len(positional),
                   frozenset(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
                             and p.default is inspect.Parameter.empty),
                   any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params))


def _upper(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@functools.lru_cache(maxsize=None)
def op_schema(op: OpDef) -> Schema:
    """The schema of `op`: the input counts both its kernel and its shape rule accept, and the
    attributes its kernel requires (which its shape rule must accept too).

    Raises:
        InvalidArgumentError when the two signatures disagree or cannot be read.
    Example:
        >>> from staticgraph.ops.registry import get_op
        >>> op_schema(get_op("maximum"))
        Schema(min_inputs=2, max_inputs=2, attrs=frozenset())
    """
    try:
        kernel = _params(op.kernel, skip_first="stateful" in op.traits)
        rule = _params(op.shape_rule, skip_first=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"op {op.name!r}: cannot read its signatures ({exc})") from None
    if kernel.any_keyword:
        raise InvalidArgumentError(f"op {op.name!r}: its kernel takes **kwargs, so its attributes "
                                   "cannot be known")
    low, high = max(kernel.min_inputs, rule.min_inputs), _upper(kernel.max_inputs, rule.max_inputs)
    if high is not None and low > high or not (rule.any_keyword or kernel.attrs <= rule.attrs):
        raise InvalidArgumentError(f"op {op.name!r}: its kernel and shape rule disagree on its "
                                   "inputs or attributes")
    return Schema(low, high, kernel.attrs)


def check_schema(op: OpDef, node: str, n_inputs: int, attrs) -> None:
    """Refuse a node of `op` with another number of inputs or other attributes than its schema's."""
    schema = op_schema(op)
    if n_inputs < schema.min_inputs or schema.max_inputs is not None and n_inputs > schema.max_inputs:
        wanted = (f"{schema.min_inputs}" if schema.min_inputs == schema.max_inputs else
                  f"at least {schema.min_inputs}" if schema.max_inputs is None else
                  f"{schema.min_inputs} to {schema.max_inputs}")
        raise InvalidArgumentError(f"node {node!r}: {op.name} takes {wanted} inputs, the file "
                                   f"gives {n_inputs}")
    unknown, missing = sorted(set(attrs) - schema.attrs), sorted(schema.attrs - set(attrs))
    if unknown or missing:
        raise InvalidArgumentError(
            f"node {node!r}: {op.name} takes the attributes {sorted(schema.attrs)}; the file "
            + (f"adds {unknown}" if unknown else "") + (" and " if unknown and missing else "")
            + (f"lacks {missing}" if missing else ""))
