"""The exception hierarchy, in TensorFlow 1's spirit, each class also a matching Python built-in."""


class StaticGraphError(Exception):
    """Base class of every error staticgraph raises on purpose."""

    def __str__(self) -> str:
        # KeyError quotes its message; keep every error readable as plain text.
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(StaticGraphError, ValueError):
    """A value, shape, dtype, feed or argument is not acceptable."""


class ShapeError(InvalidArgumentError):
    """An op was built on inputs whose shapes or dtypes its shape rule refuses."""


class FailedPreconditionError(StaticGraphError, RuntimeError):
    """The system is not in a state to run this (e.g. an uninitialised variable, a closed session)."""


class NotFoundError(StaticGraphError, KeyError):
    """A name (node, feed key, op) does not exist."""


class GraphError(StaticGraphError, ValueError):
    """A graph is malformed, or tensors of different graphs or styles were mixed."""


class UnimplementedError(StaticGraphError, NotImplementedError):
    """The operation is not supported (yet)."""


class NotDifferentiableError(StaticGraphError, LookupError):
    """A gradient was required through an op that has none."""


class NumericsError(InvalidArgumentError):
    """A value held a NaN or an Inf where `check_numerics` was asked for."""
