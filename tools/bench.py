"""Benchmarks of the compiled runtime against handwritten numpy doing the same arithmetic.

    python tools/bench.py                 # full run: prints a table, writes out/bench.json
    python tools/bench.py --quick         # tiny sizes and few repeats (a smoke run)
    python tools/bench.py dist [--quick]  # samples/s of W2 on 1 and 2 local Dask workers
    python tools/bench.py compile [--quick]  # compile time against build time, several sizes

W1  y = 2 x.x and dy/dx for x in R^4: microseconds per Session.run, and per Executable.run
    (`sg.compile(...).run(feed)`, the direct path).
W2  MLP training step 784-256-256-10, ReLU, softmax cross-entropy mean, batch 128, float32, SGD
    update of every weight and bias (sg.assign_sub): milliseconds per step.
W3  200 chained elementwise ops on a float32 vector of 16, then sum, value and gradient:
    microseconds per call and per op; fused into one kernel, compiled by numba (target 0.06x;
    numpy kernels when numba is missing) and as generated numpy code (STATICGRAPH_NUMBA=0, 0.6x).
W5  the W2 step made deep (784-[1024]x16-10, batch 256): the plan's extra peak (beyond weights and
    feeds) against every value kept, and against the peak tracemalloc measures for two handwritten
    numpy steps: all gradients first then the updates, and each update as soon as its gradient.
    Then the step in each memory mode (naive, plan, remat with no budget: checkpoints every
    ~sqrt(L) values, remat within 0.6x the plan's peak): planned peak, activation bytes (forward
    values live at once), extra steps and milliseconds per step, the modes timed in turns.
    Target: remat's activation bytes <= 0.5x the plan's, at <= 1.4x its time per step. The whole
    peak is shown too: it also holds a weight's gradient and the cotangents, which no choice
    of checkpoints removes. Last, resident memory (VmRSS, Linux) of a fresh process that sets
    the step up (weights initialised, one step run) in staticgraph and in handwritten numpy:
    after the imports, after the set-up, and the process's peak (tools/bench_rss.py).
Where PyTorch, JAX or PyTensor are installed (each optional), W1-W3 are also written in them as
their users write them (tools/bench_peers.py: PyTorch eager; JAX's jit of value_and_grad, x64
on, donated weights; PyTensor's function of grad with updates, in its default mode), checked
against numpy's results, warmed up (compiled) and timed the same way, one thread each: a
column each with its own ratio to numpy (W5 is memory, which tracemalloc cannot see in their
allocators). Every time is a median over many runs in one process; numpy is measured in the
same run, in batches alternating with staticgraph's, with one BLAS thread. A ratio is the
median over pairs of adjacent batches of their ratio, so that the machine's drift cancels.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS: one thread, fair timing

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import staticgraph as sg  # noqa: E402
from bench_mlp import batch_data, init_params, numpy_products, numpy_step  # noqa: E402
from bench_peers import PEERS, installed_peers  # noqa: E402
from staticgraph.progress import progress  # noqa: E402
from staticgraph.runtime import fused_kernels  # noqa: E402
from staticgraph.runtime.executor import default_store  # noqa: E402
from staticgraph.runtime.memory_modes import compare_memory_modes, format_table  # noqa: E402

MIB = 1 << 20


def _batch(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compare(ours, theirs, calls: int, batches: int) -> tuple[float, float, float]:
    """Median seconds per call of both functions, and the median ratio of the two within each
    pair of adjacent batches (which of the pair runs first alternates): the machine's drift
    over a run cancels within a pair."""
    ours(), theirs()  # warm up: compilation, buffers, caches
    a, b = [], []
    for i in range(batches):
        first, second = (ours, theirs) if i % 2 == 0 else (theirs, ours)
        x, y = _batch(first, calls), _batch(second, calls)
        a.append(x if i % 2 == 0 else y)
        b.append(y if i % 2 == 0 else x)
    ratio = statistics.median(x / y for x, y in zip(a, b))
    return statistics.median(a), statistics.median(b), ratio


def row(name: str, unit: str, timed: tuple, scale: float, target: float, peers: dict | None = None,
        **extra) -> dict:
    ours, numpy_, ratio = timed
    for key, (seconds, peer_ratio, version, mode) in (peers or {}).items():
        extra.update({key: seconds * scale, f"{key}_ratio": peer_ratio,
                      f"{key}_version": version, f"{key}_mode": mode})
    return {"workload": name, "unit": unit, "staticgraph": ours * scale, "numpy": numpy_ * scale,
            "ratio": ratio, "target_ratio": target, "met": ratio <= target, **extra}


def peers_timed(workload: str, data: tuple, reference: list, theirs, calls: int, batches: int,
                rtol=1e-5, atol=1e-6) -> dict:
    """For each installed peer (tools/bench_peers.py): its `workload` made from `data`, its
    first results checked against numpy's `reference` (values and dtypes), then `compare`d
    against numpy's `theirs`. Maps the peer's key to (seconds, ratio, version, mode)."""
    timed = {}
    for peer in installed_peers():
        lib = peer.load()
        step, read = peer.makers[workload](lib, *data)
        got = read(step())
        _agree(got, reference, rtol, atol)
        assert [np.asarray(a).dtype for a in got] == [np.asarray(b).dtype for b in reference], \
            f"{peer.title}'s {workload} results have other dtypes than numpy's"
        seconds, _, ratio = compare(step, theirs, calls, batches)
        timed[peer.key] = (seconds, ratio, lib.__version__, peer.mode(lib))
    return timed


# ----- W1 -------------------------------------------------------------------------------------
def w1(calls: int, batches: int, direct: bool = False) -> dict:
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (4,), name="x")
        y = 2 * sg.dot(x, x)
        (dx,) = sg.gradients(y, [x])
    sess, xv = sg.Session(g), np.arange(4.0)
    fetches, feed = [y, dx], {x: xv}
    exe = sg.compile(fetches, feeds=[x], graph=g)

    def ours():
        return exe.run(feed) if direct else sess.run(fetches, feed)

    def numpy_():
        return 2.0 * np.dot(xv, xv), 4.0 * xv

    _agree(ours(), numpy_())
    path = "Executable.run" if direct else "Session.run"
    return row(f"W1 seed: y = 2 x.x and dy/dx, x in R^4, per {path}", "us/run",
               compare(ours, numpy_, calls, batches), 1e6, 1.0,
               None if direct else peers_timed("w1", (xv,), list(numpy_()), numpy_, calls, batches))


def _agree(ours, theirs, rtol=1e-5, atol=1e-6) -> None:
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ----- W2 and W5: an MLP training step --------------------------------------------------------
def mlp_graph(sizes: list[int], lr: float, params: list[np.ndarray]):
    """Graph, x, labels, loss and the training op (every parameter updated by assign_sub)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (None, sizes[0]), name="x")
        labels = sg.placeholder(sg.float32, (None, sizes[-1]), name="labels")
        variables, h = [], x
        for i in range(len(sizes) - 1):
            w, b = sg.Variable(params[2 * i], name=f"w{i}"), sg.Variable(params[2 * i + 1], name=f"b{i}")
            variables += [w, b]
            h = sg.matmul(h, w) + b
            h = sg.relu(h) if i < len(sizes) - 2 else h
        loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=h))
        grads = sg.gradients(loss, variables)
        train = sg.group(*[v.assign_sub(lr * gr) for v, gr in zip(variables, grads)])
        init = sg.global_variables_initializer()
    return g, x, labels, loss, train, init


