"""The notes' §3.4 f(a) in three forms: eager (Python decides, the tape records what ran),
traced by sg.function with AutoGraph (the same source becomes one graph with while_loop and
cond), and hand-written with sg.while_loop and sg.cond. All three give f(a) and df/da = f(a)/a.
"""
import argparse
import os

import numpy as np

import staticgraph as sg
from staticgraph import eager


def f(a):                                   # written exactly as for PyTorch
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def f_by_hand(a):                           # the explicit form
    b = sg.while_loop(lambda b: sg.norm(b) < 1000, lambda b: b * 2, [a * 2])
    return sg.cond(sg.sum(b) > 0, lambda: b, lambda: 100 * b)


@sg.function
def traced(a):
    c = f(a)
    return c, sg.gradients(c, [a])[0]


@sg.function
def by_hand(a):
    c = f_by_hand(a)
    return c, sg.gradients(c, [a])[0]


def main(out_dir: str = "out") -> None:
    print("AutoGraph's rewrite of f (sg.autograph.to_code(f)):")
    print(sg.autograph.to_code(f))
    print()
    print(f"{'a':>10} {'eager f(a)':>14} {'AutoGraph':>14} {'by hand':>14} {'df/da':>12} f(a)/a")
    for a in [0.3, -0.7, 1e-3, -2.5]:
        x = eager.tensor(np.float64(a), requires_grad=True)
        y = f(x)
        y.backward()
        c, grad = traced(np.float64(a))
        c_hand, grad_hand = by_hand(np.float64(a))
        assert float(y) == c == c_hand and float(x.grad) == grad == grad_hand == c / a
        print(f"{a:>10} {float(y):>14.6g} {float(c):>14.6g} {float(c_hand):>14.6g} "
              f"{float(grad):>12.6g} {float(c / a):.6g}")
    graph = traced.traces[0].graph
    ops = sorted({d["op"] for _, d in graph.nx.nodes(data=True) if d["role"] == "forward"})
    print(f"one trace for every a: {len(traced.traces)} trace, forward ops {ops}")
    if not os.environ.get("STATICGRAPH_EXAMPLE_QUICK"):
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "autograph_f.dot")
        sg.write_dot(graph, path)
        print(f"graph written to {path}")


def arguments(argv=None) -> argparse.Namespace:
    """The command line: OUT_DIR (default: out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out",
                        help="where to write the traced graph's drawing (default: out)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(arguments().out_dir)
