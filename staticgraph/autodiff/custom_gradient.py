"""`custom_gradient`: a function whose gradient is given by the user, as TF1's decorator."""
from __future__ import annotations

import functools
from typing import Callable

from staticgraph.autodiff.reverse import as_list, matching
from staticgraph.errors import InvalidArgumentError, UnimplementedError
from staticgraph.graph import Tensor
from staticgraph.ops.registry import NotBatchable, Spec, defop


def _custom_rule(y: Spec, *xs: Spec, grad_fn) -> Spec:
    return y


def _custom_vjp(ct, y, *xs, out, grad_fn):
    """The user's grad_fn(ct) gives one cotangent per x; none flows into f's own nodes."""
    grads = as_list(grad_fn(ct))
    if len(grads) != len(xs):
        raise InvalidArgumentError(f"custom_gradient: grad_fn returned {len(grads)} gradients "
                                   f"for {len(xs)} inputs")
    return [None] + [g if g is None else matching(g, x, f"custom_gradient: the gradient for "
                                                  f"{x.name!r}", "the input", "custom_grad")
                     for g, x in zip(grads, xs)]


def _no_jvp(tangents, y, *xs, out, grad_fn):
    # As JAX's custom_vjp: the user gave a vjp only, and f's own tangent would disagree with it.
    raise UnimplementedError("custom_gradient defines a reverse-mode gradient only: forward mode "
                             "(jvp, hessian, hvp) through it is not supported")


# Value: f's result y (input 0); inputs 1.. are f's tensor arguments, whose cotangents the
# user's grad_fn (attribute) builds.
custom_gradient_ = defop(
    "custom_gradient", kernel=lambda y, *xs, grad_fn: y, shape_rule=_custom_rule,
    vjp=_custom_vjp, jvp=_no_jvp, traits={"view"},
    batch=NotBatchable("its grad_fn was written for one example; call vmap inside the "
                       "custom_gradient function instead"),
    doc="The value of input 0; the cotangents of the other inputs are grad_fn(cotangent).")


def custom_gradient(f: Callable) -> Callable:
    """Decorate `f(*xs) -> (y, grad_fn)`: the result is y, and a gradient through it is
    `grad_fn(dy)`, one gradient (or None) per tensor argument (TF1's `tf.custom_gradient`,
    graph mode; y is one tensor). Forward mode through it is refused (UnimplementedError).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> @sg.custom_gradient
        ... def clipped(x):
        ...     return sg.identity(x), lambda dy: sg.minimum(sg.maximum(dy, -1.0), 1.0)
        >>> x = sg.placeholder(sg.float64, (2,), name="x")
        >>> (g,) = sg.gradients(5.0 * clipped(x), [x])
        >>> sg.Session().run(g, {x: np.zeros(2)}).tolist()
        [1.0, 1.0]
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        y, grad_fn = f(*args, **kwargs)
        if not isinstance(y, Tensor):
            raise InvalidArgumentError(f"custom_gradient: {f.__name__} must return (tensor, "
                                       f"grad_fn), got {type(y).__name__} first")
        xs = [a for a in args if isinstance(a, Tensor)]
        with y.graph.as_default():
            return custom_gradient_(y, *xs, grad_fn=grad_fn, name=f.__name__)
    return wrapped
