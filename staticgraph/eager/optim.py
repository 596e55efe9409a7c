"""Optimizers for eager tensors, as PyTorch's: `SGD` and `Adam` (with `weight_decay`), taking
`model.parameters()`, with `.zero_grad()` and `.step()`.

A step updates each parameter in place under no_grad (the eager twin of the static optimizers'
assign nodes), so the parameters stay the same leaf tensors from step to step.
"""
from __future__ import annotations

from typing import Iterable

from staticgraph.eager.mode import no_grad
from staticgraph.eager.tensor import Tensor
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops import math as M


def _groups(params) -> list[list]:
    """The parameters as groups: PyTorch also takes a list of {"params": [...]} dicts."""
    params = list(params)
    if params and isinstance(params[0], dict):
        return [list(group["params"]) for group in params]
    return [params]


class Optimizer:
    """The parameters and the loop over them; subclasses give `_update(index, param, grad)`."""

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> None:
        self.params = [p for group in _groups(params) for p in group]
        self.weight_decay = weight_decay
        if not self.params:
            raise InvalidArgumentError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.is_leaf or not p.requires_grad:
                raise InvalidArgumentError(f"{type(self).__name__}: parameter {i} must be a leaf "
                                           f"eager tensor with requires_grad=True (can't "
                                           f"optimize a non-leaf Tensor), got {p!r}")
        if lr < 0:
            raise InvalidArgumentError(f"{type(self).__name__}: invalid learning rate {lr}")
        self.lr = lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients (`.grad = None`, as PyTorch 2 does by default, or
        zeros with `set_to_none=False`) before the next backward."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        with no_grad():
            for i, p in enumerate(self.params):
                if p.grad is not None:
                    grad = p.grad if not self.weight_decay else p.grad + self.weight_decay * p
                    self._update(i, p, grad)

    def _update(self, index: int, param: Tensor, grad: Tensor) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent with optional momentum: buf = momentum * buf + grad; p -= lr * buf.

    Example:
        >>> from staticgraph import eager
        >>> w = eager.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = eager.optim.SGD([w], lr=0.25)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.5000, -1.0000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 0.001, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum
        self._buffers: dict[int, Tensor] = {}

    def _update(self, index, param, grad):
        step = grad
        if self.momentum:
            previous = self._buffers.get(index)
            step = grad if previous is None else self.momentum * previous + grad
            self._buffers[index] = step
        param -= self.lr * step


class Adam(Optimizer):
    """Adam as PyTorch has it: m and v are running means of grad and grad**2, bias-corrected,
    and p -= lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params: Iterable[Tensor], lr: float = 0.001, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = tuple(betas), eps
        self._moments: dict[int, tuple[Tensor, Tensor, int]] = {}

    def _update(self, index, param, grad):
        beta1, beta2 = self.betas
        m, v, t = self._moments.get(index, (0.0, 0.0, 0))
        m, v, t = beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad * grad, t + 1
        self._moments[index] = (m, v, t)
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        param -= self.lr * m_hat / (M.sqrt(v_hat) + self.eps)
