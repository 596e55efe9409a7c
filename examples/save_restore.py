"""Saving and restoring a model's variables with `sg.train.Saver` (.npz checkpoints, no pickle).

Variables live in a Session, not in the graph: a new session starts with none of them, and reading
one is an error until it is initialised or restored. This example trains a small linear model,
saves a checkpoint halfway, restores it into a new session and into a freshly built graph (as a
separate program would), and checks that training on from the checkpoint ends exactly where
uninterrupted training does.
Run: python examples/save_restore.py [OUT_DIR] [--quick]   (or STATICGRAPH_EXAMPLE_QUICK=1)
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

import staticgraph as sg

RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(64, 3))
TARGETS = FEATURES @ np.array([1.5, -2.0, 0.25]) + 0.5


def build():
    """The model in a new graph: the same code gives the same variable names every time."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        y = sg.placeholder(sg.float64, (None,), name="y")
        w, b = sg.Variable(np.zeros(3), name="w"), sg.Variable(0.0, dtype=sg.float64, name="b")
        prediction = x @ w + b
        loss = sg.mean((prediction - y) ** 2)
        train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        model = {"x": x, "y": y, "w": w, "b": b, "prediction": prediction, "train": train,
                 "init": sg.global_variables_initializer(), "saver": sg.train.Saver()}
    return graph, model


def train(sess, model, steps: int) -> None:
    for _ in range(steps):
        sess.run(model["train"], {model["x"]: FEATURES, model["y"]: TARGETS})


def weights(sess, model) -> np.ndarray:
    return np.append(sess.run(model["w"]), sess.run(model["b"]))


def show(label: str, values: np.ndarray) -> None:
    print(f"{label:<38} w, b = {values}")


def main(out_dir: str = "out", quick: bool = False) -> bool:
    steps = 5 if quick else 50
    path = Path(out_dir) / "linear_model.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    graph, model = build()
    with sg.Session(graph) as sess:
        sess.run(model["init"])
        train(sess, model, steps)
        saved = weights(sess, model)
        show(f"after {steps} steps", saved)
        print(f"saved to {model['saver'].save(sess, path)}")
        train(sess, model, steps)
        uninterrupted = weights(sess, model)
    with sg.Session(graph) as sess:
        try:
            sess.run(model["w"])
        except sg.errors.FailedPreconditionError as exc:
            print(f"a new session holds no variables: {exc}")
        model["saver"].restore(sess, path)
        show("restored into a new session", weights(sess, model))
    new_graph, new_model = build()  # as another program would: rebuild, then restore
    with sg.Session(new_graph) as sess:
        new_model["saver"].restore(sess, path)
        restored = weights(sess, new_model)
        train(sess, new_model, steps)
        resumed = weights(sess, new_model)
        probe = sess.run(new_model["prediction"], {new_model["x"]: FEATURES[:2]})
    show("restored into a rebuilt graph", restored)
    show(f"then trained on for {steps} steps", resumed)
    show(f"trained {2 * steps} steps without a break", uninterrupted)
    same = bool(np.array_equal(restored, saved) and np.array_equal(resumed, uninterrupted))
    print(f"restored = saved, and resumed training ends where uninterrupted training does: {same}")
    print(f"predictions of the rebuilt model for two samples: {probe}")
    return same


def arguments(argv=None) -> argparse.Namespace:
    """The command line: OUT_DIR (default: out), --quick (or STATICGRAPH_EXAMPLE_QUICK=1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out",
                        help="where to write drawings (default: out)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (a smoke test)",
                        default=os.environ.get("STATICGRAPH_EXAMPLE_QUICK", "0") != "0")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = arguments()
    sys.exit(0 if main(args.out_dir, args.quick) else 1)
