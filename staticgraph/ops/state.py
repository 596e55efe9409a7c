"""State and ordering: Variable, assign / assign_add / assign_sub, group, no_op, initializers.

Stateful kernels take the run's `state` first: `kernel(state, *inputs, **attrs)`. Writes are staged
by the executor and applied only when the whole run succeeds; an update the memory plan marks
`in_place` writes the variable's array itself when the run allows it (see
`staticgraph.compiler.memory` and `RunState.update_in_place`).
"""
from __future__ import annotations

import numpy as np

from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.ops import create as C
from staticgraph.ops.blas import add_product
from staticgraph.ops.registry import (NotBatchable, ShapeError, Spec, apply_static, as_array, defop,
                                      is_tensor)
from staticgraph.ops.shapes import compatible, fmt
from staticgraph.sourceinfo import user_source


# An op without inputs is the same for every example: vmap never needs to batch it.
NO_INPUTS = NotBatchable("it has no inputs, so it never carries a batch")


def _variable_rule(*, var, shape, dtype):
    return Spec(shape, dtype)


variable_ = defop("variable", kernel=lambda state, *, var, shape, dtype: state.read(var),
                  shape_rule=_variable_rule, traits={"stateful"}, batch=NO_INPUTS,
                  doc="The current value of a variable held by the session.")


def _assign_rule(value: Spec, *, var, shape, dtype):
    ref = Spec(shape, dtype)
    if value.dtype != ref.dtype:
        raise ShapeError(f"dtypes differ: variable {var!r} is {ref.dtype.name}, value is "
                         f"{value.dtype.name}")
    if not compatible(ref.shape, value.shape):
        raise ShapeError(f"shapes differ: variable {var!r} is {fmt(ref.shape)}, value is "
                         f"{fmt(value.shape)}")
    return ref


# An update in place writes the variable's array; any other is a new array, staged by
# `state.write` and stored only when the run succeeds. (A double-buffered spare array per variable
# was tried: on the W2 step it ran 1.4% slower than the allocator.)
def _updated(state, var: str, value, in_place: bool, into, new) -> np.ndarray:
    """The variable's new value: its own array changed by `into(array, value)` when the plan
    (`in_place`) and the run allow it, else the new array `new()`, staged."""
    if in_place:
        array = state.update_in_place(var, into, value)
        if array is not None:
            return array
    array = new()
    state.write(var, array)
    return array


def _check_shape(new: tuple, var: str, shape: tuple) -> None:
    """Refuse a value of another shape than the variable's (TF1's validate_shape), before
    anything is written, so a run that fails here changes no variable."""
    if not compatible(shape, new):
        raise InvalidArgumentError(f"shapes differ: variable {var!r} is {fmt(shape)}, the value "
                                   f"assigned is {fmt(new)}")


def _assign_kernel(state, value, *, var, shape, dtype, in_place=False):
    _check_shape(np.shape(value), var, shape)
    result = _updated(state, var, value, in_place, np.copyto,
                      lambda: np.array(value, dtype=dtype, copy=True))
    C.release_pages(value)  # an initial value kept on disk: copied, so its pages may go
    return result


def _add_into(array, value):
    np.add(array, value, out=array)


def _subtract_into(array, value):
    np.subtract(array, value, out=array)


# asarray: the sum of two 0-d arrays is a numpy scalar.
def _assign_add_kernel(state, value, *, var, shape, dtype, in_place=False):
    _check_shape(np.shape(value), var, shape)
    return _updated(state, var, value, in_place, _add_into,
                    lambda: np.asarray(np.add(state.read(var), value)))


def _assign_sub_kernel(state, value, *, var, shape, dtype, in_place=False):
    _check_shape(np.shape(value), var, shape)
    return _updated(state, var, value, in_place, _subtract_into,
                    lambda: np.asarray(np.subtract(state.read(var), value)))


ST = {"stateful"}
# A variable holds one value per run: there is no per-example update to batch.
UPDATES_STATE = NotBatchable("it updates a variable, which holds one value for all examples; "
                             "compute the batched update outside vmap and assign it once")
assign_ = defop("assign", kernel=_assign_kernel, shape_rule=_assign_rule, traits=ST,
                batch=UPDATES_STATE)
assign_add_ = defop("assign_add", kernel=_assign_add_kernel, shape_rule=_assign_rule, traits=ST,
                    batch=UPDATES_STATE)