W2_TARGET = 0.80


def w2(sizes: list[int], batch: int, calls: int, batches: int) -> dict:
    lr, params = 0.01, init_params(sizes)
    g, x, labels, loss, train, init = mlp_graph(sizes, lr, params)
    xv, yv = batch_data(sizes, batch)
    sess = sg.Session(g)
    sess.run(init)
    mine = [p.copy() for p in params]
    ours_loss = sess.run([loss, train], {x: xv, labels: yv})[0]
    np.testing.assert_allclose(ours_loss, numpy_step(mine, xv, yv, lr), rtol=1e-4)
    for var, value in zip(sg.trainable_variables(g), mine):
        np.testing.assert_allclose(sess.run(var), value, rtol=1e-4, atol=1e-5)
    fetches, feed = [loss, train], {x: xv, labels: yv}
    timed = compare(lambda: sess.run(fetches, feed), lambda: numpy_step(mine, xv, yv, lr),
                    calls, batches)

    floor = compare(lambda: numpy_products(mine, xv), lambda: numpy_step(mine, xv, yv, lr),
                    calls, batches)
    want = [p.copy() for p in params]
    reference = [numpy_step(want, xv, yv, lr), *want]
    name = f"W2 MLP step {'-'.join(map(str, sizes))}, batch {batch}, float32"
    return row(name, "ms/step", timed, 1e3, W2_TARGET,
               peers_timed("w2", (params, xv, yv, lr), reference,
                           lambda: numpy_step(mine, xv, yv, lr), calls, batches, 1e-4, 1e-5),
               products_ratio=floor[2])


