"""Sessions on a local Dask cluster (2 worker processes on 127.0.0.1): data-parallel training
steps equal one process's, chunked inference equals the whole array's, failures change nothing."""
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import staticgraph as sg  # noqa: E402
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError  # noqa: E402

N = 37  # examples: shards of 19 and 18


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(2)
    yield client
    client.close()
    cluster.close()


def mlp(optimizer, loss_kind="mean", check=False):
    g = sg.Graph()
    rng = np.random.RandomState(0)
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 6), name="x")
        y = sg.placeholder(sg.int32, (None,), name="y")
        w1 = sg.Variable(rng.randn(6, 8) * 0.5, name="w1")
        b1 = sg.Variable(np.zeros(8), name="b1")
        w2 = sg.Variable(rng.randn(8, 3) * 0.5, name="w2")
        h = sg.nn.relu(x @ w1 + b1)
        if check:
            h = sg.check_numerics(h, "hidden")
        logits = h @ w2
        per_example = sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = sg.reduce_mean(per_example) if loss_kind == "mean" else sg.reduce_sum(per_example)
        step = optimizer.minimize(loss)
        init = sg.global_variables_initializer()
    data = {x: rng.randn(N, 6), y: rng.randint(0, 3, N).astype(np.int32)}
    return g, x, y, logits, loss, step, init, data


def train(sess, model, steps, split):
    g, x, y, logits, loss, step, init, data = model
    sess.run(init)
    losses = [sess.run([loss, step], data, split=split)[0] for _ in range(steps)]
    return losses, sess.variable_values()


@pytest.mark.parametrize("optimizer, loss_kind", [
    (lambda: sg.train.AdamOptimizer(0.05), "mean"),
    (lambda: sg.train.MomentumOptimizer(0.01, 0.9), "sum")])
def test_training_steps_on_two_workers_equal_one_process(client, optimizer, loss_kind):
    model = mlp(optimizer(), loss_kind)
    x, y = model[1], model[2]
    with sg.Session(model[0]) as sess:
        want_losses, want = train(sess, model, 4, None)
    with sg.Session(model[0], target=client) as sess:
        got_losses, got = train(sess, model, 4, {x: 0, y: 0})
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-12)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-12, err_msg=name)
    assert want_losses[-1] < want_losses[0]


def test_split_without_a_target_runs_the_whole_batch(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01))
    x, y = model[1], model[2]
    with sg.Session(model[0]) as sess:
        plain, _ = train(sess, model, 2, None)
    with sg.Session(model[0]) as sess:
        split, _ = train(sess, model, 2, {x: 0, y: 0})
    assert plain == split


def test_a_scheduler_address_as_target_and_tf1_argument_order(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01))
    g, x, y, logits, loss, step, init, data = model
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    with sg.Session(address, g) as sess:  # TF1: Session(target, graph, config)
        sess.run(init)
        got = sess.run(loss, data, split={x: 0, y: 0})
        own = sess._cluster.client
        assert own is not client
    assert own.status == "closed"
    with sg.Session(g) as sess:
        sess.run(init)
        assert got == pytest.approx(sess.run(loss, data), rel=1e-12)


def test_variables_reach_the_workers_only_when_they_change(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01))
    g, x, y, logits, loss, step, init, data = model
    with g.as_default():
        only_w2 = sg.train.GradientDescentOptimizer(0.01).minimize(loss, var_list=[g.tensor("w2")])
    with sg.Session(g, target=client) as sess:
        sess.run(init)
        want = sess.run(loss, data)
        sess.run(loss, data, split={x: 0, y: 0})
        sent = dict(sess._cluster._sent)
        assert set(sent) == {"w1", "b1", "w2"}
        sess.run(loss, data, split={x: 0, y: 0})
        assert all(sess._cluster._sent[n][1] is sent[n][1] for n in sent)  # nothing sent again
        sess.run(only_w2, data, split={x: 0, y: 0})
        got = sess.run(loss, data, split={x: 0, y: 0})  # w2 new, w1 and b1 as before
        assert sess._cluster._sent["w2"][1] is not sent["w2"][1]  # w2 alone sent again
        assert all(sess._cluster._sent[n][1] is sent[n][1] for n in ("w1", "b1"))
        assert got == pytest.approx(sess.run(loss, data), rel=1e-12) and got != want


def test_a_failing_shard_changes_no_variable(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01), check=True)
    g, x, y, logits, loss, step, init, data = model
    bad = dict(data)
    bad[x] = data[x].copy()
    bad[x][-1, 0] = np.nan  # only the second shard sees it
    with sg.Session(g, target=client) as sess:
        sess.run(init)
        before = {k: v.copy() for k, v in sess.variable_values().items()}
        with pytest.raises(InvalidArgumentError, match="hidden"):
            sess.run([loss, step], bad, split={x: 0, y: 0})
        after = sess.variable_values()
        assert all(np.array_equal(before[k], after[k]) for k in before)
        sess.run(step, data, split={x: 0, y: 0})  # the session still works
        assert not np.array_equal(before["w1"], sess.variable_values()["w1"])


