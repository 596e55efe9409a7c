"""Random ops (normal, uniform, truncated normal, shuffle) and TF1's graph- and op-level seeds.

A random op is stateful: each session keeps one generator per random node, made at its first
run, and every run draws the next values from it, so two runs give different values and nothing
folds or merges random nodes. Seeds follow TF1's `tf.set_random_seed` rules (`op_seeds`): with a
graph seed, an op seed, or both, a new session (or process) replays the same sequence; with
neither, each session draws from fresh entropy. Random ops have no gradient.
"""
from __future__ import annotations

import secrets
import threading
import weakref

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, get_default_graph
from staticgraph.ops import array as A
from staticgraph.ops import math as M
from staticgraph.ops.registry import NotBatchable, ShapeError, Spec, apply_static, defop, is_tensor
from staticgraph.ops.shapes import run_shape, shape_argument, shape_input_rule
from staticgraph.sourceinfo import user_source

DEFAULT_GRAPH_SEED = 87654321  # TF1's graph seed for an op seeded without one
_MAX_SEED = 2 ** 31 - 1
RANDOM = {"stateful", "random"}

_GRAPH_SEEDS: "weakref.WeakKeyDictionary[Graph, int]" = weakref.WeakKeyDictionary()
# The variable store of a session -> {node key: its generator}: the generators live as long as
# the session's variables, so a new session starts every seeded sequence again.
_GENERATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def set_random_seed(seed: int | None, graph: Graph | None = None) -> None:
    """Set the graph-level seed of the default graph (TF1's `tf.set_random_seed`).

    Random ops built afterwards take their op seed from the graph when none is given, so the
    whole program's draws repeat from one session (or process) to the next; `None` unsets it.

    Example:
        >>> import staticgraph as sg
        >>> sg.set_random_seed(1)
        >>> x = sg.random_uniform([2])
        >>> bool((sg.Session().run(x) == sg.Session().run(x)).all())
        True
    """
    graph = graph or get_default_graph()
    if seed is None:
        _GRAPH_SEEDS.pop(graph, None)
    else:
        _GRAPH_SEEDS[graph] = _seed_value(seed, "set_random_seed")


def get_graph_seed(graph: Graph | None = None) -> int | None:
    """The graph-level seed of `graph` (the default graph), None when unset."""
    return _GRAPH_SEEDS.get(graph or get_default_graph())


def _seed_value(seed, what: str) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"{what}: a seed must be an int, got {seed!r} "
                                   f"at {user_source()}")
    return int(seed) % (_MAX_SEED + 1)


def op_seeds(op_seed: int | None, graph: Graph | None = None) -> tuple | None:
    """(graph seed, op seed) as TF1's `get_seed`: None when neither is set (fresh entropy);
    a missing op seed is the graph's node count (deterministic for a given program); a missing
    graph seed is `DEFAULT_GRAPH_SEED`."""
    graph = graph or get_default_graph()
    graph_seed = _GRAPH_SEEDS.get(graph)
    if op_seed is not None:
        op_seed = _seed_value(op_seed, "seed")
    if graph_seed is None and op_seed is None:
        return None
    if graph_seed is None:
        graph_seed = DEFAULT_GRAPH_SEED
    if op_seed is None:
        op_seed = len(graph.nx)
    return graph_seed, op_seed


def _generator(state, seeds, key) -> np.random.Generator:
    """The generator of random node `key` in the session whose run `state` is."""
    with _LOCK:
        streams = _GENERATORS.setdefault(state.store, {})
        rng = streams.get(key)
        if rng is None:
            entropy = list(seeds) if seeds is not None else secrets.randbits(128)
            rng = streams[key] = np.random.Generator(np.random.PCG64(entropy))
    return rng


def _draw(state, seeds, key, draw):
    rng = _generator(state, seeds, key)
    with _LOCK:  # a Generator is not thread-safe; sessions may run in several threads
        return draw(rng)


# ----- ops ---------------------------------------------------------------------------------
# A draw's shape is the attr `shape`, or the values of its one input, a 1-D integer tensor (such
# as `sg.shape(x)`) read at each run; `shape` then holds what is known of it statically.
def _fresh_rule(*dims: Spec, shape, dtype, seeds, key, **_):
    return Spec(shape_input_rule(*dims, shape=shape), dtype)