# ----- W3 -------------------------------------------------------------------------------------
def chain_ops(n: int) -> list[str]:
    return [("sin", "tanh", "scale", "shift")[i % 4] for i in range(n)]


SCALE, SHIFT = 1.01, 0.1


def chain_graph(kinds: list[str], size: int):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (size,), name="x")
        h = x
        for kind in kinds:
            h = {"sin": sg.sin, "tanh": sg.tanh, "scale": lambda v: v * SCALE,
                 "shift": lambda v: v + SHIFT}[kind](h)
        loss = sg.sum(h)
        (dx,) = sg.gradients(loss, [x])
    return g, x, loss, dx


def numpy_chain(kinds: list[str], x: np.ndarray):
    """The chain's value and gradient by hand: forward keeping inputs, then the chain rule."""
    scale, shift = np.float32(SCALE), np.float32(SHIFT)
    values = [x]
    for kind in kinds:
        v = values[-1]
        values.append(np.sin(v) if kind == "sin" else np.tanh(v) if kind == "tanh"
                      else v * scale if kind == "scale" else v + shift)
    grad = np.ones_like(x)
    for i in range(len(kinds) - 1, -1, -1):
        kind = kinds[i]
        if kind == "sin":
            grad = grad * np.cos(values[i])
        elif kind == "tanh":
            grad = grad * (1 - values[i + 1] * values[i + 1])
        elif kind == "scale":
            grad = grad * scale
    return values[-1].sum(), grad


# The chain and its gradient fuse into one kernel: numba's (target 0.06x numpy) when numba is
# installed, else generated numpy code (0.6x), which STATICGRAPH_NUMBA=0 also forces.
W3_TARGETS = {"numba": 0.06, "numpy": 0.6}


def w3_kernels(kernels: str) -> str:
    """"numba" or "numpy": the fused kernels W3 runs on (numpy without numba)."""
    return "numba" if kernels == "numba" and fused_kernels.numba_wanted() else "numpy"


def w3(n_ops: int, size: int, calls: int, batches: int, kernels: str = "numba") -> dict:
    """The chain on the kernels asked for; the peers beside the row that asks for numba's."""
    kinds, with_peers = chain_ops(n_ops), kernels == "numba"
    g, x, loss, dx = chain_graph(kinds, size)
    sess = sg.Session(g)
    xv = np.random.default_rng(2).uniform(-1, 1, size).astype(np.float32)
    fetches, feed = [loss, dx], {x: xv}
    kernels = w3_kernels(kernels)
    saved = os.environ.get("STATICGRAPH_NUMBA")
    os.environ["STATICGRAPH_NUMBA"] = "1" if kernels == "numba" else "0"
    try:  # kernels are made at the first run, numba's compiled (or loaded) a few runs later
        for _ in range(fused_kernels.NUMBA_AFTER + 1):
            _agree(sess.run(fetches, feed), numpy_chain(kinds, xv), rtol=1e-4, atol=1e-5)
    finally:
        os.environ.pop("STATICGRAPH_NUMBA") if saved is None else \
            os.environ.__setitem__("STATICGRAPH_NUMBA", saved)
    timed = compare(lambda: sess.run(fetches, feed), lambda: numpy_chain(kinds, xv),
                    calls, batches)
    peers = peers_timed("w3", (kinds, xv, SCALE, SHIFT), list(numpy_chain(kinds, xv)),
                        lambda: numpy_chain(kinds, xv), calls, batches, 1e-4, 1e-5) \
        if with_peers else None
    return row(f"W3 {n_ops} chained elementwise ops on float32[{size}], fused, {kernels} kernels",
               "us/call", timed, 1e6, W3_TARGETS[kernels], peers,
               per_op_staticgraph=timed[0] * 1e6 / n_ops, per_op_numpy=timed[1] * 1e6 / n_ops)


