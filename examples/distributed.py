"""The same training program in one process and on a Dask cluster, with the same results.

An MLP classifier is trained twice from the same start: with `sg.Session(graph)`, and with
`sg.Session(graph, target=client)` where every step is `sess.run(..., split={x: 0, y: 0})`:
each worker computes the loss and gradients of its share of the batch, the session puts them
together (the mean loss stays the whole batch's mean) and applies Adam's update once. The
variables agree to float rounding. Then a dask.array of inputs, chunked along the batch, is
classified chunk by chunk on the workers, and the result is a dask.array with the same chunks.

Run: python examples/distributed.py [--quick] [--scheduler tcp://HOST:8786]
Without --scheduler (or DASK_SCHEDULER_ADDRESS) it starts a local cluster of 2 worker
processes on 127.0.0.1; with it, the very same code runs on that cluster, whose workers
need staticgraph installed (pip install "staticgraph[dist]").
"""
import argparse
import os
import sys

# This file has the name of Dask's `distributed` package: keep its folder off the import path,
# or `import distributed` would find this file.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import numpy as np  # noqa: E402

import staticgraph as sg  # noqa: E402
from staticgraph.progress import progress  # noqa: E402

SIZES = (16, 32, 4)  # features, hidden units, classes


def make_data(samples: int, seed: int = 0):
    """Points in 4 Gaussian clusters, labelled by cluster."""
    centres = np.random.default_rng(0).normal(scale=3.0, size=(SIZES[2], SIZES[0]))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, SIZES[2], samples).astype(np.int32)
    return centres[labels] + rng.normal(size=(samples, SIZES[0])), labels


def build():
    graph = sg.Graph()
    rng = np.random.default_rng(1)
    with graph.as_default():
        x = sg.placeholder(sg.float64, (None, SIZES[0]), name="x")  # None: the batch splits
        y = sg.placeholder(sg.int32, (None,), name="y")
        w1 = sg.Variable(rng.normal(scale=0.3, size=SIZES[:2]), name="w1")
        b1 = sg.Variable(np.zeros(SIZES[1]), name="b1")
        w2 = sg.Variable(rng.normal(scale=0.3, size=SIZES[1:]), name="w2")
        logits = sg.nn.relu(x @ w1 + b1) @ w2
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = sg.train.AdamOptimizer(0.02).minimize(loss)
        predictions = sg.argmax(logits, axis=1, name="predictions")
        init = sg.global_variables_initializer()
    return graph, x, y, loss, step, predictions, init


def train(sess, model, data, steps: int, split: bool):
    graph, x, y, loss, step, predictions, init = model
    sess.run(init)
    feed = {x: data[0], y: data[1]}
    for _ in progress(range(steps), desc="cluster steps" if split else "one-process steps"):
        value, _ = sess.run([loss, step], feed, split={x: 0, y: 0} if split else None)
    return value, sess.variable_values()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS", ""))
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("STATICGRAPH_EXAMPLE_QUICK") == "1"
    steps, samples, chunks = (3, 200, 4) if quick else (100, 2000, 10)

    import dask.array as da
    from distributed import Client, LocalCluster

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    model = build()
    graph, x, y, loss, step, predictions, init = model
    data = make_data(samples)
    try:
        with sg.Session(graph) as sess:
            alone_loss, alone = train(sess, model, data, steps, split=False)
        with sg.Session(graph, target=client) as sess:
            print(f"cluster: {len(client.scheduler_info()['workers'])} workers at "
                  f"{client.scheduler.address}")
            shared_loss, shared = train(sess, model, data, steps, split=True)
            plan = sess._cluster.plan([loss, step], ("x", "y"), {"x": 0, "y": 0})
            print(f"each worker computes {list(plan.cut)} on its shard; the graph it runs "
                  f"travelled as {len(plan.graph_json):,} bytes of graph-file JSON")
            gap = max(float(np.max(np.abs(alone[n] - shared[n]))) for n in alone)
            print(f"loss after {steps} steps: one process {alone_loss:.6f}, cluster "
                  f"{shared_loss:.6f}")
            print(f"same variables as one process: {gap < 1e-9} (largest difference {gap:.1e})")

            test_x, test_y = make_data(samples, seed=2)  # new points, same clusters
            lazy = da.from_array(test_x, chunks=(samples // chunks, SIZES[0]))
            labels = sess.run(predictions, {x: lazy})
            print(f"chunked inference: input chunks {lazy.chunks[0]}, result chunks "
                  f"{labels.chunks[0]} ({type(labels).__module__}.{type(labels).__name__})")
            accuracy = float((labels == test_y).mean().compute())
            print(f"held-out accuracy, computed chunk by chunk on the workers: {accuracy:.3f}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
