"""TF1's `tf.math` namespace: the elementwise math and reductions under their `tf.math.*` names."""
from staticgraph.ops.math import (abs, add, add_n, cos, divide, equal, exp, greater,  # noqa: F401
                                  greater_equal, less, less_equal, log, logical_and, logical_not,
                                  logical_or, logical_xor, maximum, minimum, multiply, negative,
                                  not_equal, sigmoid, sign, sin, sqrt, square, subtract, tanh)
from staticgraph.ops.reduce import argmax, argmin  # noqa: F401
from staticgraph.tf1_names import (floordiv, floormod, mod, pow, reduce_all,  # noqa: F401
                                   reduce_any, reduce_logsumexp, reduce_max, reduce_mean,
                                   reduce_min, reduce_prod, reduce_sum, truncatemod)

__all__ = ["abs", "add", "add_n", "argmax", "argmin", "cos", "divide", "equal", "exp",
           "floordiv", "floormod", "greater", "greater_equal", "less", "less_equal", "log",
           "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod",
           "multiply", "negative", "not_equal", "pow", "reduce_all", "reduce_any",
           "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod",
           "reduce_sum", "sigmoid", "sign", "sin", "sqrt", "square", "subtract", "tanh",
           "truncatemod"]
