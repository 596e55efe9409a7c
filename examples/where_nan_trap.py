"""The where NaN trap: where(x > 0, log(x), 0) has a NaN gradient at x = 0, in both styles.

`where` computes both branches everywhere and picks per element. Its vjp sends the cotangent
to the taken branch and zeros to the other, but the other branch's vjp still runs: for log
that is 0 / x, and at x = 0 it is 0 / 0 = NaN (for sqrt, whose vjp divides by sqrt(x), every
x < 0 gives 0 / NaN = NaN). NaN times anything stays NaN, so it reaches the gradient.

The safe pattern: make the untaken branch harmless *before* the op, so its value and its vjp
are finite: where(x > 0, log(where(x > 0, x, 1)), 0).
Run: python examples/where_nan_trap.py
"""
import argparse
import numpy as np

import staticgraph as sg
from staticgraph import eager

X = np.array([-1.0, 0.0, 2.0])


def unsafe(x):
    return sg.where(x > 0, sg.log(x), sg.zeros_like(x))


def safe(x):
    positive = x > 0
    return sg.where(positive, sg.log(sg.where(positive, x, sg.ones_like(x))), sg.zeros_like(x))


def static_gradient(fn):
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, X.shape, name="x")
        (grad,) = sg.gradients(sg.sum(fn(x)), [x])
        return sg.Session(graph).run(grad, {x: X})


def eager_gradient(fn):
    x = eager.tensor(X, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def main() -> dict:
    results = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for label, fn in (("where(x > 0, log(x), 0)", unsafe), ("safe pattern", safe)):
            results[label] = (static_gradient(fn), eager_gradient(fn))
            print(f"{label:28} x = {X}\n{'':28} static grad = {results[label][0]}"
                  f"\n{'':28} eager grad  = {results[label][1]}")
    return results


def arguments(argv=None) -> argparse.Namespace:
    """The command line (--help; this example takes no arguments)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments()
    main()
