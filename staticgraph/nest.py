"""Nested structures (a value, or lists / tuples / dicts of them) flattened and rebuilt."""
from __future__ import annotations

from typing import Callable


def flatten(structure) -> list:
    """The leaves of a nested list / tuple / dict, depth first (dicts in insertion order)."""
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in flatten(v)]
    return [structure]


def unflatten(structure, leaves) -> object:
    """`structure` with its leaves replaced, in order, by `leaves`."""
    it = iter(leaves)
    return _rebuild(structure, lambda: next(it))


def _rebuild(structure, take: Callable):
    if isinstance(structure, dict):
        return type(structure)((k, _rebuild(v, take)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*(_rebuild(v, take) for v in structure))
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rebuild(v, take) for v in structure)
    return take()