assign_sub_ = defop("assign_sub", kernel=_assign_sub_kernel, shape_rule=_assign_rule, traits=ST,
                    batch=UPDATES_STATE)


def _assign_add_matmul_rule(a: Spec, b: Spec, *scale: Spec, var, shape, dtype, alpha,
                            transpose_a, transpose_b):
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise ShapeError(f"needs 2-D operands, got {fmt(a.shape)} and {fmt(b.shape)}")
    (m, k), (k2, n) = a.shape[::-1] if transpose_a else a.shape, \
        b.shape[::-1] if transpose_b else b.shape
    if not compatible((k,), (k2,)):
        raise ShapeError(f"inner dims differ: {fmt(a.shape)} and {fmt(b.shape)} with "
                         f"transpose_a={transpose_a}, transpose_b={transpose_b}")
    if a.dtype != b.dtype or any(s.dtype != a.dtype for s in scale):
        raise ShapeError(f"dtypes differ: {', '.join(s.dtype.name for s in (a, b, *scale))}")
    if any(s.shape != () for s in scale):
        raise ShapeError(f"the scale must be 0-d, got {fmt(scale[0].shape)}")
    return _assign_rule(Spec((m, n), a.dtype), var=var, shape=shape, dtype=dtype)


def _assign_add_matmul_kernel(state, a, b, *scale, var, shape, dtype, alpha, transpose_a,
                              transpose_b, in_place=False):
    a, b = a.T if transpose_a else a, b.T if transpose_b else b
    _check_shape((a.shape[0], b.shape[1]), var, shape)
    alpha = alpha * float(scale[0]) if scale else alpha
    return _updated(state, var, None, in_place, lambda array, _: add_product(array, a, b, alpha),
                    lambda: add_product(np.array(state.read(var), order="C"), a, b, alpha))


# What SGD's `w.assign_sub(lr * (x.T @ d))` becomes when compiled (see
# `staticgraph.compiler.fuse_updates`): one BLAS gemm adds the product into the variable.
assign_add_matmul_ = defop(
    "assign_add_matmul", kernel=_assign_add_matmul_kernel, shape_rule=_assign_add_matmul_rule,
    traits=ST, batch=UPDATES_STATE, doc="var += alpha * scale * op(a) @ op(b) (scale: an optional 0-d input), op "
                   "transposing where transpose_a / transpose_b say.")


def _assign(op, ref, value, name) -> Tensor:
    """Add an assign-like node: its input is `value`; a ref edge ties it to the variable."""
    if not isinstance(ref, Variable):
        raise InvalidArgumentError(f"{op.name}: the target must be an sg.Variable, got {ref!r} "
                                   f"at {user_source()}")
    if not is_tensor(value):  # TF1 converts a non-tensor value to the variable's dtype
        try:
            value = as_array(value, ref.dtype)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{op.name}: {exc} at {user_source()}") from None
    attrs = {"var": ref.name, "shape": ref.shape, "dtype": ref.dtype}
    graph = get_default_graph()
    if graph is ref.graph or not graph.encloses(ref.graph):
        return apply_static(ref.graph, op, [value], attrs, name=name, refs=(ref.name,))
    # Built in a cond branch or loop body: the update belongs there, so that it runs only when
    # the branch is taken, once per iteration (as in TF1); it refers to a read of the variable
    # made in that sub-graph.
    handle = apply_static(graph, variable_, [], ref.node["attrs"], name=ref.name.split("/")[-1])
    return apply_static(graph, op, [value], attrs, name=name, refs=(handle.name,))


def assign(ref: "Variable", value, name: str | None = None) -> Tensor:
    """An op that sets variable `ref` to `value` when run; its value is the new value."""
    return _assign(assign_, ref, value, name)


def assign_add(ref: "Variable", value, name: str | None = None) -> Tensor:
    """An op that adds `value` to variable `ref` when run."""
    return _assign(assign_add_, ref, value, name)


def assign_sub(ref: "Variable", value, name: str | None = None) -> Tensor:
    """An op that subtracts `value` from variable `ref` when run."""
    return _assign(assign_sub_, ref, value, name)


