"""The split analysis without a cluster: shards run one after another in this process, their
values put together by `combine`, must equal the whole batch's values (numpy references too)."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.distributed.plan import Plan
from staticgraph.distributed.split import BATCH, MIXED, SAME, SUM, Part, classify, combine
from staticgraph.compiler.prune import needed_nodes
from staticgraph.io.graph_json import loads_graph

SIZES = [5, 3, 4]  # uneven shards of 12 examples


def sharded(graph, fetches, feeds, axes, sizes=SIZES):
    """The plan's cut computed shard by shard in this process and combined, then the rest run
    with it fed (as a cluster session does); and the fetches run on the whole batch."""
    names = [f.name for f in fetches]
    feed_names = tuple(k.name for k in feeds)
    plan = Plan(graph, tuple(names), feed_names, {k.name: a for k, a in axes.items()})
    bounds = np.cumsum([0] + sizes)
    with sg.Session(graph) as sess:
        sess.run(sg.variables_initializer(graph.get_collection("variables")))
        shards = [sess.run(list(plan.cut), {k: (np.take(v, range(lo, hi), axes[k]) if k in axes
                                                else v) for k, v in feeds.items()})
                  for lo, hi in zip(bounds[:-1], bounds[1:])]
        combined = {n: combine(plan.parts[n], [s[i] for s in shards], sizes, int(bounds[-1]))
                    for i, n in enumerate(plan.cut)}
        finished = sess.run(names, {**{k.name: v for k, v in feeds.items()}, **combined})
        whole = sess.run(names, feeds)
    return plan, finished, whole


def mlp(loss_kind: str):
    g = sg.Graph()
    rng = np.random.RandomState(0)
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 4), name="x")
        y = sg.placeholder(sg.int32, (None,), name="y")
        w1 = sg.Variable(rng.randn(4, 5), name="w1")
        b1 = sg.Variable(rng.randn(5), name="b1")
        w2 = sg.Variable(rng.randn(5, 3), name="w2")
        h = sg.tanh(x @ w1 + b1)
        logits = sg.nn.relu(h) @ w2
        per_example = sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = {"mean": sg.reduce_mean(per_example),
                "sum": sg.reduce_sum(per_example),
                "both": sg.reduce_mean(per_example) + 0.1 * sg.reduce_sum(sg.square(h)),
                "mean_all": sg.reduce_mean(sg.square(logits))}[loss_kind]
        grads = sg.gradients(loss, [w1, b1, w2])
    feeds = {x: rng.randn(12, 4), y: rng.randint(0, 3, 12).astype(np.int32)}
    return g, x, y, loss, grads, logits, feeds


@pytest.mark.parametrize("kind", ["mean", "sum", "both", "mean_all"])
def test_losses_and_gradients_from_shards_equal_the_whole_batch(kind):
    g, x, y, loss, grads, logits, feeds = mlp(kind)
    plan, finished, whole = sharded(g, [loss, logits] + grads, feeds, {x: 0, y: 0})
    for got, want in zip(finished, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert all(plan.parts[n].kind != MIXED for n in plan.cut)
    assert plan.parts[logits.name] == Part(BATCH, 0)
    expected = {"mean": -1, "sum": 0, "mean_all": -1}
    if kind in expected:
        # the workers compute every gradient's sum over their examples: nothing per example
        # but the fetched logits comes back ("both" adds a mean to a sum: the session
        # finishes their gradients from per-example values, which is right but gathers them)
        assert [n for n in plan.cut if plan.parts[n].kind == BATCH] == [logits.name]
        assert set(plan.cut) == {loss.name, logits.name} | {t.name for t in grads}
        assert plan.parts[loss.name] == Part(SUM, None, expected[kind])


def test_mean_weights_shards_by_size():
    """(1/n_s) * sum over a shard, weighted n_s/N: the mean of all 12 values, not of the means."""
    values = np.arange(12.0)
    shard_means = [values[:5].mean(), values[5:8].mean(), values[8:].mean()]
    assert combine(Part(SUM, None, -1), shard_means, SIZES, 12) == pytest.approx(values.mean())
    assert np.mean(shard_means) != pytest.approx(values.mean())


def test_split_along_axis_1():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3, None), name="x")
        w = sg.Variable(np.arange(3.0).reshape(1, 3), name="w")
        z = w @ x  # (1, batch): a batch along columns
        loss = sg.reduce_mean(sg.exp(z))
        grad, = sg.gradients(loss, [w])
    feeds = {x: np.random.RandomState(1).randn(3, 12)}
    plan, finished, whole = sharded(g, [z, loss, grad], feeds, {x: 1})
    assert plan.parts[z.name] == Part(BATCH, 1)
    for got, want in zip(finished, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_values_that_mix_examples_stay_with_the_session():
    """A batch-normalised activation needs the whole batch's mean: MIXED, so the session
    computes it (and what follows) from the gathered per-example values."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 2), name="x")
        w = sg.Variable(np.ones((2, 2)), name="w")
        h = x @ w
        centred = h - sg.reduce_mean(h, axis=0)
        peak = sg.reduce_max(h)
        loss = sg.reduce_mean(sg.square(centred)) + peak
        grad, = sg.gradients(loss, [w])
    parts = classify(g, needed_nodes(g, [grad.name], ["x"]), {"x": 0}, ["x"])
    assert parts[h.name] == Part(BATCH, 0)
    assert parts[centred.name].kind == MIXED and parts[peak.name].kind == MIXED
    assert parts[grad.name].kind == MIXED
    plan = Plan(g, (grad.name,), ("x",), {"x": 0})
    assert h.name in plan.cut and grad.name not in plan.worker


