"""The libraries tools/bench.py times beside staticgraph, each optional: PyTorch eager, JAX's
`jit` and PyTensor's compiled functions, on one thread, every workload written as that
library's users write it.

A peer's maker for a workload takes the library and the workload's data and gives `(step, read)`:
`step()` is what is timed (results ready when it returns: JAX's are waited for), and
`read(step())` gives the results as numpy arrays, checked against numpy's before timing.
W1: `(xv)` -> [y, dy/dx]. W2: `(params, x, labels, lr)` -> [loss, *parameters after the step],
the parameters updated by SGD in the library's own way. W3: `(kinds, xv, scale, shift)` ->
[sum, gradient] of the elementwise chain.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

# XLA's CPU client on one thread; read when JAX makes its client, so set before JAX is imported
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@dataclass(frozen=True)
class Peer:
    """A library timed beside staticgraph; `key` prefixes its fields in the bench's rows."""
    key: str
    title: str
    module: str
    load: Callable  # () -> the library, imported and set to one thread
    mode: Callable  # (library) -> how its functions run, in words
    makers: dict[str, Callable]  # workload ("w1", "w2", "w3") -> maker

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


def _arrays(results) -> list[np.ndarray]:
    return [np.asarray(r) for r in results]


def _chain(ops: dict, kinds: list[str], x, scale, shift):
    """The W3 chain on `x` with the library's sin and tanh."""
    for kind in kinds:
        x = (ops["sin"](x) if kind == "sin" else ops["tanh"](x) if kind == "tanh"
             else x * scale if kind == "scale" else x + shift)
    return x


# ----- PyTorch eager ----------------------------------------------------------------------------
@functools.cache
def load_torch():
    import torch
    torch.set_num_threads(1)
    return torch


def torch_w1(torch, xv):
    x = torch.tensor(xv, requires_grad=True)

    def step():
        y = 2 * torch.dot(x, x)
        return y, torch.autograd.grad(y, x)[0]
    return step, lambda out: [t.detach().numpy() for t in out]


def torch_w2(torch, params, xv, yv, lr):
    weights = [torch.tensor(p, requires_grad=True) for p in params]
    x, labels = torch.from_numpy(xv), torch.from_numpy(yv)
    layers = len(weights) // 2

    def step() -> float:
        h = x
        for i in range(layers):
            h = h @ weights[2 * i] + weights[2 * i + 1]
            if i < layers - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, labels)  # labels as class probabilities
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            for w, grad in zip(weights, grads):
                w.sub_(grad, alpha=lr)
        return loss.item()
    return step, lambda loss: [loss, *(w.detach().numpy() for w in weights)]


def torch_w3(torch, kinds, xv, scale, shift):
    x = torch.tensor(xv, requires_grad=True)

    def step():
        total = _chain({"sin": torch.sin, "tanh": torch.tanh}, kinds, x, scale, shift).sum()
        return total, torch.autograd.grad(total, x)[0]
    return step, lambda out: [t.detach().numpy() for t in out]


# ----- JAX: jit of value_and_grad ---------------------------------------------------------------
@functools.cache
def load_jax():
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_ONE_THREAD}".strip()
    import jax
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)  # W1 is float64; every array's dtype is explicit
    return jax


def jax_mode(jax) -> str:
    return f"jit, XLA {jax.default_backend()}, x64 on"


def jax_w1(jax, xv):
    jnp = jax.numpy
    value_and_grad = jax.jit(jax.value_and_grad(lambda x: 2 * jnp.dot(x, x)))
    x = jnp.asarray(xv, jnp.float64)
    return lambda: jax.block_until_ready(value_and_grad(x)), _arrays


