"""Training: optimizers that add update ops to the graph, and variable checkpoints."""
from staticgraph.train.optimizers import (AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer,
                                          Optimizer)
from staticgraph.train.saver import Saver

__all__ = ["AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer", "Optimizer", "Saver"]