class Variable(Tensor):
    """A value that lives in the session across runs (model parameters), TF1 style.

    Reading it is a node (op "variable"); it must be initialised before it is read, e.g. with
    `sess.run(sg.global_variables_initializer())`.

    Example:
        >>> import staticgraph as sg
        >>> w = sg.Variable([1.0, 2.0], name="w")
        >>> with sg.Session() as sess:
        ...     _ = sess.run(sg.global_variables_initializer())
        ...     sess.run(w.assign_add([1.0, 1.0])).tolist()
        [2.0, 3.0]
    """

    __slots__ = ("initial_value", "initializer", "trainable")

    def __init__(self, initial_value, dtype=None, name: str | None = None, trainable: bool = True,
                 graph: Graph | None = None) -> None:
        graph = graph or (initial_value.graph if isinstance(initial_value, Tensor) else get_default_graph())
        source = user_source()
        if not is_tensor(initial_value):
            try:
                initial_value = as_array(initial_value, dtype)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Variable {name or ''!r}: {exc} at {source}") from None
        if dtype is not None and dtypes.as_dtype(dtype) != initial_value.dtype:
            raise InvalidArgumentError(f"Variable {name or ''!r}: initial value is "
                                       f"{initial_value.dtype.name}, not {np.dtype(dtype).name} at {source}")
        var_name = graph.unique_name(name or "Variable")
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope(var_name + "/"):
            init_value = initial_value if isinstance(initial_value, Tensor) else \
                C.kept_value(initial_value, name="initial_value")
        apply_static(graph, variable_, [], {"var": var_name, "shape": init_value.shape,
                                           "dtype": init_value.dtype},
                     name=var_name, handle=self)
        self.initial_value = init_value
        self.trainable = bool(trainable)
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope(var_name + "/"), \
                graph.role_scope("init"):
            self.initializer = assign(self, init_value, name="Assign")
        graph.add_to_collection("variables", self)
        if self.trainable:
            graph.add_to_collection("trainable_variables", self)

    def read_value(self, name: str | None = None) -> Tensor:
        """A new read of the variable, ordered by the enclosing control_dependencies.

        The variable handle itself is one node read wherever the executor schedules it; inside
        `sg.control_dependencies([update])` use `v.read_value()` to see the updated value.
        """
        return apply_static(self.graph, variable_, [], self.node["attrs"], name=name or "read")

    def assign(self, value, name: str | None = None) -> Tensor:
        return assign(self, value, name)

    def assign_add(self, value, name: str | None = None) -> Tensor:
        return assign_add(self, value, name)

    def assign_sub(self, value, name: str | None = None) -> Tensor:
        return assign_sub(self, value, name)

    def __repr__(self) -> str:
        return f"<sg.Variable {self.name!r} shape={self.shape} dtype={self.dtype.name}>"


no_op_ = defop("no_op", kernel=lambda: None, shape_rule=lambda: Spec((), dtypes.bool_),
               traits={"no_output", "total"}, batch=NO_INPUTS, doc="Does nothing; used to group control dependencies.")


def no_op(name: str | None = None) -> Tensor:
    """An op that does nothing (its run returns None)."""
    return no_op_(name=name)


def group(*inputs, name: str | None = None) -> Tensor:
    """An op that runs all `inputs` (ops or tensors) and returns None.

    Example:
        >>> import staticgraph as sg
        >>> v = sg.Variable(0.0)
        >>> step = sg.group(v.assign_add(1.0), v.assign_add(2.0))
    """
    flat = []
    for item in inputs:
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    graphs = {id(t.graph): t.graph for t in flat if isinstance(t, Tensor)}
    if len(graphs) > 1:
        raise InvalidArgumentError(f"group: inputs belong to different graphs at {user_source()}")
    graph = next(iter(graphs.values()), None) or get_default_graph()
    with graph.as_default(), graph.control_dependencies(flat):
        return no_op(name=name or "group")


def global_variables(graph: Graph | None = None) -> list[Variable]:
    """Every variable of the (default) graph."""
    return (graph or get_default_graph()).get_collection("variables")


def trainable_variables(graph: Graph | None = None) -> list[Variable]:
    """The variables of the (default) graph created with trainable=True."""
    return (graph or get_default_graph()).get_collection("trainable_variables")


def variables_initializer(var_list, name: str = "init") -> Tensor:
    """An op that runs the initializers of `var_list`."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer(graph: Graph | None = None) -> Tensor:
    """An op that initialises every variable of the (default) graph."""
    graph = graph or get_default_graph()
    with graph.as_default():
        return variables_initializer(global_variables(graph))