def _normal_kernel(state, *dims, shape, dtype, seeds, key):
    shape = run_shape(dims, shape)
    return _draw(state, seeds, key, lambda rng: rng.standard_normal(shape, dtype=dtype))


def _uniform_kernel(state, *dims, shape, dtype, seeds, key):
    shape = run_shape(dims, shape)
    return _draw(state, seeds, key, lambda rng: rng.random(shape, dtype=dtype))


def _uniform_int_kernel(state, *dims, shape, dtype, seeds, key, minval, maxval):
    shape = run_shape(dims, shape)
    return _draw(state, seeds, key, lambda rng: rng.integers(minval, maxval, shape, dtype=dtype))


def _truncated(rng: np.random.Generator, shape: tuple, dtype) -> np.ndarray:
    """Standard normal draws, those beyond 2 deviations drawn again until inside."""
    out = rng.standard_normal(shape, dtype=dtype)
    outside = np.abs(out) > 2
    while outside.any():
        out[outside] = rng.standard_normal(int(outside.sum()), dtype=dtype)
        outside = np.abs(out) > 2
    return out


def _truncated_kernel(state, *dims, shape, dtype, seeds, key):
    shape = run_shape(dims, shape)
    return _draw(state, seeds, key, lambda rng: _truncated(rng, shape, dtype))


def _shuffle_kernel(state, value, *, seeds, key):
    # The whole array is copied: the input's buffer may be read by other steps.
    return _draw(state, seeds, key, lambda rng: rng.permutation(value))


def _shuffle_rule(value: Spec, *, seeds, key):
    if not value.shape:
        raise ShapeError("needs a tensor of rank >= 1 to shuffle along its first dim, got a scalar")
    return value


# Per-example draws would need one generator per example; JAX splits keys, we draw outside.
DRAWS = NotBatchable("a random op draws once per run, not once per example; draw a batch of "
                     "values outside vmap and pass it in")
random_standard_normal_ = defop(
    "random_standard_normal", kernel=_normal_kernel, shape_rule=_fresh_rule, traits=RANDOM,
    batch=DRAWS,
    doc="Draws of the standard normal distribution, new at each run.")
random_uniform_ = defop(
    "random_uniform", kernel=_uniform_kernel, shape_rule=_fresh_rule, traits=RANDOM, batch=DRAWS,
    doc="Uniform draws in [0, 1), new at each run.")
random_uniform_int_ = defop(
    "random_uniform_int", kernel=_uniform_int_kernel, shape_rule=_fresh_rule, traits=RANDOM,
    batch=DRAWS,
    doc="Uniform integer draws in [minval, maxval), new at each run.")
truncated_normal_ = defop(
    "truncated_normal", kernel=_truncated_kernel, shape_rule=_fresh_rule, traits=RANDOM,
    batch=DRAWS,
    doc="Standard normal draws within 2 deviations of 0 (others drawn again), new at each run.")
random_shuffle_ = defop(
    "random_shuffle", kernel=_shuffle_kernel, shape_rule=_shuffle_rule, traits=RANDOM,
    batch=DRAWS,
    doc="The input with its first dim in a random order, new at each run.")


def _new_draw(what: str, op, shape, dtype, seed, name, **attrs):
    """A random node of `op` in the default graph for the user's function `what`, seeded by
    TF1's rules."""
    shape, dims = shape_argument(shape, what)
    graph = dims[0].graph if dims else get_default_graph()
    attrs = dict(shape=shape, dtype=dtypes.as_dtype(dtype),
                 seeds=op_seeds(seed, graph), key=_new_key(), **attrs)
    return apply_static(graph, op, dims, attrs, name=name)


def _new_key() -> str:
    """A name for a random node's generator, unique across graphs and graph files."""
    return secrets.token_hex(8)


def random_uniform_like(x, dtype=None, seed: int | None = None, name: str | None = None):
    """Uniform draws in [0, 1) of x's run-time shape (and dtype unless given); new at each run."""
    dtype = x.dtype if dtype is None else _require_float(dtype, "random_uniform_like")
    return random_uniform_(A.shape_(x, dtype=dtypes.int64), shape=x.shape, dtype=dtype,
                           seeds=op_seeds(seed, x.graph), key=_new_key(), name=name)


