"""Resident memory of the W5 step set up in a fresh process, by staticgraph or handwritten numpy.

    python tools/bench_rss.py staticgraph|numpy '[784, 1024, 10]' 256

prints, as JSON in bytes: VmRSS after the imports the set-up needs, VmRSS after the set-up
(weights initialised, one SGD step run, nothing else kept) and the process's peak, VmHWM. Reads
/proc/self/status: Linux only.
"""
from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

LR = 0.01


def status() -> dict[str, int]:
    """This process's VmRSS and VmHWM, in bytes."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024  # kB
    return fields


def numpy_setup(sizes: list[int], batch: int) -> tuple[int, object]:
    """RSS after importing numpy, and what handwritten numpy keeps: the weights and the batch."""
    import numpy.random  # noqa: F401  (numpy loads it lazily; init_params needs it)
    from bench_mlp import batch_data, init_params, numpy_step
    after_import = status()["VmRSS"]
    params, (x, labels) = init_params(sizes), batch_data(sizes, batch)
    numpy_step(params, x, labels, LR)
    return after_import, (params, x, labels)


def staticgraph_setup(sizes: list[int], batch: int) -> tuple[int, object]:
    """RSS after importing staticgraph (and the bench's graph), and what a Session keeps: the
    graph, whose variables got their initial values from arrays nothing else holds."""
    import bench
    sg = bench.sg
    after_import = status()["VmRSS"]
    g, x, labels, loss, train, init = bench.mlp_graph(sizes, LR, bench.init_params(sizes))
    xv, yv = bench.batch_data(sizes, batch)
    sess = sg.Session(g)
    sess.run(init)
    sess.run([loss, train], {x: xv, labels: yv})
    return after_import, (sess, g, x, labels, loss, train, xv, yv)


def main(which: str, sizes: list[int], batch: int) -> dict[str, int]:
    setup = {"numpy": numpy_setup, "staticgraph": staticgraph_setup}[which]
    after_import, kept = setup(sizes, batch)  # kept alive until measured
    gc.collect()  # cycles left by building the graph are garbage, not memory at rest
    now = status()
    del kept
    return {"after_import": after_import, "after_setup": now["VmRSS"], "peak": now["VmHWM"]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]))))
