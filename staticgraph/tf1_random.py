"""TF1's `tf.random` namespace (`tf.random.normal`, ...): the random ops under their newer names."""
from staticgraph.ops.random import (get_graph_seed, random_normal as normal,  # noqa: F401
                                    random_shuffle as shuffle, random_uniform as uniform,
                                    set_random_seed, truncated_normal)

__all__ = ["normal", "uniform", "truncated_normal", "shuffle", "set_random_seed", "get_graph_seed"]
