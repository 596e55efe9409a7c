"""The MLP workload: a 64 -> 32 -> 10 classifier trained by minibatch SGD in both styles.

The data are synthetic digits: ten random 8x8 "prototype" images, each sample one of them plus
noise, in [0, 1]. Both styles start from the same weights and see the same batches in the same
order, so their loss curves and trained weights must agree to float tolerance. The model is one
Python function used by both: on placeholders and Variables it builds nodes, on eager tensors it
runs.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

import staticgraph as sg
from staticgraph import eager
from staticgraph.compare.workload import EagerProgram, EagerStep, StaticProgram, Workload, as_numpy

SIZES = (64, 32, 10)
SAMPLES, BATCH, EPOCHS, QUICK_EPOCHS = 256, 32, 30, 1
LEARNING_RATE = 0.2
NOISE = 0.5
PARAMS = ("W1", "b1", "W2", "b2")


class Data(NamedTuple):
    """Features (samples, 64), integer labels, and the sample indices of every step's batch."""
    features: np.ndarray
    labels: np.ndarray
    batches: np.ndarray


def synthetic_digits(samples: int = SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`samples` noisy copies of ten random 8x8 prototypes: features in [0, 1] and labels 0..9."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((SIZES[-1], SIZES[0])) > 0.6
    labels = rng.integers(0, SIZES[-1], samples)
    features = np.clip(prototypes[labels] + rng.normal(0.0, NOISE, (samples, SIZES[0])), 0.0, 1.0)
    return features, labels.astype(np.int64)


def _data() -> Data:
    features, labels = synthetic_digits()
    rng = np.random.default_rng(1)
    orders = [rng.permutation(SAMPLES) for _ in range(EPOCHS)]
    return Data(features, labels, np.concatenate(orders).reshape(-1, BATCH))


DATA = _data()


def initial_params(seed: int = 2) -> dict[str, np.ndarray]:
    """He-initialised weights and zero biases, the same for both styles."""
    rng = np.random.default_rng(seed)
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:]), start=1):
        params[f"W{k}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
        params[f"b{k}"] = np.zeros(fan_out)
    return params


def loss_fn(params: dict, features, labels):
    """Mean cross-entropy of relu(x W1 + b1) W2 + b2: builds nodes or runs, by the inputs' style."""
    hidden = sg.relu(features @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    return sg.mean(sg.sparse_softmax_cross_entropy_with_logits(labels, logits))


def batch(i: int) -> tuple[np.ndarray, np.ndarray]:
    """The features and labels of step i."""
    rows = DATA.batches[i % len(DATA.batches)]
    return DATA.features[rows], DATA.labels[rows]


def _static() -> StaticProgram:
    graph = sg.Graph()
    with graph.as_default():
        features = sg.placeholder(sg.float64, (BATCH, SIZES[0]), name="features")
        labels = sg.placeholder(sg.int64, (BATCH,), name="labels")
        params = {name: sg.Variable(value, name=name) for name, value in initial_params().items()}
        loss = loss_fn(params, features, labels)
        optimizer = sg.train.GradientDescentOptimizer(LEARNING_RATE)
        grads_and_vars = optimizer.compute_gradients(loss, [params[n] for n in PARAMS])
        train = optimizer.apply_gradients(grads_and_vars)
        init = sg.global_variables_initializer()
    fetches = {"loss": loss, "train": train}
    fetches.update({f"d{name}": g for name, (g, _) in zip(PARAMS, grads_and_vars)})

    def feeds(i):
        x, y = batch(i)
        return {features: x, labels: y}
    return StaticProgram(graph, fetches, feeds, init, params)


def _eager() -> EagerProgram:
    params = {name: eager.tensor(value, requires_grad=True, name=name)
              for name, value in initial_params().items()}
    optimizer = eager.optim.SGD(list(params.values()), lr=LEARNING_RATE)

    def step(i):
        x, y = batch(i)
        optimizer.zero_grad()
        loss = loss_fn(params, eager.tensor(x), eager.tensor(y))
        loss.backward()
        values = {"loss": loss, **{f"d{name}": params[name].grad for name in PARAMS}}
        values = as_numpy(values)  # read before the step changes the parameters
        optimizer.step()
        return EagerStep(values, [loss])
    return EagerProgram(step, lambda: as_numpy(params))


def accuracy(params: dict[str, np.ndarray]) -> float:
    """The fraction of the whole data set the trained parameters classify right (numpy)."""
    hidden = np.maximum(DATA.features @ params["W1"] + params["b1"], 0.0)
    logits = hidden @ params["W2"] + params["b2"]
    return float(np.mean(np.argmax(logits, axis=1) == DATA.labels))


STEPS_PER_EPOCH = SAMPLES // BATCH
WORKLOAD = Workload(
    "mlp", f"MLP {'→'.join(map(str, SIZES))}, SGD",
    f"minibatch training ({BATCH} samples a step) on synthetic digits; same batches, same start",
    _static, _eager, frozenset(f"d{name}" for name in PARAMS),
    steps=EPOCHS * STEPS_PER_EPOCH, quick_steps=QUICK_EPOCHS * STEPS_PER_EPOCH)
