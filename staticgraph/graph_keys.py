"""TF1's `tf.GraphKeys` (the standard collection names) and the default graph's collections:
`tf.get_collection`, `tf.add_to_collection`, `tf.add_to_collections`.

The keys equal the names staticgraph itself files things under: `Variable` adds itself to
"variables" and, when trainable, "trainable_variables"; `get_variable`'s regularizers and the
layers' activity regularizers add to "regularization_losses"; summaries to "summaries";
`tf.layers.batch_normalization` its moving-average updates to "update_ops".
"""
from __future__ import annotations

import re

from staticgraph.graph import get_default_graph

__all__ = ["GraphKeys", "get_collection", "add_to_collection", "add_to_collections"]


class GraphKeys:
    """TF1's standard names for graph collections (the same strings as TF1's).

    Example:
        >>> import staticgraph as tf
        >>> with tf.Graph().as_default():
        ...     v = tf.Variable(1.0, name="v")
        ...     [x.name for x in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)]
        ['v']
    """
    GLOBAL_VARIABLES = "variables"
    VARIABLES = GLOBAL_VARIABLES  # TF1's deprecated name
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    SUMMARIES = "summaries"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    SUMMARY_OP = "summary_op"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    EVAL_STEP = "eval_step"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"


def get_collection(key: str, scope: str | None = None) -> list:
    """The default graph's collection `key` (a new list), keeping with `scope` only the items
    whose `.name` matches it from the start (`re.match`), as TF1; items without a name are
    dropped when a scope is given."""
    items = get_default_graph().get_collection(key)
    if scope is None:
        return items
    pattern = re.compile(scope)
    return [item for item in items
            if isinstance(getattr(item, "name", None), str) and pattern.match(item.name)]


def add_to_collection(name: str, value) -> None:
    """Append `value` to the default graph's collection `name`."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value) -> None:
    """Append `value` to each collection named in `names` (a name or a list of them), once each."""
    names = (names,) if isinstance(names, str) else tuple(dict.fromkeys(names))
    for name in names:
        add_to_collection(name, value)