# ----- W5 -------------------------------------------------------------------------------------
def traced_peak(fn) -> int:
    """Bytes allocated at the peak of `fn()` beyond what was allocated before it (tracemalloc)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def resident_memory(sizes: list[int], batch: int) -> dict | None:
    """MiB of resident memory of W5 set up in a fresh process (tools/bench_rss.py), by staticgraph
    and by handwritten numpy: after the imports, after the set-up, their difference and the peak.
    None, with a note, where /proc/self/status is missing (it is Linux's)."""
    if not Path("/proc/self/status").exists():
        print("W5 resident memory skipped: /proc/self/status is Linux only")
        return None
    figures = {}
    for which in ("staticgraph", "numpy"):
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("bench_rss.py")), which,
                               json.dumps(sizes), str(batch)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"bench_rss.py {which} failed:\n{done.stderr}")
        mib = {key: value / MIB for key, value in json.loads(done.stdout.splitlines()[-1]).items()}
        figures[which] = {**mib, "setup_minus_import": mib["after_setup"] - mib["after_import"]}
    return figures


REMAT_BUDGET_SHARE = 0.6  # the budgeted remat row gets this share of the plain plan's peak


def memory_modes(g, fetches: list, feed: dict, plain_peak: int, repeats: int) -> dict:
    """The step in every memory mode (see staticgraph.runtime.memory_modes), as W5's remat keys."""
    budget = int(REMAT_BUDGET_SHARE * plain_peak)
    try:
        sg.compile(fetches, feeds=list(feed), graph=g, memory="remat", budget_bytes=budget) \
            .plan_for({key: value.shape for key, value in feed.items()})
    except sg.errors.InvalidArgumentError:
        budget = None  # out of reach at this size: the budgeted row is left out
    budgets = [None] if budget is None else [None, budget]
    figures = compare_memory_modes(fetches, feed, budgets, repeats, g, default_store(g))
    plan, remat = figures[1], figures[2]
    modes = {f.label: {"peak": f.peak_bytes / MIB, "activations": f.plan.activation_bytes / MIB,
                       "computed": f.computed_bytes / MIB, "extra_steps": f.extra_steps,
                       "ms_per_step": f.seconds_per_run * 1e3} for f in figures}
    activations = remat.plan.activation_bytes / plan.plan.activation_bytes
    time_ratio = remat.seconds_per_run / plan.seconds_per_run
    return {"modes": modes, "modes_table": format_table(figures),
            "remat_activations_ratio": activations,
            "remat_peak_ratio": remat.peak_bytes / plan.peak_bytes,
            "remat_peak_to_plan_activations": remat.peak_bytes / plan.plan.activation_bytes,
            "remat_time_ratio": time_ratio,
            "remat_met": activations <= 0.5 and time_ratio <= 1.4,
            "remat_report": remat.plan.report()}


def w5(sizes: list[int], batch: int, repeats: int) -> dict:
    """Planned bytes beyond weights and feeds, tracemalloc peaks of the numpy steps, and the
    resident memory of fresh processes set up by staticgraph and by numpy.

    The measured staticgraph figure is its first run: the planned buffers being allocated, the
    kernels' own temporaries, and the new values of the variables (staged until the run ends).
    """
    lr, params = 0.01, init_params(sizes)
    g, x, labels, loss, train, init = mlp_graph(sizes, lr, params)
    xv, yv = batch_data(sizes, batch)
    sg.compile(init, graph=g).run()
    step = sg.compile([loss, train], feeds=[x, labels], graph=g)
    plan = step.plan_for({x: xv.shape, labels: yv.shape})
    measured = traced_peak(lambda: step.run({x: xv, labels: yv}))
    copies = [p.copy() for p in params]
    after_all = traced_peak(lambda: numpy_step(copies, xv, yv, lr, eager_updates=False))
    when_ready = traced_peak(lambda: numpy_step(copies, xv, yv, lr, eager_updates=True))
    name = f"W5 memory of one SGD step {sizes[0]}-[{sizes[1]}]x{len(sizes) - 2}-{sizes[-1]}, " \
           f"batch {batch}"
    return {"workload": name, "unit": "MiB", "planned_peak": plan.peak_bytes / MIB,
            "naive": plan.naive_bytes / MIB, "lower_bound": plan.lower_bound_bytes / MIB,
            "numpy_grads_then_updates": after_all / MIB, "numpy_update_when_ready": when_ready / MIB,
            "measured_staticgraph_first_run": measured / MIB,
            "weights": sum(p.nbytes for p in params) / MIB,
            "ratio_to_naive": plan.peak_bytes / plan.naive_bytes,
            "met": plan.peak_bytes <= 24 * MIB and plan.peak_bytes <= 0.6 * plan.naive_bytes,
            "report": step.report(), "resident": resident_memory(sizes, batch),
            **memory_modes(g, [loss, train], {x: xv, labels: yv}, plan.peak_bytes, repeats)}


