"""The notes' §3.4 f(a) in the static style: the loop and the branch live in the graph.

    b = 2a; while ||b|| < 1000: b = 2b;  c = b if sum(b) > 0 else 100 b

In the eager style Python's own `while` and `if` decide as the values arrive. Here the graph
is built once, before any value exists, so the loop and the branch are graph nodes
(`sg.while_loop`, `sg.cond`) holding their bodies as sub-graphs; the same graph then serves every
input, whichever branch and however many iterations it takes. f is piecewise linear (f(a) = k a),
so its gradient must equal f(a) / a. Writes the graph, sub-graphs included, to out/control_flow.dot.
Run: python examples/control_flow.py [OUT_DIR]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

import staticgraph as sg


def f(a):
    """The notes' f, written with graph control flow."""
    b = a * 2
    b = sg.while_loop(lambda b: sg.norm(b) < 1000, lambda b: b * 2, [b])
    return sg.cond(sg.sum(b) > 0, lambda: b, lambda: 100 * b)


def main(out_dir: str = "out", seed: int = 0) -> bool:
    rng = np.random.default_rng(seed)
    graph = sg.Graph()
    with graph.as_default():
        a_scalar = sg.placeholder(sg.float64, (), name="a")
        d_scalar = f(a_scalar)
        (g_scalar,) = sg.gradients(d_scalar, [a_scalar])
        a_vector = sg.placeholder(sg.float64, (3,), name="a_vec")
        d_vector = f(a_vector)
        (g_vector,) = sg.gradients(sg.sum(d_vector), [a_vector])
    sess = sg.Session(graph)
    ok = True
    print(f"{'a':>28}  {'f(a)':>30}  {'df/da':>30}  {'f(a)/a':>30}  match")
    for value in [rng.normal(), -abs(rng.normal()), rng.normal(size=3), -np.abs(rng.normal(size=3))]:
        vector = np.ndim(value) == 1
        a, d, g = (a_vector, d_vector, g_vector) if vector else (a_scalar, d_scalar, g_scalar)
        d_val, g_val = sess.run([d, g], {a: value})
        ratio = d_val / value
        match = bool(np.allclose(g_val, ratio))
        ok &= match
        print(f"{np.array2string(np.asarray(value), precision=3):>28}  "
              f"{np.array2string(np.asarray(d_val), precision=1):>30}  "
              f"{np.array2string(np.asarray(g_val), precision=1):>30}  "
              f"{np.array2string(np.asarray(ratio), precision=1):>30}  {match}")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = Path(out_dir) / "control_flow.dot"
    sg.write_dot(sg.to_dot([d_scalar, g_scalar], title="f(a) and its gradient"), path)
    print(f"graph written to {path}")
    return ok


def arguments(argv=None) -> argparse.Namespace:
    """The command line: OUT_DIR (default: out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out",
                        help="where to write drawings (default: out)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(0 if main(arguments().out_dir) else 1)
