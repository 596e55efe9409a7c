"""What the compiler does to one SGD training step, from graph to the Python that runs it.

Builds an MLP step (784 -> 256 -> 10, batch 128, float32, SGD) and compiles it with `sg.compile`:
prints the report (passes with node counts, the schedule, the memory plan), shows the first
layer's weight update fused into one `assign_add_matmul` node (a BLAS gemm adding the product
into the weight's array, in place), prints the straight-line Python the step runs as, writes the
optimised graph with buffer ids to DOT, and checks that the optimised step trains the weights
as the unoptimised graph does and that the memory plan's poisoning check changes nothing.
Run: python examples/compiled_step.py [OUT_DIR] [--quick]   (or STATICGRAPH_EXAMPLE_QUICK=1)
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

import staticgraph as sg

SIZES, BATCH, LEARNING_RATE = (784, 256, 10), 128, 0.01


def build(seed: int = 0):
    """The step in a new graph: (graph, x, labels, loss, train, init)."""
    rng = np.random.default_rng(seed)
    graph = sg.Graph()
    with graph.as_default():
        x = sg.placeholder(sg.float32, (None, SIZES[0]), name="x")
        labels = sg.placeholder(sg.float32, (None, SIZES[-1]), name="labels")
        h = x
        for k, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:]), start=1):
            w = sg.Variable((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in))
                            .astype(np.float32), name=f"w{k}")
            b = sg.Variable(np.zeros(fan_out, np.float32), name=f"b{k}")
            h = h @ w + b
            h = sg.relu(h) if k < len(SIZES) - 1 else h
        loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=h))
        train = sg.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
        init = sg.global_variables_initializer()
    return graph, x, labels, loss, train, init


def batch(seed: int = 1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, SIZES[0])).astype(np.float32),
            np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)])


def trained(optimize: bool, debug_memory: bool, steps: int) -> list:
    """The weights after `steps` steps of a fresh model, compiled as asked."""
    graph, x, labels, loss, train, init = build()
    sess = sg.Session(graph, config={"optimize": optimize, "debug_memory": debug_memory})
    sess.run(init)
    xv, yv = batch()
    for _ in range(steps):
        sess.run([loss, train], {x: xv, labels: yv})
    return [sess.run(v) for v in sg.trainable_variables(graph)]


def main(out_dir: Path, quick: bool = False) -> bool:
    graph, x, labels, loss, train, init = build()
    step = sg.compile([loss, train], feeds=[x, labels], graph=graph)
    step.plan_for({x: (BATCH, SIZES[0]), labels: (BATCH, SIZES[-1])})
    print(f"the user's graph: {len(graph)} nodes (forward, gradient and update nodes)\n")
    print(step.report())

    fused = [(name, node) for name, node in step.graph.nx.nodes(data=True)
             if node["op"] == "assign_add_matmul"]
    print("\nfused updates (w += alpha * op(a) @ op(b), one gemm each):")
    for name, node in fused:
        attrs = node["attrs"]
        a, b = (f"{operand}{'.T' if attrs[flag] else ''}" for operand, flag
                in zip(step.graph.inputs(name), ("transpose_a", "transpose_b")))
        in_place = "  (in place)" if name in step.memory.updates_in_place else ""
        print(f"  {name}: {attrs['var']} += {attrs['alpha']:.3g} * {a} @ {b}{in_place}")

    body = step.python_source().split("try:\n")[1].split("\n        except")[0].splitlines()
    print(f"\nthe step runs as {len(body)} lines of straight-line Python; the first five:")
    print("\n".join(body[:5]))

    out_dir.mkdir(parents=True, exist_ok=True)
    drawing = sg.write_dot(sg.to_dot(step.graph, plan=step), out_dir / "compiled_step.dot")
    print(f"\nwrote {drawing}")

    steps = 2 if quick else 10
    plain = trained(optimize=False, debug_memory=False, steps=steps)
    optimised = trained(optimize=True, debug_memory=False, steps=steps)
    poisoned = trained(optimize=True, debug_memory=True, steps=steps)
    agree = all(np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(plain, optimised))
    same = all(np.array_equal(a, b) for a, b in zip(optimised, poisoned))
    print(f"after {steps} steps the optimised weights match the unoptimised graph's "
          f"(float32, rtol 1e-5): {agree}; poisoning released buffers changes nothing: {same}")
    return bool(fused) and agree and same


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
    sys.exit(0 if main(Path(args.out_dir), args.quick) else 1)
