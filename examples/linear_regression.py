"""Linear regression trained both ways, from the same data and the same initial weights.

Static (explicit): placeholders and Variables, `sg.train.GradientDescentOptimizer(lr).minimize`
adds gradient and update nodes to the graph once; every step is one `Session.run`.
Eager (implicit): every step runs the model on eager tensors, `backward()` fills `.grad`, and
`eager.optim.SGD` updates the weights in place. The loss function is one Python function used by
both. Same data, same start, same steps: the final weights agree to float precision.
Run: python examples/linear_regression.py [--quick]   (or STATICGRAPH_EXAMPLE_QUICK=1)
"""
import argparse
import os
import sys

import numpy as np

import staticgraph as sg
from staticgraph import eager

TRUE_W, TRUE_B = np.array([2.0, -3.0, 0.5]), 1.0
LEARNING_RATE = 0.1


def make_data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = X w + b + noise, with the true w and b above."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, len(TRUE_W)))
    return features, features @ TRUE_W + TRUE_B + 0.1 * rng.normal(size=samples)


def loss_fn(features, targets, w, b):
    """Mean squared error: builds nodes on static tensors, runs at once on eager ones."""
    return sg.mean((features @ w + b - targets) ** 2)


def train_static(features, targets, w0, b0, steps: int):
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, features.shape, name="x")
        y = sg.placeholder(sg.float64, targets.shape, name="y")
        w, b = sg.Variable(w0, name="w"), sg.Variable(b0, name="b")
        loss = loss_fn(x, y, w, b)
        train = sg.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
        init = sg.global_variables_initializer()
    print(f"static graph built once: {len(graph)} nodes")
    with sg.Session(graph) as sess:
        sess.run(init)
        for _ in range(steps):
            sess.run(train, {x: features, y: targets})
        return sess.run([w, b, loss], {x: features, y: targets})


def train_eager(features, targets, w0, b0, steps: int):
    w = eager.tensor(w0, requires_grad=True, name="w")
    b = eager.tensor(b0, requires_grad=True, name="b")
    optimizer = eager.optim.SGD([w, b], lr=LEARNING_RATE)
    x, y = eager.tensor(features), eager.tensor(targets)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(x, y, w, b)  # recorded anew on every step
        loss.backward()
        optimizer.step()
    print(f"eager: each step recorded {len(loss.recorded_graph())} nodes and ran them at once")
    return w.detach().numpy(), b.detach().numpy(), loss_fn(x, y, w, b).detach().numpy()


def main(quick: bool = False) -> bool:
    samples, steps = (50, 20) if quick else (200, 100)
    features, targets = make_data(samples)
    w0, b0 = np.zeros(len(TRUE_W)), np.float64(0.0)
    print(f"{samples} samples, {steps} full-batch steps of gradient descent, lr={LEARNING_RATE}")
    static = train_static(features, targets, w0, b0, steps)
    eager_result = train_eager(features, targets, w0, b0, steps)
    print(f"\n{'':8} {'w':>32} {'b':>8} {'loss':>9}")
    print(f"{'true':8} {np.array2string(TRUE_W, precision=5):>32} {TRUE_B:8.5f}")
    for label, (w, b, loss) in (("static", static), ("eager", eager_result)):
        print(f"{label:8} {np.array2string(w, precision=5):>32} {float(b):8.5f} {float(loss):9.6f}")
    diff = max(float(np.max(np.abs(s - e))) for s, e in zip(static, eager_result))
    agree = diff <= 1e-9
    print(f"\nlargest difference between the styles: {diff:.3g} ({'agree' if agree else 'DIFFER'})")
    return agree


def arguments(argv=None) -> argparse.Namespace:
    """The command line: --quick (or STATICGRAPH_EXAMPLE_QUICK=1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (a smoke test)",
                        default=os.environ.get("STATICGRAPH_EXAMPLE_QUICK", "0") != "0")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(0 if main(arguments().quick) else 1)
