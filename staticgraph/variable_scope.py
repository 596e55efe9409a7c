"""TF1's variable sharing: `get_variable` names variables by the enclosing `variable_scope`, whose
`reuse` says whether a name may be created, must already exist, or either (`AUTO_REUSE`)."""
from __future__ import annotations

import contextlib
from typing import Iterator


from staticgraph import dtypes
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph, Tensor, get_default_graph
from staticgraph.initializers import GlorotUniform, Zeros
from staticgraph.ops import create
from staticgraph.ops.shapes import as_shape, compatible
from staticgraph.ops.state import Variable
from staticgraph.sourceinfo import user_source

_STORE = "__variable_store"


class _AutoReuse:
    def __repr__(self) -> str:
        return "tf.AUTO_REUSE"


AUTO_REUSE = _AutoReuse()  # reuse a variable that exists, create one that does not


class VariableScope:
    """A scope's name and defaults (reuse, initializer, dtype), as TF1's `tf.VariableScope`."""

    def __init__(self, reuse, name: str = "", initializer=None, regularizer=None,
                 dtype=dtypes.float32) -> None:
        self.name, self._reuse = name, reuse
        self.initializer, self.regularizer, self.dtype = initializer, regularizer, dtype
        self.original_name_scope = name + "/" if name else ""

    @property
    def reuse(self):
        return self._reuse

    def reuse_variables(self) -> None:
        """Reuse variables in this scope from now on (TF1's `scope.reuse_variables()`)."""
        self._reuse = True

    def set_initializer(self, initializer) -> None:
        self.initializer = initializer

    def get_variable(self, name: str, shape=None, dtype=None, initializer=None, **kwargs) -> Variable:
        return _store(get_default_graph()).get(self, name, shape, dtype, initializer, **kwargs)

    def __repr__(self) -> str:
        return f"<VariableScope {self.name!r} reuse={self._reuse!r}>"


class _Store:
    """A graph's variables made by get_variable (by full name), its open scopes and the number
    of times each scope name was opened (for `default_name`)."""

    def __init__(self) -> None:
        self.variables: dict[str, tuple[Variable, str]] = {}
        self.scopes = [VariableScope(False)]
        self.opened: dict[str, int] = {}

    def get(self, scope: VariableScope, name: str, shape, dtype, initializer, regularizer=None,
            trainable=None, collections=None, **ignored) -> Variable:
        full = f"{scope.name}/{name}" if scope.name else name
        shape = None if shape is None else as_shape(shape, f"get_variable {full!r}", unknown=True)
        dtype = None if dtype is None else dtypes.as_dtype(dtype)
        if full in self.variables:
            return self._share(full, scope.reuse, shape, dtype)
        if scope.reuse is True:
            raise InvalidArgumentError(
                f"Variable {full} does not exist, or was not created with tf.get_variable(). Did "
                f"you mean to set reuse=tf.AUTO_REUSE in VarScope? (at {user_source()})")
        graph = get_default_graph()
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope("/"):
            with graph.name_scope(full + "/Initializer/"):
                value = _initial_value(full, shape, dtype or scope.dtype,
                                       scope.initializer if initializer is None else initializer)
            variable = Variable(value, name=full, trainable=True if trainable is None else trainable)
        for key in collections or ():
            if key not in ("variables", "trainable_variables"):
                graph.add_to_collection(key, variable)
        self.variables[full] = (variable, user_source())
        regularizer = regularizer or scope.regularizer
        if regularizer is not None:
            with graph.as_default(), graph.name_scope(full + "/Regularizer/"):
                loss = regularizer(variable)
            if loss is not None:
                graph.add_to_collection("regularization_losses", loss)
        return variable

    def _share(self, full: str, reuse, shape, dtype) -> Variable:
        variable, source = self.variables[full]
        if not reuse:
            raise InvalidArgumentError(
                f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                f"reuse=tf.AUTO_REUSE in VarScope? Originally defined at:\n\n{source}")
        if shape is not None and not compatible(shape, variable.shape):
            raise InvalidArgumentError(f"Trying to share variable {full}, but specified shape "
                                       f"{shape} and found shape {variable.shape}.")
        if dtype is not None and dtype != variable.dtype:
            raise InvalidArgumentError(f"Trying to share variable {full}, but specified dtype "
                                       f"{dtype.name} and found dtype {variable.dtype.name}.")
        return variable


