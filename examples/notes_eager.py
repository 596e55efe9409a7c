"""The study notes' §3 autodiff cells in the eager (implicit, define-by-run) style.

Every PyTorch cell of §3.1-3.4 runs unchanged in form, with `eager` in place of `torch`, and
prints what the notes show. Then the dynamic graph f(a) recorded is drawn for two inputs to
OUT_DIR/notes_eager_f_*.dot (and .svg when Graphviz is installed): it holds only the branch
Python took and the loop unrolled, and a new one is recorded on every call.
Run: python examples/notes_eager.py [OUT_DIR]
"""
import argparse
import sys
from pathlib import Path

import staticgraph as sg
from staticgraph import eager
from staticgraph.io.display import graphviz_available

CHECKS: list[tuple[str, bool]] = []


def show(code: str, value) -> None:
    """Print a cell's line and its value, as a notebook would."""
    print(f">>> {code}\n{value!r}")


def check(what: str, ok) -> None:
    CHECKS.append((what, bool(ok)))


def simple_example() -> eager.Tensor:
    """§3.1: y = 2 x.x, its gradient 4x, then the gradient of x.sum()."""
    print("# 3.1 A simple example")
    x = eager.arange(4.0)
    show("x = eager.arange(4.0)", x)
    x.requires_grad_(True)  # same as x = eager.arange(4.0, requires_grad=True)
    show("x.grad  # None by default", x.grad)
    y = 2 * eager.dot(x, x)
    show("y = 2 * eager.dot(x, x)", y)
    y.backward()
    show("y.backward(); x.grad", x.grad)
    show("x.grad == 4 * x", x.grad == 4 * x)
    check("y = 28", float(y) == 28.0)
    check("x.grad == 4x", (x.grad == 4 * x).numpy().all())
    x.grad.zero_()  # gradients accumulate: clear the previous value
    y = x.sum()
    y.backward()
    show("x.grad.zero_(); y = x.sum(); y.backward(); x.grad", x.grad)
    check("d sum(x)/dx == ones", (x.grad == eager.ones(4)).numpy().all())
    return x


def non_scalar(x: eager.Tensor) -> None:
    """§3.2: backward of a non-scalar needs a gradient; y.sum() asks for the sum of partials."""
    print("\n# 3.2 Backward for non-scalar variables")
    x.grad.zero_()
    y = x * x
    y.sum().backward()  # same as y.backward(eager.ones(len(x)))
    show("x.grad.zero_(); y = x * x; y.sum().backward(); x.grad", x.grad)
    check("d sum(x*x)/dx == 2x", (x.grad == 2 * x).numpy().all())
    x.grad.zero_()
    (x * x).backward(eager.ones(len(x)))
    show("(x * x).backward(eager.ones(len(x))); x.grad", x.grad)
    check("gradient=ones gives 2x", (x.grad == 2 * x).numpy().all())


def detach(x: eager.Tensor) -> None:
    """§3.3: u = y.detach() is a constant to backward; y itself still has its history."""
    print("\n# 3.3 Detaching computation")
    x.grad.zero_()
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    show("y = x * x; u = y.detach(); z = u * x; z.sum().backward(); x.grad == u", x.grad == u)
    check("dz/dx == u", (x.grad == u).numpy().all())
    x.grad.zero_()
    y.sum().backward()
    show("x.grad.zero_(); y.sum().backward(); x.grad == 2 * x", x.grad == 2 * x)
    check("d sum(y)/dx == 2x", (x.grad == 2 * x).numpy().all())


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def control_flow() -> None:
    """§3.4: Python's while and if decide on values; f is piecewise linear, so grad == f(a)/a."""
    print("\n# 3.4 Python control flow")
    eager.manual_seed(0)
    a = eager.randn(size=(), requires_grad=True)
    d = f(a)
    d.backward()
    show("a = eager.randn(size=(), requires_grad=True); d = f(a); d.backward(); "
         "a.grad, d / a, a.grad == d / a", (a.grad, d / a, a.grad == d / a))
    check("a.grad == f(a)/a", a.grad == d / a)


def draw(out_dir: str) -> None:
    """Record f's dynamic graph for two inputs: a different branch and loop count each."""
    print("\n# The graphs f(a) recorded")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for label, value in (("positive", 0.37), ("negative", -120.0)):
        a = eager.tensor(value, requires_grad=True, name="a")
        graph = f(a).recorded_graph()
        ops = sorted(op for _, op in graph.nx.nodes(data="op"))
        print(f"a = {value}: {len(graph)} nodes, {ops.count('multiply')} multiplies")
        dot = sg.to_dot(graph, title=f"f(a) recorded for a = {value}")
        for suffix in (".dot", ".svg") if graphviz_available() else (".dot",):
            print("wrote", sg.write_dot(dot, out / f"notes_eager_f_{label}{suffix}"))


def main(out_dir: str = "out") -> bool:
    x = simple_example()
    non_scalar(x)
    detach(x)
    control_flow()
    draw(out_dir)
    print()
    for what, ok in CHECKS:
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return all(ok for _, ok in CHECKS)


def arguments(argv=None) -> argparse.Namespace:
    """The command line: OUT_DIR (default: out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out",
                        help="where to write drawings (default: out)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(0 if main(arguments().out_dir) else 1)