def test_split_errors_name_the_culprit(client):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 2), name="x")
        fixed = sg.placeholder(sg.float64, (4, 2), name="fixed")
        total = sg.reduce_sum(x) + sg.reduce_sum(fixed)
    with sg.Session(g, target=client) as sess:
        with pytest.raises(InvalidArgumentError, match="'fixed'.*fixed size 4 along axis 0"):
            sess.run(total, {x: np.ones((4, 2)), fixed: np.ones((4, 2))}, split={fixed: 0})
        with pytest.raises(InvalidArgumentError, match="does not feed"):
            sess.run(total, {x: np.ones((4, 2)), fixed: np.ones((4, 2))}, split={"nope": 0}) \
                if "nope" in g else sess.run(sg.reduce_sum(x), {x: np.ones((4, 2))},
                                             split={fixed: 0})
        with pytest.raises(InvalidArgumentError, match="out of range"):
            sess.run(total, {x: np.ones((4, 2)), fixed: np.ones((4, 2))}, split={x: 2})
        with pytest.raises(FailedPreconditionError, match="initialised"):
            with g.as_default():
                v = sg.Variable(np.ones(2), name="v")
            sess.run(sg.reduce_sum(x * v), {x: np.ones((4, 2))}, split={x: 0})


def test_chunked_inference_keeps_the_chunks(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01))
    g, x, y, logits, loss, step, init, data = model
    chunks = (10, 10, 10, 7)
    with sg.Session(g, target=client) as sess:
        sess.run(init)
        lazy_x = da.from_array(data[x], chunks=(chunks, 6))
        lazy_y = da.from_array(data[y], chunks=(chunks,))
        out, mean = sess.run([logits, loss], {x: lazy_x, y: lazy_y})
        assert isinstance(out, da.Array) and out.chunks == (chunks, (3,))
        assert isinstance(mean, da.Array) and mean.shape == ()
        got_out, got_mean = client.compute([out, mean], sync=True)
        want_out, want_mean = sess.run([logits, loss], data)
        np.testing.assert_allclose(got_out, want_out, rtol=1e-12)
        assert got_mean == pytest.approx(want_mean, rel=1e-12)


def test_chunked_inference_refuses_what_mixes_chunks(client):
    model = mlp(sg.train.GradientDescentOptimizer(0.01))
    g, x, y, logits, loss, step, init, data = model
    with g.as_default():
        peak = sg.reduce_max(logits, name="peak")
    with sg.Session(g, target=client) as sess:
        sess.run(init)
        lazy_x = da.from_array(data[x], chunks=(10, 6))
        with pytest.raises(InvalidArgumentError, match="'peak'.*mixes the examples"):
            sess.run(peak, {x: lazy_x})
        with pytest.raises(InvalidArgumentError, match="changes state.*split="):
            sess.run(step, {x: lazy_x, y: da.from_array(data[y], chunks=10)})
        with pytest.raises(InvalidArgumentError, match="rechunk"):
            sess.run(logits, {x: da.from_array(data[x], chunks=(10, 3))})


def test_a_worker_that_dies_mid_step_changes_nothing_half(client):
    """A worker killed while it computes its shard: Dask runs the shard again elsewhere (its
    nanny also starts a new worker, which gets graph and variables when it needs them), or the
    run fails clearly; either way the variables are one whole step's or untouched."""
    g = sg.Graph()
    rng = np.random.RandomState(5)
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 128), name="x")
        w = sg.Variable(rng.randn(128, 128) / 11, name="w")
        h = x
        for _ in range(20):  # enough work per shard to be caught at it
            h = sg.tanh(h @ w)
        loss = sg.reduce_mean(sg.square(h))
        step = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = sg.global_variables_initializer()
    data = {x: rng.randn(800, 128)}
    with sg.Session(g) as sess:
        sess.run(init)
        before = sess.run(w)
        sess.run(step, data)
        want = sess.run(w)
    with sg.Session(g, target=client) as sess:
        sess.run(init)
        outcome = {}

        def run():
            try:
                sess.run(step, data, split={x: 0})
                outcome["done"] = True
            except FailedPreconditionError as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 20
        busy = {}
        while not busy and worker.is_alive() and time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items()
                    if any("run_shard" in str(k) for k in keys)}
        assert busy, "no shard was seen running"
        victim = sorted(busy)[0]
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        worker.join(60)
        assert not worker.is_alive()
        got = sess.run(w)
    client.wait_for_workers(2, timeout=30)
    if "done" in outcome:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    else:
        assert "no variable was changed" in str(outcome["error"])
        np.testing.assert_array_equal(got, before)
