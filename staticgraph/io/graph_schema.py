"""What a graph file may say about a node: its op's schema (derived from the kernel's and shape
rule's signatures), and agreement with the variables and packed values it names.

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
from staticgraph.graph import Graph
from staticgraph.ops.registry import OpDef, Spec

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


def same_shape(inferred: tuple, stored: tuple) -> bool:
    """Equal dim by dim, and each a true int or None (a rule passing on a file's 2.0 or True
    as a dim does not match a stored 2 or 1)."""
    def key(d):
        return d if d is None else int(d) if isinstance(d, (int, np.integer)) and \
            not isinstance(d, (bool, np.bool_)) else repr(d)
    if inferred is None or stored is None:  # an unknown rank
        return inferred is None and stored is None
    return len(inferred) == len(stored) and all(key(a) == key(b) for a, b in zip(inferred, stored))


def check_variable_reference(graph: Graph, name: str) -> None:
    """A node naming a variable (its own node, a read, an assign) agrees with that variable."""
    node = graph.node(name)
    var, op_name = node["attrs"]["var"], node["op"]
    _expect(isinstance(var, str), f"node {name!r}: 'var' must be a variable's name")
    owner = graph
    while owner is not None and var not in owner:
        owner = owner.outer
    target = owner.node(var) if owner is not None else None
    _expect(target is not None and target["op"] == "variable" and target["attrs"]["var"] == var,
            f"node {name!r}: {op_name} names {var!r}, which is not a variable")
    shape, dtype = node["attrs"].get("shape"), node["attrs"].get("dtype")
    _expect(isinstance(shape, (list, tuple)) and same_shape(shape, target["shape"]) and
            dtype == target["dtype"],
            f"node {name!r}: {op_name} says variable {var!r} is {dtype}{shape}, but it is "
            f"{target['dtype'].name}{target['shape']}")


def check_packed_read(graph: Graph, name: str) -> None:
    """A node taking element `index` of a packed value (a cond's or while_loop's outputs) says
    the shape and dtype its producer's `out_specs` give that element."""
    node, inputs = graph.node(name), graph.inputs(name)
    producer = graph.node(inputs[0]) if inputs else None
    if producer is None or "out_specs" not in producer["attrs"] or \
            not {"index", "shape", "dtype"} <= set(node["attrs"]):
        return
    index, specs = node["attrs"]["index"], producer["attrs"]["out_specs"]
    _expect(isinstance(specs, tuple) and isinstance(index, int) and not isinstance(index, bool)
            and 0 <= index < len(specs) and isinstance(specs[index], Spec),
            f"node {name!r}: element {index!r} of {inputs[0]!r} does not exist")
    _expect(same_shape(node["attrs"]["shape"], specs[index].shape) and
            node["attrs"]["dtype"] == specs[index].dtype,
            f"node {name!r}: element {index} of {inputs[0]!r} is {specs[index].dtype.name}"
            f"{tuple(specs[index].shape)}, not {node['attrs']['dtype']}{tuple(node['attrs']['shape'])}")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidArgumentError(message)
