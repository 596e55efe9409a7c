"""Draw the README's pictures into docs/: run `python docs/make_pictures.py` (needs Graphviz's `dot`).

seeing_inside.svg is the notes' linear regression z = (x·w − y)² with its gradient nodes: each
says which local derivative it applies (∂z/∂b = 2b, ∂b/∂a = 1, ∂a/∂w = x) and what value it holds.

fused.svg is a chain of elementwise ops and its gradient after compilation: the fusion pass has
made one `fused` node of the forward and backward chains, its members drawn as a cluster.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import staticgraph as sg

DOCS = Path(__file__).resolve().parent
FEED = {"x": np.array([1.0, 2.0, 3.0]), "w": np.array([0.5, -1.0, 2.0]), "y": 1.0}


def regression() -> tuple[sg.Graph, list[sg.Tensor]]:
    """The notes' forward pass a = x·w, b = a − y, z = b², and the gradients of z by x and w."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        w = sg.placeholder(sg.float64, (3,), name="w")
        y = sg.placeholder(sg.float64, (), name="y")
        a = sg.dot(x, w, name="a")
        b = sg.subtract(a, y, name="b")
        z = sg.power(b, 2, name="z")
        return graph, sg.gradients(z, [x, w])


def fused_chain(out_dir: str | Path = DOCS) -> Path:
    """Write fused.svg into `out_dir`: y = 1.5 tanh(y) + sin(y) four times, the sum of y², and
    its gradient, compiled; return its path."""
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float32, (16,), name="x")
        y = x
        for _ in range(4):
            y = sg.tanh(y) * 1.5 + sg.sin(y)
        loss = sg.sum(y * y, name="loss")
        exe = sg.compile([loss, *sg.gradients(loss, [x])], feeds=[x])
    dot = sg.to_dot(exe.graph, title="a chain and its gradient, compiled: one fused node")
    path = sg.write_dot(dot, Path(out_dir) / "fused.svg")
    print(f"wrote {path}")
    return path


def main(out_dir: str | Path = DOCS) -> Path:
    """Write seeing_inside.svg and fused.svg into `out_dir`; return the first one's path."""
    fused_chain(out_dir)
    graph, grads = regression()
    dot = sg.to_dot(grads, annotate="derivatives", values=FEED,
                    title="z = (x·w − y)²: reverse mode, each gradient node with its local derivative")
    path = sg.write_dot(dot, Path(out_dir) / "seeing_inside.svg")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
