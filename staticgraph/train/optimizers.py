"""Optimizers in TensorFlow 1's style: `minimize(loss)` adds gradient nodes and assign nodes.

The update nodes have role "update". Slot variables (momentum accumulators, Adam's moments) are
created by `apply_gradients`, so run `sg.global_variables_initializer()` after `minimize`. The
learning rate is a positive float, or as in TF1 a 0-d float tensor (a placeholder fed each step,
a variable, a schedule computed in the graph). The other hyperparameters (momentum, Adam's
betas and epsilon) take a number or a 0-d float tensor too; every tensor is cast to each
variable's dtype (TF1's `_prepare`). A hyperparameter out of its range is refused when built.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

import numpy as np

from staticgraph.autodiff.reverse import gradients
from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Tensor
from staticgraph.ops import create
from staticgraph.ops import math as M
from staticgraph.ops.state import Variable, group, trainable_variables
from staticgraph.sourceinfo import user_source


class Optimizer:
    """Base class: subclasses define `_update(grad, var) -> op` and, if needed, `_finish(updates)`."""

    def __init__(self, learning_rate: float | Tensor, name: str) -> None:
        self.name = name
        self.learning_rate = self._hyperparameter("learning_rate", learning_rate,
                                                  lambda v: v > 0, "positive")
        self._slots: dict[tuple[str, str], Variable] = {}

    def compute_gradients(self, loss: Tensor, var_list: Sequence[Variable] | None = None) -> list:
        """[(gradient, variable)] for each variable (gradient None where loss does not depend on it)."""
        var_list = list(var_list) if var_list is not None else trainable_variables(loss.graph)
        if not var_list:
            raise InvalidArgumentError(f"{self.name}: no variables to optimise at {user_source()}")
        return list(zip(gradients(loss, var_list), var_list))

    def apply_gradients(self, grads_and_vars, global_step: Variable | None = None,
                        name: str | None = None) -> Tensor:
        """An op applying one update per (gradient, variable) pair with a gradient."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise InvalidArgumentError(f"{self.name}: no variable has a gradient at {user_source()}")
        graph = pairs[0][1].graph
        with graph.as_default(), graph.name_scope(name or self.name):
            with graph.role_scope("update"):
                updates = [self._update(g, v) for g, v in pairs]
                updates += self._finish(updates)
                if global_step is not None:
                    with graph.control_dependencies(updates):
                        updates.append(global_step.assign_add(create.ones_like(global_step)))
                return group(*updates, name="update")

    def minimize(self, loss: Tensor, global_step: Variable | None = None,
                 var_list: Sequence[Variable] | None = None, name: str | None = None) -> Tensor:
        """compute_gradients then apply_gradients: the op of one training step."""
        return self.apply_gradients(self.compute_gradients(loss, var_list), global_step, name)

    def get_slot(self, var: Variable, slot: str) -> Variable:
        """The optimizer's slot variable `slot` (e.g. "momentum", "m", "v") for `var`."""
        return self._slots[(var.name, slot)]

    def _slot(self, var: Variable, slot: str) -> Variable:
        key = (var.name, slot)
        if key not in self._slots:
            graph = var.graph
            with graph.role_scope("forward"), graph.name_scope(var.name + "/" + self.name + "/"):
                self._slots[key] = Variable(create.zeros_like(var.initial_value), name=slot,
                                            trainable=False)
        return self._slots[key]

    def _hyperparameter(self, arg: str, value, valid: Callable[[float], bool], what: str):
        """`value` if it is a finite number that is `what`, or a 0-d float tensor; else a clear
        error naming the optimizer and the argument."""
        if isinstance(value, Tensor):
            if value.shape != () or value.dtype.kind != "f":
                raise InvalidArgumentError(
                    f"{type(self).__name__} {self.name!r}: a {arg} tensor must be a 0-d float, "
                    f"got {value.dtype.name} of shape {value.shape} at {user_source()}")
            return value
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or not valid(value)):
            raise InvalidArgumentError(
                f"{type(self).__name__} {self.name!r}: {arg} must be {what} and finite (a number) "
                f"or a 0-d float tensor, got {value!r} at {user_source()}")
        return float(value)

    @staticmethod
    def _cast(value: float | Tensor, dtype) -> float | Tensor:
        """A hyperparameter for a variable of `dtype`: the number, or the tensor cast to dtype."""
        return M.cast(value, dtype) if isinstance(value, Tensor) and value.dtype != dtype else value

    def _update(self, grad: Tensor, var: Variable) -> Tensor:
        raise NotImplementedError

    def _finish(self, updates: list) -> list:
        return []


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * grad.

    Example:
        >>> import staticgraph as sg
        >>> w = sg.Variable(3.0, name="w")
        >>> step = sg.train.GradientDescentOptimizer(0.25).minimize(w * w)
        >>> with sg.Session() as sess:
        ...     _ = sess.run(sg.global_variables_initializer())
        ...     _ = sess.run(step)
        ...     float(sess.run(w))
        1.5
    """

    def __init__(self, learning_rate: float | Tensor, name: str = "GradientDescent") -> None:
        super().__init__(learning_rate, name)

    def _update(self, grad, var):
        return var.assign_sub(self._cast(self.learning_rate, var.dtype) * grad)


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + grad; var -= learning_rate * accum (TF1's rule).

    With use_nesterov: var -= learning_rate * (grad + momentum * accum).
    """

    def __init__(self, learning_rate: float | Tensor, momentum: float, use_nesterov: bool = False,
                 name: str = "Momentum") -> None:
        super().__init__(learning_rate, name)
        self.momentum = self._hyperparameter("momentum", momentum, lambda v: v >= 0, "non-negative")
        self.use_nesterov = use_nesterov

    def _update(self, grad, var):
        accum = self._slot(var, "momentum")
        momentum = self._cast(self.momentum, var.dtype)
        new_accum = accum.assign(momentum * accum + grad)
        step = grad + momentum * new_accum if self.use_nesterov else new_accum
        return var.assign_sub(self._cast(self.learning_rate, var.dtype) * step)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba) with TF1's update:

        t += 1;  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
        var -= lr_t * m / (sqrt(v) + epsilon)

    (PyTorch's Adam adds epsilon to sqrt(v / (1 - beta2^t)) instead: the two differ only in how
    much epsilon weighs early on.)
    """

    def __init__(self, learning_rate: float | Tensor = 0.001, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8, name: str = "Adam") -> None:
        super().__init__(learning_rate, name)
        self.beta1 = self._hyperparameter("beta1", beta1, lambda v: 0 <= v < 1, "in [0, 1)")
        self.beta2 = self._hyperparameter("beta2", beta2, lambda v: 0 <= v < 1, "in [0, 1)")
        self.epsilon = self._hyperparameter("epsilon", epsilon, lambda v: v >= 0, "non-negative")
        self._powers: dict[int, tuple[Variable, Variable]] = {}

    def _beta_powers(self, var: Variable) -> tuple[Variable, Variable]:
        graph = var.graph
        if id(graph) not in self._powers:
            dtype = var.dtype
            with graph.role_scope("forward"), graph.name_scope(self.name + "/"):
                self._powers[id(graph)] = (
                    Variable(self._initial(self.beta1, dtype), name="beta1_power", trainable=False),
                    Variable(self._initial(self.beta2, dtype), name="beta2_power", trainable=False))
        return self._powers[id(graph)]

    def _initial(self, beta: float | Tensor, dtype):
        return self._cast(beta, dtype) if isinstance(beta, Tensor) else create.constant(beta, dtype)

    def _update(self, grad, var):
        b1_power, b2_power = self._beta_powers(var)
        m, v = self._slot(var, "m"), self._slot(var, "v")
        beta1, beta2, epsilon = (self._cast(h, var.dtype) for h in (self.beta1, self.beta2, self.epsilon))
        lr_t = (self._cast(self.learning_rate, var.dtype) * M.sqrt(1 - M.cast(b2_power, var.dtype))
                / (1 - M.cast(b1_power, var.dtype)))
        new_m = m.assign(beta1 * m + (1 - beta1) * grad)
        new_v = v.assign(beta2 * v + (1 - beta2) * M.square(grad))
        return var.assign_sub(lr_t * new_m / (M.sqrt(new_v) + epsilon))

    def _finish(self, updates):
        graph = updates[0].graph
        b1_power, b2_power = self._powers[id(graph)]
        with graph.control_dependencies(updates):
            return [b1_power.assign(b1_power * self._cast(self.beta1, b1_power.dtype)),
                    b2_power.assign(b2_power * self._cast(self.beta2, b2_power.dtype))]
