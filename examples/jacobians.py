"""The notes' derivative shape table (§1.2), computed by forward and by reverse mode.

scalar y of scalar x -> a scalar; scalar y of a vector x -> a vector (the gradient, case 1);
vector y of a scalar x -> a vector (case 2); vector y of a vector x -> a matrix (case 3).
Each Jacobian is built with `sg.jacobian(y, x, mode)` in both modes and printed beside its
closed form; a Hessian (forward-over-reverse) closes the tour.
Run: python examples/jacobians.py
"""
import argparse
import sys

import numpy as np

import staticgraph as sg


T0, X0 = 0.5, np.array([1.0, 3.0])


def _cases(t, x):
    """(title, y, x, feed value, closed form of dy/dx there) for each row of the table."""
    t0, x0 = T0, X0
    return [
        ("scalar y = t^2, scalar t", t ** 2, t, t0, 2 * t0),
        ("case 1: y = x1^2 + 2 x2^2, vector x", x[0] ** 2 + 2 * x[1] ** 2, x, x0,
         np.array([2 * x0[0], 4 * x0[1]])),
        ("case 2: y = [sin t, cos t], scalar t", sg.stack([sg.sin(t), sg.cos(t)]), t, t0,
         np.array([np.cos(t0), -np.sin(t0)])),
        ("case 3: y = [x1, x2], vector x", sg.identity(x), x, x0, np.eye(2)),
    ]


def _show(value) -> str:
    return np.array2string(np.asarray(value), precision=4, separator=", ").replace("\n", "")


def main() -> bool:
    """Print every case in both modes beside its closed form; True when all agree."""
    t = sg.placeholder(sg.float64, (), name="t")
    x = sg.placeholder(sg.float64, (2,), name="x")
    print(f"at t = {T0}, x = {_show(X0)}")
    all_match = True
    with sg.Session() as sess:
        for title, y, wrt, value, closed in _cases(t, x):
            fwd, rev = sess.run([sg.jacobian(y, wrt, mode="fwd"), sg.jacobian(y, wrt, mode="rev")],
                                {wrt: value})
            match = np.allclose(fwd, closed) and np.allclose(rev, closed)
            all_match &= match
            print(f"{title}\n  dy/dx has shape {np.shape(fwd)}: fwd {_show(fwd)}  rev {_show(rev)}  "
                  f"closed form {_show(closed)}  match={match}")
        hess = sess.run(sg.hessian(x[0] ** 2 + 2 * x[1] ** 2, x), {x: X0})
    match = np.allclose(hess, np.diag([2.0, 4.0]))
    print(f"Hessian of x1^2 + 2 x2^2 (forward over reverse): {_show(hess)}  closed form "
          f"{_show(np.diag([2.0, 4.0]))}  match={match}")
    return all_match and match


def arguments(argv=None) -> argparse.Namespace:
    """The command line (--help; this example takes no arguments)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments()
    sys.exit(0 if main() else 1)