def _initial_value(full: str, shape, dtype, initializer) -> Tensor:
    """The new variable's initial value: the initializer called with (shape, dtype), or a
    constant initializer (a tensor, array or number) taken as it is, with its own shape."""
    if initializer is not None and not callable(initializer):
        if shape is not None:
            raise InvalidArgumentError(f"get_variable {full!r}: If initializer is a constant, do "
                                       f"not specify shape.")
        return initializer if isinstance(initializer, Tensor) else create.constant(initializer)
    if shape is None or any(d is None for d in shape):
        raise InvalidArgumentError(f"Shape of a new variable ({full}) must be fully defined, but "
                                   f"instead was {shape}. (at {user_source()})")
    if initializer is None:
        if dtypes.is_floating(dtype):
            initializer = GlorotUniform()
        elif dtype.kind in "iub":
            initializer = Zeros()
        else:
            raise InvalidArgumentError(f"An initializer for variable {full} of {dtype.name} is "
                                       f"required")
    return initializer(shape, dtype=dtype)


def _store(graph: Graph) -> _Store:
    stores = graph.get_collection(_STORE)
    if not stores:
        graph.add_to_collection(_STORE, _Store())
        stores = graph.get_collection(_STORE)
    return stores[0]


def get_variable_scope() -> VariableScope:
    """The innermost open variable scope of the default graph (the root scope, named "", if none)."""
    return _store(get_default_graph()).scopes[-1]


def get_variable(name: str, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable: bool | None = None, collections=None, **kwargs) -> Variable:
    """The variable `scope/name`: created, or shared, as the current variable scope's `reuse`
    says (TF1's `tf.get_variable`).

    Args:
        name: the name within the current variable scope.
        shape: the shape of a new variable (fully defined); checked against a shared one.
        dtype: default the scope's dtype (float32); checked against a shared variable.
        initializer: an initializer (`sg.zeros_initializer()` ...), a tensor, array or number
            (then without `shape`); default the scope's, else glorot_uniform for floats and
            zeros for integers and bools.
        regularizer: a function of the variable; its result goes to the collection
            "regularization_losses".
        trainable, collections: as TF1 (other TF1 arguments, e.g. caching_device, partitioner,
            validate_shape, use_resource, are accepted and ignored).
    Raises:
        InvalidArgumentError (a ValueError): "Variable scope/name already exists, disallowed"
            where reuse is off; "... does not exist, or was not created with tf.get_variable()"
            where reuse is True; a shape or dtype that differs from the shared variable's.
    Example:
        >>> import staticgraph as sg
        >>> with sg.variable_scope("layer"):
        ...     w = sg.get_variable("w", (2, 3), initializer=sg.zeros_initializer())
        >>> with sg.variable_scope("layer", reuse=True):
        ...     sg.get_variable("w") is w
        True
    """
    return get_variable_scope().get_variable(name, shape, dtype, initializer,
                                             regularizer=regularizer, trainable=trainable,
                                             collections=collections, **kwargs)


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name: str | None = None, values=None, initializer=None,
                   regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                   reuse=None, dtype=None, use_resource=None, constraint=None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """A scope for `get_variable` names, reuse and defaults; it also opens a name scope for ops.

    `reuse`: None (inherit: off at the top), True (every get_variable must find its variable),
    `AUTO_REUSE` (find it, or create it), False. Once on, reuse is inherited by inner scopes.
    A `VariableScope` object re-enters that scope. With `name_or_scope` None, `default_name`
    is made unique ("dense", "dense_1", ...).

    Example:
        >>> import staticgraph as sg
        >>> def layer():
        ...     with sg.variable_scope("shared", reuse=sg.AUTO_REUSE):
        ...         return sg.get_variable("b", (1,))
        >>> layer() is layer()
        True
    """
    graph = get_default_graph()
    store = _store(graph)
    parent = store.scopes[-1]
    if isinstance(name_or_scope, VariableScope):
        old, full = name_or_scope, name_or_scope.name
    elif name_or_scope is not None or default_name is not None:
        old, full = parent, _scope_name(store, parent, name_or_scope, default_name)
    else:
        raise InvalidArgumentError("If default_name is None then name_or_scope is required")
    scope = VariableScope(
        reuse or old.reuse, full, initializer or old.initializer, regularizer or old.regularizer,
        dtypes.as_dtype(dtype) if dtype is not None else old.dtype)
    store.opened[full] = store.opened.get(full, 0) + 1
    store.scopes.append(scope)
    try:
        if not auxiliary_name_scope or not full:
            yield scope
        elif isinstance(name_or_scope, VariableScope):
            with graph.name_scope(full + "/"):
                yield scope
        else:
            with graph.name_scope(full[len(parent.original_name_scope):]):
                yield scope
    finally:
        store.scopes.remove(scope)


def _scope_name(store: _Store, parent: VariableScope, name: str | None, default: str | None) -> str:
    prefix = parent.name + "/" if parent.name else ""
    if name is not None:
        return prefix + name
    full, count = prefix + default, 0
    while store.opened.get(full, 0):
        count += 1
        full = f"{prefix}{default}_{count}"
    return full
