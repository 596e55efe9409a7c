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
    """Base class: subclasses define `_update(grad, var) -> op` and, if needed, `_finish(updates)`.

    `use_locking`, and `compute_gradients`' `gate_gradients`, `aggregation_method` and
    `colocate_gradients_with_ops`, are accepted for TensorFlow 1 compatibility and have no effect
    (a session runs one step at a time, on one device).
    """

    GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2

    def __init__(self, learning_rate: float | Tensor, use_locking: bool, name: str) -> None:
        self.name = name
        self.learning_rate = self._hyperparameter("learning_rate", learning_rate,
                                                  lambda v: v > 0, "positive")
        self._slots: dict[str, dict[str, Variable]] = {}

    def compute_gradients(self, loss: Tensor, var_list: Sequence[Variable] | None = None,
                          gate_gradients: int = GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops: bool = False,
                          grad_loss: Tensor | None = None) -> list:
        """[(gradient, variable)] for each variable (gradient None where loss does not depend on
        it); `grad_loss` is the cotangent of `loss` (ones by default)."""
        var_list = list(var_list) if var_list is not None else trainable_variables(loss.graph)
        if not var_list:
            raise InvalidArgumentError(f"{self.name}: no variables to optimise at {user_source()}")
        grad_ys = None if grad_loss is None else [grad_loss]
        return list(zip(gradients(loss, var_list, grad_ys=grad_ys), var_list))

    def apply_gradients(self, grads_and_vars, global_step: Variable | None = None,
                        name: str | None = None) -> Tensor:
        """An op applying one update per (gradient, variable) pair with a gradient; with
        `global_step`, the op adds 1 to it after every update (TF1), and its value is the new step."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise InvalidArgumentError(f"{self.name}: no variable has a gradient at {user_source()}")
        graph = pairs[0][1].graph
        with graph.as_default(), graph.name_scope(name or self.name):
            with graph.role_scope("update"):
                updates = [self._update(g, v) for g, v in pairs]
                updates += self._finish(updates)
                if global_step is None:
                    return group(*updates, name="update")
                with graph.control_dependencies(updates):
                    return global_step.assign_add(create.ones_like(global_step), name="update")

    def minimize(self, loss: Tensor, global_step: Variable | None = None,
                 var_list: Sequence[Variable] | None = None, gate_gradients: int = GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops: bool = False,
                 name: str | None = None, grad_loss: Tensor | None = None) -> Tensor:
        """compute_gradients then apply_gradients: the op of one training step."""
        pairs = self.compute_gradients(loss, var_list, grad_loss=grad_loss)
        return self.apply_gradients(pairs, global_step, name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The optimizer's slot variable `name` for `var` (see `get_slot_names`), or None if it
        has none (TF1). Slots exist once `minimize` / `apply_gradients` has been called."""
        return self._slots.get(name, {}).get(var.name)

    def get_slot_names(self) -> list[str]:
        """The sorted names of the slots this optimizer has created (Momentum: "momentum";
        Adam: "m", "v"; RMSProp: "momentum", "rms" and, centered, "mg"; Adagrad: "accumulator")."""
        return sorted(self._slots)

    def _slot(self, var: Variable, slot: str, fill: float = 0.0) -> Variable:
        """Slot `slot` of `var`: a variable of var's shape and dtype, initialised to `fill`."""
        slots = self._slots.setdefault(slot, {})
        if var.name not in slots:
            graph = var.graph
            with graph.as_default(), graph.control_dependencies(None), graph.role_scope("forward"), \
                    graph.name_scope(var.name + "/" + self.name + "/"):
                initial = create.zeros_like(var.initial_value) if fill == 0 else \
                    create.ones_like(var.initial_value) * fill
                slots[var.name] = Variable(initial, name=slot, trainable=False)
        return slots[var.name]

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

    def __init__(self, learning_rate: float | Tensor, use_locking: bool = False,
                 name: str = "GradientDescent") -> None:
        super().__init__(learning_rate, use_locking, name)

    def _update(self, grad, var):
        return var.assign_sub(self._cast(self.learning_rate, var.dtype) * grad)


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + grad; var -= learning_rate * accum (TF1's rule).

    With use_nesterov: var -= learning_rate * (grad + momentum * accum).
    """

    def __init__(self, learning_rate: float | Tensor, momentum: float | Tensor,
                 use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:
        super().__init__(learning_rate, use_locking, name)
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
                 beta2: float = 0.999, epsilon: float = 1e-8, use_locking: bool = False,
                 name: str = "Adam") -> None:
        super().__init__(learning_rate, use_locking, name)
        self.beta1 = self._hyperparameter("beta1", beta1, lambda v: 0 <= v < 1, "in [0, 1)")
        self.beta2 = self._hyperparameter("beta2", beta2, lambda v: 0 <= v < 1, "in [0, 1)")
        self.epsilon = self._hyperparameter("epsilon", epsilon, lambda v: v >= 0, "non-negative")
        self._powers: dict[int, tuple[Variable, Variable]] = {}

    def _beta_powers(self, var: Variable) -> tuple[Variable, Variable]:
        graph = var.graph
        if id(graph) not in self._powers:
            dtype = var.dtype
            with graph.control_dependencies(None), graph.role_scope("forward"), \
                    graph.name_scope(self.name + "/"):
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


class RMSPropOptimizer(Optimizer):
    """RMSProp with TF1's update (slot "rms" starts at ones, "momentum" at zeros):

        rms = decay rms + (1 - decay) g^2
        momentum = momentum_coef * momentum + lr * g / sqrt(rms + epsilon);  var -= momentum

    With `centered`, a slot "mg" (zeros) tracks the mean gradient, mg = decay mg + (1 - decay) g,
    and rms - mg^2 replaces rms under the square root.
    """

    def __init__(self, learning_rate: float | Tensor, decay: float | Tensor = 0.9,
                 momentum: float | Tensor = 0.0, epsilon: float | Tensor = 1e-10,
                 use_locking: bool = False, centered: bool = False,
                 name: str = "RMSProp") -> None:
        super().__init__(learning_rate, use_locking, name)
        self.decay = self._hyperparameter("decay", decay, lambda v: 0 <= v <= 1, "in [0, 1]")
        self.momentum = self._hyperparameter("momentum", momentum, lambda v: v >= 0, "non-negative")
        self.epsilon = self._hyperparameter("epsilon", epsilon, lambda v: v >= 0, "non-negative")
        self.centered = bool(centered)

    def _update(self, grad, var):
        rms = self._slot(var, "rms", fill=1.0)
        mg = self._slot(var, "mg") if self.centered else None
        mom = self._slot(var, "momentum")
        lr, decay, momentum, epsilon = (self._cast(h, var.dtype) for h in
                                        (self.learning_rate, self.decay, self.momentum, self.epsilon))
        mean_square = rms.assign(decay * rms + (1 - decay) * M.square(grad))
        if mg is not None:
            mean_square = mean_square - M.square(mg.assign(decay * mg + (1 - decay) * grad))
        step = mom.assign(momentum * mom + lr * grad / M.sqrt(mean_square + epsilon))
        return var.assign_sub(step)


class AdagradOptimizer(Optimizer):
    """Adagrad with TF1's update (slot "accumulator" starts at `initial_accumulator_value`):

        accumulator += g^2;  var -= lr * g / sqrt(accumulator)
    """

    def __init__(self, learning_rate: float | Tensor, initial_accumulator_value: float = 0.1,
                 use_locking: bool = False, name: str = "Adagrad") -> None:
        super().__init__(learning_rate, use_locking, name)
        value = initial_accumulator_value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
                or not math.isfinite(value):
            raise InvalidArgumentError(f"AdagradOptimizer {name!r}: initial_accumulator_value must "
                                       f"be positive: {value!r} at {user_source()}")
        self.initial_accumulator_value = float(value)

    def _update(self, grad, var):
        accumulator = self._slot(var, "accumulator", fill=self.initial_accumulator_value)
        total = accumulator.assign_add(M.square(grad))
        return var.assign_sub(self._cast(self.learning_rate, var.dtype) * grad / M.sqrt(total))
