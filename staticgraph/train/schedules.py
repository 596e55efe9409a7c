"""Learning-rate schedules computed in the graph from the global step (TF1's learning_rate_decay)."""
from __future__ import annotations

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor
from staticgraph.ops import create
from staticgraph.ops import math as M
from staticgraph.sourceinfo import user_source


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase: bool = False,
                      name: str | None = None) -> Tensor:
    """learning_rate * decay_rate ** (global_step / decay_steps), a 0-d tensor of learning_rate's
    dtype; with `staircase` the exponent is rounded down to an integer (decay every decay_steps).

    Args:
        learning_rate: a number or 0-d float tensor.
        global_step: a 0-d integer tensor or variable (e.g. `sg.train.get_or_create_global_step()`).
        decay_steps, decay_rate: numbers or 0-d tensors, cast to learning_rate's dtype.
    Raises:
        InvalidArgumentError: global_step is None (TF1's ValueError).
    Example:
        >>> import staticgraph as sg
        >>> step = sg.Variable(sg.constant(20, sg.int64), trainable=False)
        >>> lr = sg.train.exponential_decay(sg.constant(0.1, sg.float64), step, 10, 0.5)
        >>> with sg.Session() as sess:
        ...     _ = sess.run(sg.global_variables_initializer())
        ...     round(float(sess.run(lr)), 6)
        0.025
    """
    if global_step is None:
        raise InvalidArgumentError(f"global_step is required for exponential_decay at {user_source()}")
    graph = global_step.graph
    with graph.as_default(), graph.name_scope(name or "ExponentialDecay"):
        if not isinstance(learning_rate, Tensor):
            learning_rate = create.constant(learning_rate, name="learning_rate")
        dtype = learning_rate.dtype
        exponent = M.cast(global_step, dtype) / _as(decay_steps, dtype)
        if staircase:
            # floor(step / decay_steps) for a step >= 0: truncation towards zero is the floor.
            exponent = M.cast(M.cast(exponent, dtypes.int64), dtype)
        return M.multiply(learning_rate, M.power(_as(decay_rate, dtype), exponent), name="decayed")


def _as(value, dtype) -> Tensor:
    return M.cast(value, dtype) if isinstance(value, Tensor) else create.constant(value, dtype)