# ----- the table --------------------------------------------------------------------------------
FULL = dict(w1=(2000, 31), w2=([784, 256, 256, 10], 128, 5, 61), w3=(200, 16, 200, 31),
            w5=([784] + [1024] * 16 + [10], 256, 7))
QUICK = dict(w1=(20, 3), w2=([20, 16, 16, 4], 8, 2, 3), w3=(12, 16, 5, 3),
             w5=([20] + [16] * 3 + [4], 8, 1))


def run_all(sizes: dict) -> list[dict]:
    jobs = [lambda: w1(*sizes["w1"]), lambda: w1(*sizes["w1"], direct=True),
            lambda: w2(*sizes["w2"]), lambda: w3(*sizes["w3"]),
            lambda: w3(*sizes["w3"], kernels="numpy"), lambda: w5(*sizes["w5"])]
    return [job() for job in progress(jobs, desc="workloads", unit="workload")]


def table(results: list[dict]) -> str:
    """The results as a text table, a column pair for each peer timed, their versions below."""
    peers = [peer for peer in PEERS if any(peer.key in r for r in results)]
    lines = [f"{'workload':<68} {'unit':>8} {'staticgraph':>12} {'numpy':>10} {'ratio':>7} "
             f"{'target':<16}" + "".join(f"{peer.title:>12} {'ratio':>7}" for peer in peers)]
    for r in results:
        if "ratio" in r:
            extra = "".join(f"  {r[p.key]:>10.2f} {r[p.key + '_ratio']:>6.2f}x" if p.key in r
                            else " " * 20 for p in peers)
            lines.append(f"{r['workload']:<68} {r['unit']:>8} {r['staticgraph']:>12.2f} "
                         f"{r['numpy']:>10.2f} {r['ratio']:>6.2f}x <= {r['target_ratio']:.2f}x "
                         f"{'met' if r['met'] else 'NOT met':<7}{extra}")
            if "products_ratio" in r:
                lines.append(f"  (its matrix products alone, the same BLAS calls: "
                             f"{r['products_ratio']:.2f}x numpy's whole step)")
        else:
            lines += w5_lines(r)
    for peer in peers:
        r = next(r for r in results if peer.key in r)
        lines.append(f"{peer.title} {r[f'{peer.key}_version']}: {r[f'{peer.key}_mode']}, "
                     "one thread")
    return "\n".join(lines)