def _is(value, number) -> bool:
    return not is_tensor(value) and np.ndim(value) == 0 and value == number


def _scaled(what: str, op, shape, dtype, seed, scale, shift, name: str | None):
    """A draw of `op` times `scale` plus `shift`, without the steps that change nothing; Python
    numbers take the draw's dtype. `name` names the last node."""
    steps = [(M.multiply, scale)] * (not _is(scale, 1)) + [(M.add, shift)] * (not _is(shift, 0))
    out = _new_draw(what, op, shape, dtype, seed, None if steps else name)
    for i, (step, operand) in enumerate(steps):
        out = step(out, operand, name=name if i == len(steps) - 1 else None)
    return out


def _require_float(dtype, what: str) -> np.dtype:
    dtype = dtypes.as_dtype(dtype)
    if not dtypes.is_floating(dtype):
        raise InvalidArgumentError(f"{what}: needs a float dtype, got {dtype.name} "
                                   f"at {user_source()}")
    return dtype


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed: int | None = None,
                  name: str | None = None):
    """Normal draws of `shape` (TF1's `tf.random_normal`), new at each run.

    Args:
        shape: ints, or a 1-D integer tensor read at each run, such as `sg.shape(x)` (every
            random op takes either).
        mean, stddev: numbers or tensors (broadcast with the draws).
        seed: the op seed; see `set_random_seed` for how it combines with the graph seed.
    Example:
        >>> import staticgraph as sg
        >>> w = sg.Variable(sg.random_normal([784, 10], stddev=0.01, seed=1))
        >>> w.shape
        (784, 10)
    """
    dtype = _require_float(dtype, "random_normal")
    return _scaled("random_normal", random_standard_normal_, shape, dtype, seed, stddev, mean, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed: int | None = None,
                     name: str | None = None):
    """Normal draws within 2 `stddev` of `mean` (others drawn again), as TF1's
    `tf.truncated_normal`; new at each run."""
    dtype = _require_float(dtype, "truncated_normal")
    return _scaled("truncated_normal", truncated_normal_, shape, dtype, seed, stddev, mean, name)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed: int | None = None,
                   name: str | None = None):
    """Uniform draws in [minval, maxval) (TF1's `tf.random_uniform`), new at each run.

    Floats: `maxval` defaults to 1; `minval` and `maxval` may be tensors. Integers: both must be
    given as Python ints.

    Raises:
        InvalidArgumentError: an integer dtype without `maxval`, or with tensor bounds, or
            with maxval <= minval.
    """
    dtype = dtypes.as_dtype(dtype)
    if dtypes.is_floating(dtype):
        maxval = 1 if maxval is None else maxval
        tensor_bounds = is_tensor(minval) or is_tensor(maxval)
        scale = M.subtract(maxval, minval) if tensor_bounds else maxval - minval
        return _scaled("random_uniform", random_uniform_, shape, dtype, seed, scale, minval, name)
    if dtype.kind not in "iu":
        raise InvalidArgumentError(f"random_uniform: needs a float or integer dtype, got "
                                   f"{dtype.name} at {user_source()}")
    if maxval is None or is_tensor(minval) or is_tensor(maxval):
        raise InvalidArgumentError(f"random_uniform: an integer dtype needs maxval, and minval "
                                   f"and maxval as Python ints at {user_source()}")
    if int(maxval) <= int(minval):
        raise InvalidArgumentError(f"random_uniform: needs minval < maxval, got {minval} and "
                                   f"{maxval} at {user_source()}")
    return _new_draw("random_uniform", random_uniform_int_, shape, dtype, seed, name,
                     minval=int(minval), maxval=int(maxval))


def random_shuffle(value, seed: int | None = None, name: str | None = None):
    """`value` with its first dim in a random order (TF1's `tf.random_shuffle`), new at each run."""
    graph = value.graph if is_tensor(value) and hasattr(value, "graph") else get_default_graph()
    return random_shuffle_(value, seeds=op_seeds(seed, graph), key=_new_key(), name=name)
