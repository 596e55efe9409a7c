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
    of checkpoints removes.
Where PyTorch is installed (optional), W1-W3 are also timed in PyTorch eager, one thread, as an
extra column with its own ratio to numpy (W5 is memory, which tracemalloc cannot see in
PyTorch's allocator). Every time is a median over many runs in one process; numpy is measured in
the same run, in batches alternating with staticgraph's, with one BLAS thread. A ratio is the
median over pairs of adjacent batches of their ratio, so that the machine's drift cancels.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS: one thread, fair timing

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import staticgraph as sg  # noqa: E402
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


def row(name: str, unit: str, timed: tuple, scale: float, target: float, torch_timed=None,
        **extra) -> dict:
    ours, numpy_, ratio = timed
    if torch_timed is not None:  # PyTorch eager against numpy, timed the same way
        extra.update(torch=torch_timed[0] * scale, torch_ratio=torch_timed[2],
                     torch_version=torch_timed[3])
    return {"workload": name, "unit": unit, "staticgraph": ours * scale, "numpy": numpy_ * scale,
            "ratio": ratio, "target_ratio": target, "met": ratio <= target, **extra}


def pytorch():
    """PyTorch set to one thread when it is installed (it is optional), else None."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    torch.set_num_threads(1)
    return torch


def torch_timed(make_torch, theirs, calls: int, batches: int) -> tuple | None:
    """`compare` of PyTorch's function against numpy's, and PyTorch's version; None without
    PyTorch. `make_torch(torch)` gives the function, checked against numpy's results."""
    torch = pytorch()
    if torch is None:
        return None
    return (*compare(make_torch(torch), theirs, calls, batches), torch.__version__)


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

    def torch_step(torch):
        x = torch.tensor(xv, requires_grad=True)

        def step():
            y = 2 * torch.dot(x, x)
            return y, torch.autograd.grad(y, x)[0]
        _agree([t.detach().numpy() for t in step()], numpy_())
        return step

    _agree(ours(), numpy_())
    path = "Executable.run" if direct else "Session.run"
    return row(f"W1 seed: y = 2 x.x and dy/dx, x in R^4, per {path}", "us/run",
               compare(ours, numpy_, calls, batches), 1e6, 1.0,
               None if direct else torch_timed(torch_step, numpy_, calls, batches))


def _agree(ours, theirs, rtol=1e-5, atol=1e-6) -> None:
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ----- W2 and W5: an MLP training step --------------------------------------------------------
def init_params(sizes: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params.append((rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32))
        params.append(np.zeros(n_out, np.float32))
    return params


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


def numpy_step(params: list[np.ndarray], x, labels, lr: float, eager_updates: bool = True) -> float:
    """One handwritten SGD step, in place; with eager_updates each update as soon as its gradient."""
    layers = len(params) // 2
    acts, h = [x], x
    for i in range(layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < layers - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    shifted = h - h.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    loss = -(labels * (shifted - np.log(total))).sum(axis=1).mean()
    d = (e / total - labels) / np.float32(len(x))
    pending = []
    for i in reversed(range(layers)):
        w, b = params[2 * i], params[2 * i + 1]
        dw, db = acts[i].T @ d, d.sum(axis=0)
        if i > 0:
            d = (d @ w.T) * (acts[i] > 0)
        if eager_updates:
            w -= np.float32(lr) * dw
            b -= np.float32(lr) * db
        else:
            pending.append((w, b, dw, db))
    for w, b, dw, db in pending:
        w -= np.float32(lr) * dw
        b -= np.float32(lr) * db
    return float(loss)


def torch_mlp_step(torch, params: list[np.ndarray], x, labels, lr: float):
    """PyTorch eager's SGD step on copies of `params`, as PyTorch code writes it; the step (which
    returns the loss) and the parameters it updates."""
    weights = [torch.tensor(p, requires_grad=True) for p in params]
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    layers = len(weights) // 2

    def step() -> float:
        h = xt
        for i in range(layers):
            h = h @ weights[2 * i] + weights[2 * i + 1]
            if i < layers - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, yt)  # labels as class probabilities
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            for w, grad in zip(weights, grads):
                w.sub_(grad, alpha=lr)
        return loss.item()
    return step, weights


def batch_data(sizes: list[int], batch: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return x, labels


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

    def torch_step(torch):
        step, weights = torch_mlp_step(torch, params, xv, yv, lr)
        want = [p.copy() for p in params]
        np.testing.assert_allclose(step(), numpy_step(want, xv, yv, lr), rtol=1e-4)
        for got, value in zip(weights, want):
            np.testing.assert_allclose(got.detach().numpy(), value, rtol=1e-4, atol=1e-5)
        return step

    name = f"W2 MLP step {'-'.join(map(str, sizes))}, batch {batch}, float32"
    return row(name, "ms/step", timed, 1e3, 1.0,
               torch_timed(torch_step, lambda: numpy_step(mine, xv, yv, lr), calls, batches))


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
    kinds = chain_ops(n_ops)
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
    if kernels == "numpy":
        return row(f"W3 {n_ops} chained elementwise ops on float32[{size}], fused, numpy kernels",
                   "us/call", timed, 1e6, W3_TARGETS["numpy"],
                   per_op_staticgraph=timed[0] * 1e6 / n_ops, per_op_numpy=timed[1] * 1e6 / n_ops)

    def torch_step(torch):
        x_ = torch.tensor(xv, requires_grad=True)
        ops = {"sin": torch.sin, "tanh": torch.tanh, "scale": lambda v: v * SCALE,
               "shift": lambda v: v + SHIFT}

        def step():
            h = x_
            for kind in kinds:
                h = ops[kind](h)
            total = h.sum()
            return total, torch.autograd.grad(total, x_)[0]
        _agree([t.detach().numpy() for t in step()], numpy_chain(kinds, xv), rtol=1e-4, atol=1e-5)
        return step

    return row(f"W3 {n_ops} chained elementwise ops on float32[{size}], fused, numba kernels",
               "us/call", timed, 1e6, W3_TARGETS["numba"],
               torch_timed(torch_step, lambda: numpy_chain(kinds, xv), calls, batches),
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
    """Planned bytes beyond weights and feeds, and tracemalloc peaks of the numpy steps.

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
            "report": step.report(),
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
    torch = next((r["torch_version"] for r in results if "torch" in r), None)
    lines = [f"{'workload':<68} {'unit':>8} {'staticgraph':>12} {'numpy':>10} {'ratio':>7} target"
             + (f"                PyTorch {torch} eager" if torch else "")]
    for r in results:
        if "ratio" in r:
            extra = f"  {r['torch']:>10.2f} {r['torch_ratio']:>6.2f}x" if "torch" in r else ""
            lines.append(f"{r['workload']:<68} {r['unit']:>8} {r['staticgraph']:>12.2f} "
                         f"{r['numpy']:>10.2f} {r['ratio']:>6.2f}x <= {r['target_ratio']:.2f}x "
                         f"{'met' if r['met'] else 'NOT met':<7}{extra}")
        else:
            lines.append(f"{r['workload']}\n  planned extra peak {r['planned_peak']:.1f} MiB, naive "
                         f"{r['naive']:.1f} MiB ({r['ratio_to_naive']:.2f}x), lower bound "
                         f"{r['lower_bound']:.1f} MiB; numpy: gradients then updates "
                         f"{r['numpy_grads_then_updates']:.1f} MiB, each update when ready "
                         f"{r['numpy_update_when_ready']:.1f} MiB; staticgraph's first run "
                         f"measured {r['measured_staticgraph_first_run']:.1f} MiB (weights "
                         f"{r['weights']:.1f} MiB)"
                         f"  [target: <= 24 MiB and <= 0.6x naive: "
                         f"{'met' if r['met'] else 'NOT met'}]")
            lines.append(_indent(r["modes_table"]))
            lines.append(f"  remat: activation bytes {r['remat_activations_ratio']:.2f}x the "
                         f"plan's, time per step {r['remat_time_ratio']:.2f}x  [target: <= 0.5x "
                         f"and <= 1.4x: {'met' if r['remat_met'] else 'NOT met'}]; whole peak "
                         f"{r['remat_peak_ratio']:.2f}x the plan's, "
                         f"{r['remat_peak_to_plan_activations']:.2f}x its activation bytes")
    return "\n".join(lines)


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
