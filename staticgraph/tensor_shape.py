"""TF1's `TensorShape` and `Dimension`: a static shape that is also a plain tuple.

`Tensor.shape` and `Tensor.get_shape()` return a `TensorShape`, a tuple of ints (None for a dim
known only at run time) that compares equal to the plain tuple and adds TF1's methods
(`as_list`, `ndims`, `is_compatible_with`, `merge_with`, `concatenate`, ...). Indexing or
iterating it gives `Dimension`s, ints with TF1's `.value`; an unknown dim is None (TF1's
`Dimension(None)`). `TensorShape(None)` is the shape of unknown rank: it is no tuple of any
length, so it refuses `len`, iteration and `as_list` as TF1 does.
"""
from __future__ import annotations

import operator


class Dimension(int):
    """One known dim: an int with TF1's `.value`. `Dimension(None)` is None (an unknown dim)."""

    def __new__(cls, value):
        if value is None or isinstance(value, Dimension):
            return value
        index = operator.index(value)
        if index < 0:
            raise ValueError(f"Dimension {index} must be >= 0")
        return super().__new__(cls, index)

    @property
    def value(self) -> int:
        return int(self)

    def is_compatible_with(self, other) -> bool:
        """True when `other` is None (unknown) or equals this dim."""
        return other is None or dimension_value(other) == int(self)

    def __repr__(self) -> str:
        return int.__repr__(self)


def dimension_value(dim):
    """TF1's `tf.dimension_value`: the int (or None) a `Dimension`, int or None stands for."""
    value = getattr(dim, "value", dim)
    return None if value is None else operator.index(value)


def _checked(dim) -> int | None:
    """A dim given by a user (an int, a Dimension or None) as the graph stores it; a negative
    one is a ValueError, a float a TypeError (as TF1)."""
    value = dimension_value(dim)
    return None if value is None else int(Dimension(value))


def _dims_compatible(a, b) -> bool:
    return a is None or b is None or a == b


class TensorShape(tuple):
    """A static shape: a tuple of ints and None, or `TensorShape(None)` for an unknown rank.

    Example:
        >>> import staticgraph as tf
        >>> s = tf.TensorShape([None, 784])
        >>> s == (None, 784), s.ndims, s.as_list(), s[1].value, s[0]
        (True, 2, [None, 784], 784, None)
        >>> s.merge_with([32, None]).as_list(), s.is_fully_defined()
        ([32, 784], False)
        >>> tf.TensorShape(None).ndims is None
        True
    """

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None:
            return tuple.__new__(_UnknownRank)
        if isinstance(dims, _UnknownRank):
            return dims
        try:
            items = list(dims)
        except TypeError:  # TF1: a single dim stands for a shape of rank 1
            items = [dims]
        return tuple.__new__(TensorShape, [_checked(d) for d in items])

    @classmethod
    def of(cls, shape: tuple | None) -> "TensorShape":
        """The TensorShape of a shape the graph stores (a tuple, or None), unchecked."""
        return tuple.__new__(_UnknownRank) if shape is None else tuple.__new__(cls, shape)

    def __reduce__(self):
        return TensorShape, (self.as_list(),)

    # ----- as a tuple, with TF1's Dimensions ------------------------------------------------
    def __getitem__(self, key):
        if isinstance(key, slice):
            return TensorShape(tuple.__getitem__(self, key))
        return Dimension(tuple.__getitem__(self, key))

    def __iter__(self):
        return (Dimension(d) for d in tuple.__iter__(self))

    def __add__(self, other):
        return self.concatenate(other)

    def __radd__(self, other):
        return as_shape(other).concatenate(self)

    # ----- TF1's methods -------------------------------------------------------------------
    @property
    def ndims(self) -> int | None:
        """The rank, or None when it is unknown."""
        return tuple.__len__(self)

    rank = ndims

    @property
    def dims(self) -> list | None:
        """The dims as a list of Dimensions (None for unknown ones), or None for an unknown rank."""
        return list(self)

    def as_list(self) -> list:
        """The dims as a list of ints and None."""
        return list(tuple.__iter__(self))

    def is_fully_defined(self) -> bool:
        """True when the rank and every dim are known."""
        return None not in self.as_list()

    def num_elements(self) -> int | None:
        """How many elements a value of this shape holds, or None when that is not known."""
        if not self.is_fully_defined():
            return None
        total = 1
        for d in tuple.__iter__(self):
            total *= d
        return total

    def is_compatible_with(self, other) -> bool:
        """True when some value could have both shapes (unknown rank and dims fit anything)."""
        other = as_shape(other)
        if other.ndims is None:
            return True
        return self.ndims == other.ndims and all(
            _dims_compatible(a, b) for a, b in zip(self.as_list(), other.as_list()))

    def assert_is_compatible_with(self, other) -> None:
        """Raise ValueError unless `is_compatible_with(other)`."""
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {as_shape(other)} are incompatible")

    def merge_with(self, other) -> "TensorShape":
        """The shape that knows what either shape knows; ValueError if they are incompatible."""
        other = as_shape(other)
        self.assert_is_compatible_with(other)
        if other.ndims is None:
            return self
        return TensorShape([a if a is not None else b
                            for a, b in zip(self.as_list(), other.as_list())])

    def concatenate(self, other) -> "TensorShape":
        """The dims of this shape followed by those of `other` (unknown rank if either is)."""
        other = as_shape(other)
        if other.ndims is None:
            return other
        return TensorShape(self.as_list() + other.as_list())

    def assert_has_rank(self, rank: int) -> None:
        """Raise ValueError unless the rank is `rank` or unknown."""
        if self.ndims not in (None, rank):
            raise ValueError(f"Shape {self} must have rank {rank}")

    def with_rank(self, rank: int) -> "TensorShape":
        """This shape, known to have rank `rank`; ValueError if it has another."""
        return self.merge_with(unknown_shape(rank))

    def with_rank_at_least(self, rank: int) -> "TensorShape":
        """This shape; ValueError if its rank is known and less than `rank`."""
        if self.ndims is not None and self.ndims < rank:
            raise ValueError(f"Shape {self} must have rank at least {rank}")
        return self

    def most_specific_compatible_shape(self, other) -> "TensorShape":
        """The most specific shape compatible with both: the dims they agree on, else None."""
        other = as_shape(other)
        if self.ndims is None or other.ndims is None or self.ndims != other.ndims:
            return TensorShape(None)
        return TensorShape([a if a == b else None for a, b in zip(self.as_list(), other.as_list())])


