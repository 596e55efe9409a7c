"""Training: optimizers that add update ops to the graph, the global step, learning-rate
schedules, and variable checkpoints."""
from staticgraph.train.global_step import (create_global_step, get_global_step,
                                           get_or_create_global_step)
from staticgraph.train.optimizers import (AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer,
                                          MomentumOptimizer, Optimizer, RMSPropOptimizer)
from staticgraph.train.saver import Saver
from staticgraph.train.schedules import exponential_decay

__all__ = ["AdagradOptimizer", "AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
           "Optimizer", "RMSPropOptimizer", "Saver", "create_global_step", "exponential_decay",
           "get_global_step", "get_or_create_global_step"]