def jax_w2(jax, params, xv, yv, lr):
    jnp = jax.numpy
    layers = len(params) // 2

    def loss_fn(weights, x, labels):
        h = x
        for i in range(layers):
            h = h @ weights[2 * i] + weights[2 * i + 1]
            if i < layers - 1:
                h = jax.nn.relu(h)
        return -jnp.mean(jnp.sum(labels * jax.nn.log_softmax(h, axis=1), axis=1))

    @functools.partial(jax.jit, donate_argnums=0)  # the old weights' buffers hold the new ones
    def update(weights, x, labels):
        loss, grads = jax.value_and_grad(loss_fn)(weights, x, labels)
        return [w - lr * g for w, g in zip(weights, grads)], loss

    weights = [jnp.asarray(p, jnp.float32) for p in params]
    x, labels = jnp.asarray(xv, jnp.float32), jnp.asarray(yv, jnp.float32)

    def step() -> float:
        nonlocal weights
        weights, loss = update(weights, x, labels)
        return float(loss)
    return step, lambda loss: [loss, *_arrays(weights)]


def jax_w3(jax, kinds, xv, scale, shift):
    jnp = jax.numpy

    def chain_sum(x):
        return jnp.sum(_chain({"sin": jnp.sin, "tanh": jnp.tanh}, kinds, x, scale, shift))
    value_and_grad = jax.jit(jax.value_and_grad(chain_sum))
    x = jnp.asarray(xv, jnp.float32)
    return lambda: jax.block_until_ready(value_and_grad(x)), _arrays


# ----- PyTensor: pytensor.function with pytensor.grad ------------------------------------------
@functools.cache
def load_pytensor():
    import pytensor
    import pytensor.tensor  # noqa: F401  (pytensor.tensor is used through the package)
    return pytensor


def pytensor_mode(pytensor) -> str:
    """The default mode's linker (PYTENSOR_FLAGS may choose another): numba, cvm, ..."""
    linker = pytensor.compile.mode.get_default_mode().linker
    return f"{type(linker).__name__.removesuffix('Linker').lower()} linker"


def pytensor_w1(pytensor, xv):
    pt = pytensor.tensor
    x = pt.vector("x", dtype="float64")
    y = 2 * pt.dot(x, x)
    f = pytensor.function([x], [y, pytensor.grad(y, x)])
    return lambda: f(xv), _arrays


def pytensor_w2(pytensor, params, xv, yv, lr):
    pt = pytensor.tensor
    weights = [pytensor.shared(p, name=f"p{i}") for i, p in enumerate(params)]
    x, labels = pt.matrix("x", dtype="float32"), pt.matrix("labels", dtype="float32")
    layers, h = len(weights) // 2, x
    for i in range(layers):
        h = h @ weights[2 * i] + weights[2 * i + 1]
        if i < layers - 1:
            h = pt.maximum(h, 0)
    loss = -(labels * pt.special.log_softmax(h, axis=1)).sum(axis=1).mean()
    grads = pytensor.grad(loss, weights)
    lr = np.float32(lr)  # a Python float would make the updates float64
    f = pytensor.function([x, labels], loss,
                          updates=[(w, w - lr * g) for w, g in zip(weights, grads)])
    return (lambda: float(f(xv, yv)),
            lambda loss: [loss, *(w.get_value(borrow=True) for w in weights)])


def pytensor_w3(pytensor, kinds, xv, scale, shift):
    pt = pytensor.tensor
    x = pt.vector("x", dtype="float32")
    total = _chain({"sin": pt.sin, "tanh": pt.tanh}, kinds, x, np.float32(scale),
                   np.float32(shift)).sum()
    f = pytensor.function([x], [total, pytensor.grad(total, x)])
    return lambda: f(xv), _arrays


PEERS = (
    Peer("torch", "PyTorch", "torch", load_torch, lambda torch: "eager",
         {"w1": torch_w1, "w2": torch_w2, "w3": torch_w3}),
    Peer("jax", "JAX", "jax", load_jax, jax_mode, {"w1": jax_w1, "w2": jax_w2, "w3": jax_w3}),
    Peer("pytensor", "PyTensor", "pytensor", load_pytensor, pytensor_mode,
         {"w1": pytensor_w1, "w2": pytensor_w2, "w3": pytensor_w3}),
)


def installed_peers() -> list[Peer]:
    """The peers installed here, in the table's order."""
    return [peer for peer in PEERS if peer.installed()]
