"""An MLP classifier (64 -> 32 -> 10) for 8x8 digit images, trained in the static style.

Uses scikit-learn's bundled digits data set when scikit-learn is installed (it is optional:
`pip install scikit-learn`), else synthetic digits (noisy copies of ten random 8x8 patterns).
The graph is built once: a batch placeholder of unknown size, Variables, softmax cross-entropy,
and `sg.train.MomentumOptimizer(...).minimize(loss)`, which adds the gradient and update nodes;
its learning rate is a placeholder, fed each step from a schedule that halves it every ten epochs.
Training runs minibatches through one Session (with a progress bar when tqdm is installed), then
prints the accuracy on the training and the held-out samples.
Run: python examples/mlp_digits.py [--quick]   (or STATICGRAPH_EXAMPLE_QUICK=1)
"""
import argparse
import os
import sys

import numpy as np

import staticgraph as sg
from staticgraph.progress import progress
from staticgraph.compare.mlp import synthetic_digits

SIZES = (64, 32, 10)
BATCH, LEARNING_RATE, MOMENTUM = 32, 0.05, 0.9


def learning_rate(epoch: int) -> float:
    """The schedule: LEARNING_RATE, halved every ten epochs."""
    return LEARNING_RATE * 0.5 ** (epoch // 10)


def load_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """Features scaled to [0, 1], integer labels, and where they came from."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        features, labels = synthetic_digits(1500)
        return features, labels, "synthetic digits (scikit-learn is not installed)"
    digits = sklearn_digits()
    return digits.data / 16.0, digits.target.astype(np.int64), "scikit-learn's digits"


def build(seed: int = 0):
    """The model, its loss, accuracy and training op, in a new graph."""
    rng = np.random.default_rng(seed)
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, (None, SIZES[0]), name="x")
        labels = sg.placeholder(sg.int64, (None,), name="labels")
        h = x
        for k, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:]), start=1):
            with sg.name_scope(f"layer{k}"):
                w = sg.Variable(rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)), name="w")
                b = sg.Variable(np.zeros(fan_out), name="b")
                h = h @ w + b
                h = sg.relu(h) if k < len(SIZES) - 1 else h
        loss = sg.mean(sg.sparse_softmax_cross_entropy_with_logits(labels, h))
        accuracy = sg.mean(sg.cast(sg.equal(sg.argmax(h, axis=1), labels), sg.float64))
        rate = sg.placeholder(sg.float64, (), name="learning_rate")
        train = sg.train.MomentumOptimizer(rate, MOMENTUM).minimize(loss)
        init = sg.global_variables_initializer()
    return graph, (x, labels, rate), loss, accuracy, train, init


def main(quick: bool = False) -> bool:
    features, targets, source = load_digits()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(targets))
    split = int(0.8 * len(order))
    train_rows, test_rows = order[:split], order[split:]
    if quick:
        train_rows = train_rows[:256]
    epochs = 3 if quick else 30
    print(f"data: {source}, {len(train_rows)} training and {len(test_rows)} held-out samples")
    graph, (x, labels, rate), loss, accuracy, train, init = build()
    print(f"graph built once: {len(graph)} nodes; training {epochs} epochs of batches of {BATCH}")
    with sg.Session(graph) as sess:
        sess.run(init)
        for epoch in progress(range(epochs), "epochs"):
            shuffled = rng.permutation(train_rows)
            for start in range(0, len(shuffled), BATCH):
                rows = shuffled[start:start + BATCH]
                sess.run(train, {x: features[rows], labels: targets[rows],
                                 rate: learning_rate(epoch)})
        results = {name: sess.run([loss, accuracy], {x: features[rows], labels: targets[rows]})
                   for name, rows in (("training", train_rows), ("held-out", test_rows))}
    for name, (loss_value, acc) in results.items():
        print(f"{name:>8} loss {loss_value:.4f}  accuracy {acc:.1%}")
    return results["held-out"][1] > 0.5


def arguments(argv=None) -> argparse.Namespace:
    """The command line: --quick (or STATICGRAPH_EXAMPLE_QUICK=1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (a smoke test)",
                        default=os.environ.get("STATICGRAPH_EXAMPLE_QUICK", "0") != "0")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(0 if main(arguments().quick) else 1)