def test_unsplit_values_updates_and_random_ops():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 2), name="x")
        w = sg.Variable(np.ones(2), name="w")
        noise = sg.random_uniform((2,), seed=1, dtype=sg.float64)
        doubled = 2.0 * w
        loss = sg.reduce_sum(x * (w + noise))
        step = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
    nodes = needed_nodes(g, [step.name, doubled.name], ["x"])
    parts = classify(g, nodes, {"x": 0}, ["x"])
    assert parts[doubled.name] == Part(SAME)
    assert parts[noise.name].kind == MIXED  # drawn once, in the session, as one process would
    assert parts[step.name].kind == MIXED  # updates run in the session


def test_the_workers_graph_is_a_graph_file():
    g, x, y, loss, grads, logits, feeds = mlp("mean")
    plan = Plan(g, tuple(t.name for t in grads), ("x", "y"), {"x": 0, "y": 0})
    loaded = loads_graph(plan.graph_json)
    assert set(plan.cut) <= set(loaded.nx) and set(plan.worker_feeds) == {"x", "y"}
    assert plan.variables == ("b1", "w1", "w2")
    assert all(loaded.node(n)["role"] != "update" for n in loaded.nx)


def test_combine_kinds():
    a, b = np.array([[1.0], [2.0]]), np.array([[3.0]])
    np.testing.assert_array_equal(combine(Part(BATCH, 0), [a, b], [2, 1], 3), [[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(combine(Part(SUM), [a, a], [2, 2], 4), 2 * a)
    # SAME with power 1 (a count): each shard saw n, the whole batch N
    assert combine(Part(SAME, None, 1), [np.float64(2.0)], [2], 3) == 3.0
    assert combine(Part(SUM, None, 0), [np.int64(2), np.int64(5)], [1, 1], 2) == 7
    # an integer count of 11 examples out of 15 (11 * (15 / 11) is 14.999999999999998)
    assert combine(Part(SAME, None, 1), [np.int32(11)], [11], 15) == 15
    assert SAME != MIXED


RNG = np.random.RandomState(3)
X = RNG.randn(12, 4)
IDS = RNG.randint(0, 6, 12).astype(np.int32)


def _embedding(x, w):
    table = sg.Variable(RNG.randn(6, 4), name="table")
    ids = sg.placeholder(sg.int32, (None,), name="ids")
    return sg.reduce_mean(sg.reduce_sum(sg.gather(table, ids) * x, axis=1)), {ids: IDS}


def _manual_entropy(x, w):
    y = sg.placeholder(sg.int32, (None,), name="y")
    picked = sg.one_hot(y, 3, dtype=sg.float64) * sg.nn.log_softmax(x @ w)
    return -sg.reduce_mean(sg.reduce_sum(picked, axis=1)), {y: IDS % 3}


CASES = {  # name: (build(x, w) -> loss or (loss, extra feeds), the loss's kind)
    "reshape, transpose": (lambda x, w: sg.reduce_mean(sg.transpose(
        sg.reshape(x @ w, (-1, 3, 1)), (0, 2, 1)) ** 2), SUM),
    "slices": (lambda x, w: sg.reduce_mean(sg.square(x[:, 1:3] @ w[1:3])), SUM),
    "concat and softmax entropy": (lambda x, w: sg.reduce_mean(
        sg.nn.softmax_cross_entropy_with_logits(labels=sg.nn.softmax(x[:, :3]),
                                                logits=sg.concat([x @ w, x[:, :1]], axis=1)[:, :3])), SUM),
    "stack": (lambda x, w: sg.reduce_sum(sg.stack([x @ w, 2.0 * (x @ w)], axis=1)), SUM),
    "expand and squeeze": (lambda x, w: sg.reduce_sum(
        sg.squeeze(sg.expand_dims(sg.tanh(x @ w), 1), axis=1)), SUM),
    "where and maximum": (lambda x, w: sg.reduce_mean(
        sg.where(x @ w > 0.0, sg.maximum(x @ w, 0.5), sg.zeros_like(x @ w))), SUM),
    "stacked matrices": (lambda x, w: sg.reduce_mean(
        sg.sin(sg.reshape(x, (-1, 2, 2)) @ sg.reshape(w[:2], (2, 3)))), SUM),
    "per-example norm": (lambda x, w: sg.reduce_mean(
        (x @ w) / sg.norm(x @ w, axis=1, keepdims=True)), SUM),
    "embedding": (_embedding, SUM),
    "one_hot entropy": (_manual_entropy, SUM),
    "examples merged by a reshape": (lambda x, w: sg.reduce_sum(
        sg.reduce_max(sg.reshape(x @ w, (-1, 6)), axis=1)), MIXED),
    "max over the batch": (lambda x, w: sg.reduce_max(x @ w), MIXED),
    "mean plus weight decay": (lambda x, w: sg.reduce_mean(sg.square(x @ w))
                               + 0.1 * sg.reduce_sum(sg.square(w)), MIXED),
    "batch normalisation": (lambda x, w: sg.reduce_mean(sg.square(
        (x @ w - sg.reduce_mean(x @ w, axis=0)) / sg.sqrt(sg.reduce_mean(
            sg.square(x @ w - sg.reduce_mean(x @ w, axis=0)), axis=0) + 1e-3))), MIXED),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ops_split_by_their_rules(case):
    """Loss and gradients from shards equal the whole batch's, whether the workers compute
    them (SUM) or the session does from the gathered per-example values (MIXED)."""
    build, kind = CASES[case]
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 4), name="x")
        w = sg.Variable(RNG.randn(4, 3), name="w")
        built = build(x, w)
        loss, extra = built if isinstance(built, tuple) else (built, {})
        grads = [t for t in sg.gradients(loss, g.get_collection("trainable_variables"))
                 if t is not None]
    feeds = {x: X, **extra}
    plan, finished, whole = sharded(g, [loss] + grads, feeds, {k: 0 for k in feeds})
    assert plan.parts[loss.name].kind == kind
    if kind == SUM:  # the gradients too are sums the workers compute
        assert [plan.parts[t.name].kind for t in grads] == [SUM] * len(grads)
    gathered = [n for n in plan.cut if plan.parts[n].kind == BATCH]
    # weight decay does not depend on the batch: the session adds it to the workers' sums
    assert bool(gathered) == (kind == MIXED and case != "mean plus weight decay")
    for got, want in zip(finished, whole):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