def w5_lines(r: dict) -> list[str]:
    """W5's lines of the table: planned and measured peaks, the memory modes, resident memory."""
    lines = [f"{r['workload']}\n  planned extra peak {r['planned_peak']:.1f} MiB, naive "
             f"{r['naive']:.1f} MiB ({r['ratio_to_naive']:.2f}x), lower bound "
             f"{r['lower_bound']:.1f} MiB; numpy: gradients then updates "
             f"{r['numpy_grads_then_updates']:.1f} MiB, each update when ready "
             f"{r['numpy_update_when_ready']:.1f} MiB; staticgraph's first run "
             f"measured {r['measured_staticgraph_first_run']:.1f} MiB (weights "
             f"{r['weights']:.1f} MiB)"
             f"  [target: <= 24 MiB and <= 0.6x naive: {'met' if r['met'] else 'NOT met'}]",
             _indent(r["modes_table"]),
             f"  remat: activation bytes {r['remat_activations_ratio']:.2f}x the "
             f"plan's, time per step {r['remat_time_ratio']:.2f}x  [target: <= 0.5x "
             f"and <= 1.4x: {'met' if r['remat_met'] else 'NOT met'}]; whole peak "
             f"{r['remat_peak_ratio']:.2f}x the plan's, "
             f"{r['remat_peak_to_plan_activations']:.2f}x its activation bytes"]
    if r["resident"]:
        lines.append("  resident memory of a fresh process (VmRSS), weights "
                     f"{r['weights']:.1f} MiB:")
        lines += [f"    {who:<12} {m['after_import']:6.1f} MiB after import, "
                  f"{m['after_setup']:6.1f} after set-up (+{m['setup_minus_import']:.1f}), "
                  f"peak {m['peak']:.1f}"
                  for who, m in r["resident"].items()]
    return lines


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# ----- dist: data parallelism on local Dask workers ---------------------------------------------
def dist(quick: bool) -> list[dict]:
    """samples/s of the W2 MLP step (SGD, mean loss) in one process, and with `split=` on 1 and
    2 local Dask workers (processes, one thread each); the variables after the timed steps
    must equal the one-process run's. On a machine with few cores, or small batches, the
    cluster's overhead (a round trip per step, the gradients shipped back) may dominate."""
    from distributed import Client, LocalCluster
    sizes, batch, steps = ([784, 64, 10], 256, 3) if quick else ([784, 256, 256, 10], 2048, 10)
    params = init_params(sizes)
    g, x, labels, loss, train, init = mlp_graph(sizes, 0.01, params)
    feed = {x: (data := batch_data(sizes, batch))[0], labels: data[1]}
    rows, reference = [], None
    for workers in (0, 1, 2):
        cluster = client = None
        if workers:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster, set_as_default=False)
        with sg.Session(g, target=client or "") as sess:
            sess.run(init)
            split = {x: 0, labels: 0} if workers else None
            sess.run([loss, train], feed, split=split)  # warm up: compile, send the graph
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                sess.run([loss, train], feed, split=split)
                times.append(time.perf_counter() - start)
            values = sess.variable_values()
        if client is not None:
            client.close()
            cluster.close()
        reference = reference or values
        for name, value in values.items():
            # float32: the shards sum their examples in another order than one process does
            np.testing.assert_allclose(value, reference[name], rtol=1e-3, atol=1e-5)
        seconds = statistics.median(times)
        rows.append({"mode": f"{workers} Dask worker(s)" if workers else "one process",
                     "ms_per_step": seconds * 1e3, "samples_per_s": batch / seconds})
    print(f"MLP {'-'.join(map(str, sizes))} SGD step, batch {batch}, float32, "
          f"{os.cpu_count()} cores, median of {steps} steps")
    for r in rows:
        print(f"  {r['mode']:<18} {r['ms_per_step']:9.1f} ms/step {r['samples_per_s']:10.0f} "
              f"samples/s  {r['samples_per_s'] / rows[0]['samples_per_s']:.2f}x one process")
    return rows


# ----- compile time ----------------------------------------------------------------------------
COMPILE_SIZES, COMPILE_SIZES_QUICK = (2000, 5000, 20000), (200, 500)
COMPILE_TARGET = 3.0  # compile and first run, in units of the time to build the graph


def compile_scaling(quick: bool) -> list[dict]:
    """For W3's chain of n elementwise ops on float32[16] and its gradient: seconds to build the
    graph (ops and gradients), to compile it and to run it once, and the ratio of the last two
    to the first, at several n (time per node should not grow with n). The largest's compile
    time per pass is printed too."""
    results = []
    for n in COMPILE_SIZES_QUICK if quick else COMPILE_SIZES:
        start = time.perf_counter()
        g, x, loss, dx = chain_graph(chain_ops(n), 16)
        built = time.perf_counter()
        exe = sg.compile([loss, dx], feeds=[x], graph=g)
        compiled = time.perf_counter()
        exe.run({x: np.ones(16, np.float32)})
        ran = time.perf_counter()
        build, compile_s, first = built - start, compiled - built, ran - compiled
        results.append({"ops": n, "nodes": len(g), "build_s": build, "compile_s": compile_s,
                        "first_run_s": first, "ratio": (compile_s + first) / build,
                        "target_ratio": COMPILE_TARGET})
        print(f"{n:>6} ops {len(g):>7} nodes: build {build:7.2f} s, compile {compile_s:7.2f} s, "
              f"first run {first:6.2f} s; (compile + first run) / build "
              f"{results[-1]['ratio']:.2f}x <= {COMPILE_TARGET:.1f}x "
              f"{'met' if results[-1]['ratio'] <= COMPILE_TARGET else 'NOT met'}")
    report = exe.report().splitlines()
    first = next(i for i, line in enumerate(report) if line.startswith("passes"))
    last = next(i for i, line in enumerate(report) if line.startswith("compile time"))
    print("\n".join(line for line in report[first:last + 1] if not line.startswith("schedule")))
    return results


def main(argv: list[str] | None = None) -> list[dict]:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dist"]:  # python tools/bench.py dist [--quick]
        return dist("--quick" in argv)
    if argv[:1] == ["compile"]:  # python tools/bench.py compile [--quick]
        return compile_scaling("--quick" in argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--json", default="out/bench.json", help="where to write the results")
    args = parser.parse_args(argv)
    results = run_all(QUICK if args.quick else FULL)
    print(table(results))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