class _UnknownRank(TensorShape):
    """`TensorShape(None)`: a shape whose rank is unknown (no tuple of any length)."""

    __slots__ = ()

    def __len__(self):
        raise ValueError("Cannot take the length of shape with unknown rank.")

    def __iter__(self):
        raise ValueError("Cannot iterate over a shape with unknown rank.")

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self
        return None  # a dim of an unknown-rank shape is unknown

    def __eq__(self, other):
        return isinstance(other, _UnknownRank)

    def __ne__(self, other):
        return not isinstance(other, _UnknownRank)

    __hash__ = TensorShape.__hash__

    def __reduce__(self):
        return TensorShape, (None,)

    def __repr__(self) -> str:
        return "TensorShape(None)"

    def __str__(self) -> str:
        return "<unknown>"

    @property
    def ndims(self) -> None:
        return None

    rank = ndims

    @property
    def dims(self) -> None:
        return None

    def as_list(self):
        raise ValueError("as_list() is not defined on an unknown TensorShape.")

    def is_fully_defined(self) -> bool:
        return False

    def num_elements(self) -> None:
        return None

    def is_compatible_with(self, other) -> bool:
        as_shape(other)
        return True

    def merge_with(self, other) -> TensorShape:
        return as_shape(other)

    def concatenate(self, other) -> TensorShape:
        as_shape(other)
        return self


def as_shape(shape) -> TensorShape:
    """`shape` (a TensorShape, a list or tuple of ints and None, or None) as a TensorShape."""
    return shape if isinstance(shape, TensorShape) else TensorShape(shape)


def unknown_shape(rank: int | None = None) -> TensorShape:
    """TF1's `tf.TensorShape(None)`, or a shape of `rank` unknown dims."""
    return TensorShape(None) if rank is None else TensorShape([None] * rank)


def as_static(shape) -> tuple | None:
    """A shape as the graph stores it: a plain tuple of ints and None, or None (unknown rank)."""
    if shape is None or isinstance(shape, _UnknownRank):
        return None
    return tuple(dimension_value(d) for d in tuple.__iter__(as_shape(shape)))
