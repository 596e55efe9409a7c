"""staticgraph: define-then-run automatic differentiation on numpy, networkx and pydot.

Build a graph of placeholders, variables and ops; add gradient nodes with `gradients`; run it
with a `Session`. `staticgraph.eager` offers the define-by-run (tape) style on the same ops.
"""
from staticgraph import errors, testing, train
from staticgraph.dtypes import (as_dtype, bool_, double, float16, float32, float64, half, int8,
                               int16, int32, int64, string, uint8)
from staticgraph.dtypes import bool_ as bool  # TF1's tf.bool
from staticgraph.graph import (Graph, Tensor, control_dependencies, get_default_graph, name_scope,
                               reset_default_graph)
from staticgraph.tensor_shape import Dimension, TensorShape, dimension_value
from staticgraph.ops import NOT_DIFFERENTIABLE, OpDef, defop
from staticgraph.ops.array import (broadcast_to, concat, expand_dims, gather, getitem, one_hot,
                                   rank, reshape, shape, size, squeeze, stack, transpose)
from staticgraph.ops.create import (constant, fill, identity, ones, ones_like, placeholder,
                                    stop_gradient, zeros, zeros_like)
from staticgraph.ops.control import cond
from staticgraph.ops.loops import while_loop
from staticgraph.ops.debug import check_numerics
from staticgraph.ops.linalg import dot, matmul
from staticgraph.ops.math import (abs, add, add_n, cast, cos, divide, equal, exp, greater,
                                  greater_equal, less, less_equal, log, logical_and, logical_not,
                                  logical_or, logical_xor, maximum, minimum, multiply, negative,
                                  not_equal, power, relu, sigmoid, sign, sin, sqrt, square, subtract,
                                  tanh, where)
from staticgraph.ops.nn import (log_softmax, softmax, softmax_cross_entropy_with_logits,
                                sparse_softmax_cross_entropy_with_logits)
from staticgraph.ops.reduce import argmax, argmin, max, mean, min, norm, prod, sum
from staticgraph.ops.random import (get_graph_seed, random_normal, random_shuffle, random_uniform,
                                    set_random_seed, truncated_normal)
from staticgraph.tf1_names import (arg_max, arg_min, floor_div, floordiv, floormod,
                                   initialize_all_variables, initialize_local_variables,
                                   local_variables_initializer, mod, pow, reduce_all, reduce_any,
                                   reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
                                   reduce_prod, reduce_sum, to_double, to_float, to_int32,
                                   to_int64, truncatemod)
from staticgraph.config import (ConfigProto, GPUOptions, GraphOptions, OptimizerOptions, RunOptions,
                                device)
from staticgraph import app, flags, nn
from staticgraph import tf1_random as random
from staticgraph import tf1_math as math
from staticgraph.ops.state import (Variable, assign, assign_add, assign_sub, global_variables,
                                   global_variables_initializer, group, no_op, trainable_variables,
                                   variables_initializer)
from staticgraph.autodiff.explain import explain_gradient
from staticgraph.autodiff.reverse import gradients
from staticgraph.autodiff.derived import hessian, hessians, hvp, jacobian, jvp
from staticgraph.autodiff.custom_gradient import custom_gradient
from staticgraph.autodiff.vmap import vmap
from staticgraph.runtime.session import InteractiveSession, Session
from staticgraph.runtime.default_session import get_default_session
from staticgraph import summary
from staticgraph.runtime.executor import Executable, compile
from staticgraph.io.dot import to_dot, write_dot
from staticgraph.io.listing import debugprint
from staticgraph.io.backprop_page import write_backprop_page
from staticgraph.io.backward_dot import draw_backward
from staticgraph.io.graph_json import load_graph, save_graph
from staticgraph.function import function
from staticgraph.initializers import (constant_initializer, glorot_normal_initializer,
                                      glorot_uniform_initializer, ones_initializer,
                                      random_normal_initializer, random_uniform_initializer,
                                      truncated_normal_initializer, variance_scaling_initializer,
                                      zeros_initializer)
from staticgraph.variable_scope import (AUTO_REUSE, VariableScope, get_variable,
                                        get_variable_scope, variable_scope)
from staticgraph import layers
from staticgraph.graph_keys import GraphKeys, add_to_collection, add_to_collections, get_collection
from staticgraph.kinks import get_kink_convention, kink_convention, set_kink_convention

__version__ = "0.1.0"


def __getattr__(name: str):
    # tf.Summary is TensorBoard's proto class: loaded only when a program asks for it.
    if name == "Summary":
        return summary.Summary
    raise AttributeError(f"module 'staticgraph' has no attribute {name!r}")
