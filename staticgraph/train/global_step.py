"""The global step: an int64 variable counting training steps, found by name as in TF1."""
from __future__ import annotations

import numpy as np

from staticgraph.errors import InvalidArgumentError, NotFoundError
from staticgraph.graph import Graph, get_default_graph
from staticgraph.ops.state import Variable

GLOBAL_STEP = "global_step"


def get_global_step(graph: Graph | None = None) -> Variable | None:
    """The graph's global step variable: the one in the "global_step" collection, else an
    integer 0-d variable named "global_step"; None if there is none (TF1).

    Raises:
        InvalidArgumentError: several variables in the "global_step" collection, or a node named
            "global_step" that is not a 0-d integer variable.
    """
    graph = graph or get_default_graph()
    steps = graph.get_collection(GLOBAL_STEP)
    if len(steps) > 1:
        raise InvalidArgumentError(f"Multiple tensors in the {GLOBAL_STEP!r} collection: "
                                   f"{[s.name for s in steps]}")
    if steps:
        return steps[0]
    try:
        step = graph.tensor(GLOBAL_STEP)
    except NotFoundError:
        return None
    if not isinstance(step, Variable) or step.shape != () or step.dtype.kind not in "iu":
        raise InvalidArgumentError(f"Existing {GLOBAL_STEP!r} must be a 0-d integer Variable, "
                                   f"got {step!r}")
    return step


def create_global_step(graph: Graph | None = None) -> Variable:
    """A new global step: int64 0, not trainable, named "global_step" at the root scope.

    Raises:
        InvalidArgumentError: the graph has one already.
    """
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise InvalidArgumentError(f'"{GLOBAL_STEP}" already exists.')
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope("/"):
        step = Variable(np.int64(0), name=GLOBAL_STEP, trainable=False)
    graph.add_to_collection(GLOBAL_STEP, step)
    return step


def get_or_create_global_step(graph: Graph | None = None) -> Variable:
    """The graph's global step, created (int64 0) if it has none.

    Example:
        >>> import staticgraph as sg
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     step = sg.train.get_or_create_global_step()
        ...     step is sg.train.get_global_step()
        True
    """
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step
