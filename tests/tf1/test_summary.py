"""tf.summary and FileWriter: event files read back with TensorBoard's own reader."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError, ShapeError


@pytest.fixture
def read_events():
    """Read a log directory with TensorBoard's EventAccumulator (every event kept)."""
    module = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

    def read(logdir):
        acc = module.EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        return acc
    return read


def _linear_regression():
    x = tf.placeholder(tf.float32, shape=(None,), name="x")
    y = tf.placeholder(tf.float32, shape=(None,), name="y")
    w = tf.Variable(np.float32(0.0), name="w")
    with tf.name_scope("loss"):
        loss = tf.mean(tf.square(w * x - y))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, y, w, loss, step


def test_scalars_and_histograms_of_a_training_run(tmp_path, read_events):
    x, y, w, loss, step = _linear_regression()
    tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", w)
    merged = tf.summary.merge_all()
    feed = {x: np.array([1.0, 2.0, 3.0], np.float32), y: np.array([2.0, 4.0, 6.0], np.float32)}
    losses, weights = [], []
    with tf.Session() as sess:
        writer = tf.summary.FileWriter(tmp_path, sess.graph)
        sess.run(tf.global_variables_initializer())
        for i in range(5):
            summary, value, current, _ = sess.run([merged, loss, w, step], feed)
            assert isinstance(summary, bytes)
            writer.add_summary(summary, i * 10)
            losses.append(value)
            weights.append(current)
        writer.close()
    events = read_events(tmp_path)
    assert events.Tags()["scalars"] == ["loss_1"]  # "loss" is the name scope's: TF1's tag
    scalars = events.Scalars("loss_1")
    assert [e.step for e in scalars] == [0, 10, 20, 30, 40]
    np.testing.assert_array_equal([e.value for e in scalars], np.array(losses, np.float32))
    assert losses[-1] < losses[0]
    histograms = events.Histograms("weights")
    assert [h.step for h in histograms] == [0, 10, 20, 30, 40]
    for h, value in zip(histograms, weights):
        histo = h.histogram_value
        assert histo.num == 1 and sum(histo.bucket) == 1
        assert histo.min == histo.max == histo.sum == pytest.approx(float(value))
        assert histo.sum_squares == pytest.approx(float(value) ** 2)


def test_histogram_buckets_are_tensorflows(tmp_path, read_events):
    values = np.array([-3.0, -0.5, 0.0, 0.0, 1.0, 1.0, 1.0, 250.0])
    h = tf.summary.histogram("h", tf.constant(values))
    with tf.Session() as sess, tf.summary.FileWriter(tmp_path) as writer:
        writer.add_summary(sess.run(h), 1)
    histo = read_events(tmp_path).Histograms("h")[0].histogram_value
    assert histo.num == 8 and histo.min == -3.0 and histo.max == 250.0
    assert histo.sum == pytest.approx(values.sum())
    assert histo.sum_squares == pytest.approx((values ** 2).sum())
    limits, counts = np.array(histo.bucket_limit), np.array(histo.bucket)
    assert counts.sum() == 8 and np.all(np.diff(limits) > 0)
    # Bucket i holds the values in [limit[i-1], limit[i]); runs of empty buckets are one entry.
    for value, expected in [(-3.0, 1), (-0.5, 1), (0.0, 2), (1.0, 3), (250.0, 1)]:
        i = int(np.searchsorted(limits, value, side="right"))
        assert counts[i] == expected
        assert i == 0 or limits[i - 1] <= value < limits[i]
    # Edges grow by 10% from 1e-12: the bucket of 1.0 ends at 1e-12 * 1.1**k, the first above 1.
    k = math.ceil(math.log(1e12) / math.log(1.1))
    assert limits[np.searchsorted(limits, 1.0, side="right")] == pytest.approx(1e-12 * 1.1 ** k)
    assert limits[np.searchsorted(limits, 0.0, side="right")] == pytest.approx(1e-12)
    assert np.count_nonzero(counts) == 5 and len(counts) <= 2 * 5 + 1


def test_the_graph_tab_shows_the_staticgraph_graph(tmp_path, read_events):
    x, y, w, loss, step = _linear_regression()
    tf.summary.scalar("loss", loss)
    with tf.Session() as sess:
        tf.summary.FileWriter(tmp_path, sess.graph).close()
    graph_def = read_events(tmp_path).Graph()
    nodes = {n.name: n for n in graph_def.node}
    assert set(nodes) == set(tf.get_default_graph().nx.nodes)
    assert nodes["x"].op == "placeholder"
    assert nodes["x"].attr["dtype"].type == 1  # DT_FLOAT
    assert [d.size for d in nodes["x"].attr["_output_shapes"].list.shape[0].dim] == [-1]
    assert nodes["w"].attr["dtype"].type == 1
    assert nodes["loss_1"].op == "summary_scalar"
    assert nodes["loss_1"].attr["tag"].s == b"loss_1"
    multiply = next(n for n in nodes.values() if n.op == "multiply" and "w" in n.input)
    assert list(multiply.input) == tf.get_default_graph().inputs(multiply.name)
    assert multiply.attr["role"].s == b"forward"
    gradient_roles = {n.attr["role"].s for n in nodes.values() if n.name.startswith("gradients/")}
    assert gradient_roles == {b"gradient"}
    # control inputs are written as "^name", as in TensorFlow's GraphDefs
    group = nodes[step.name]
    assert group.input and all(i.startswith("^") for i in group.input)


def test_tags_follow_tf1_names(tmp_path):
    v = tf.constant(1.0)
    with tf.name_scope("train"):
        a = tf.summary.scalar("acc", v)
        b = tf.summary.scalar("acc", v)
    c = tf.summary.scalar("my loss!", v)
    d = tf.summary.scalar("lr", v, family="opt")
    assert [a.name, b.name, c.name, d.name] == ["train/acc", "train/acc_1", "my_loss_",
                                                "opt/lr"]
    assert [t.node["attrs"]["tag"] for t in (a, b, c, d)] == ["train/acc", "train/acc_1",
                                                             "my_loss_", "opt/opt/lr"]
    merged = tf.summary.merge_all()
    assert merged.name == "Merge/MergeSummary"
    with tf.Session() as sess:
        summary = tf.summary.Summary()
        summary.ParseFromString(sess.run(merged))
    assert [value.tag for value in summary.value] == ["train/acc", "train/acc_1", "my_loss_",
                                                      "opt/opt/lr"]
    assert [value.simple_value for value in summary.value] == [1.0] * 4


def test_merge_all_scope_collections_and_none(read_events):
    pytest.importorskip("tensorboard")
    assert tf.summary.merge_all() is None  # TF1: None when there are no summaries
    v = tf.constant(2.0)
    with tf.name_scope("train"):
        train = tf.summary.scalar("a", v)
    tf.summary.scalar("b", v)
    tf.summary.scalar("c", v, collections=["eval"])
    tf.summary.scalar("d", v, collections=[])
    only_train = tf.summary.merge_all(scope="train")
    evaluation = tf.summary.merge_all(key="eval")
    both = tf.summary.merge([train, evaluation], name="both")
    with tf.Session() as sess:
        tags = [[value.tag for value in tf.summary.Summary.FromString(s).value]
                for s in sess.run([tf.summary.merge_all(), only_train, evaluation, both])]
    assert tags == [["train/a", "b"], ["train/a"], ["c"], ["train/a", "c"]]


def test_duplicate_tags_fail_the_run():
    pytest.importorskip("tensorboard")
    a = tf.summary.scalar("a", tf.constant(1.0))
    twice = tf.summary.merge([a, a])
    with tf.Session() as sess:
        with pytest.raises(InvalidArgumentError, match="Duplicate tag a found in summary inputs"):
            sess.run(twice)


def test_a_summary_is_a_string_scalar_as_in_tf1():
    """A summary's value is a serialized Summary proto: a tf.string scalar, fetched as bytes;
    merge takes any string scalar holding one (here one fed from an earlier run)."""
    pytest.importorskip("tensorboard")
    a = tf.summary.scalar("a", tf.constant(1.5))
    h = tf.summary.histogram("h", tf.constant([1.0, 2.0]))
    assert a.dtype == h.dtype == tf.string and a.shape == h.shape == ()
    fed = tf.placeholder(tf.string, [])
    merged = tf.summary.merge([fed, h])
    assert merged.dtype == tf.string and merged.shape == ()
    with tf.Session() as sess:
        earlier = sess.run(a)
        assert isinstance(earlier, bytes)
        both = tf.Summary.FromString(sess.run(merged, {fed: earlier}))
    assert [v.tag for v in both.value] == ["a", "h"] and both.value[0].simple_value == 1.5
    with pytest.raises(ShapeError, match="not a summary"):
        tf.summary.merge([tf.constant([b"x", b"y"])])


def test_summary_ops_are_neither_folded_nor_merged():
    """A summary of a constant stays a summary node; two summaries of one tensor stay two."""
    pytest.importorskip("tensorboard")
    v = tf.constant(3.0) * 2.0
    s1 = tf.summary.scalar("first", v)
    s2 = tf.summary.scalar("second", v)
    merged = tf.summary.merge([s1, s2])
    with tf.Session() as sess:
        summary = tf.summary.Summary.FromString(sess.run(merged))
        optimised = sess.executable(merged).graph
    assert [(value.tag, value.simple_value) for value in summary.value] == [("first", 6.0),
                                                                            ("second", 6.0)]
    ops = [data["op"] for _, data in optimised.nx.nodes(data=True)]
    assert ops.count("summary_scalar") == 2 and ops.count("summary_merge") == 1


@pytest.mark.parametrize("config", [{"debug_memory": True}, {"check_numerics": True},
                                    {"optimize": False}, {"memory": "naive"}])
def test_summaries_run_under_every_session_config(config):
    pytest.importorskip("tensorboard")
    x = tf.placeholder(tf.float64, shape=(3,), name="x")
    s = tf.summary.merge([tf.summary.scalar("s", tf.sum(x)), tf.summary.histogram("h", x)])
    with tf.Session(config=config) as sess:
        summary = tf.summary.Summary.FromString(sess.run(s, {x: np.array([1.0, 2.0, 4.0])}))
    assert summary.value[0].simple_value == 7.0
    assert summary.value[1].histo.num == 3 and summary.value[1].histo.sum == 7.0


def test_bad_summaries_fail_when_built():
    with pytest.raises(ShapeError, match="summary 'v' must be a scalar, got shape"):
        tf.summary.scalar("v", tf.constant([1.0, 2.0]))
    with pytest.raises(ShapeError, match="real number"):
        tf.summary.histogram("flags", tf.constant([True, False]))
    with pytest.raises(ShapeError, match="input 0 is not a summary"):
        tf.summary.merge([tf.constant(1.0)])
    with pytest.raises(InvalidArgumentError, match="inputs is empty"):
        tf.summary.merge([])


def test_nan_in_histogram_fails_the_run_and_changes_no_variable():
    pytest.importorskip("tensorboard")
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    x = tf.placeholder(tf.float64, shape=(2,), name="x")
    update = w.assign_add(x)
    h = tf.summary.histogram("x", x)
    with tf.Session() as sess:
        sess.run(w.initializer)
        with pytest.raises(InvalidArgumentError, match="Nan in summary histogram for: x"):
            sess.run([update, h], {x: np.array([1.0, np.nan])})
        np.testing.assert_array_equal(sess.run(w), [1.0, 2.0])


def test_writer_steps_flush_reopen_and_manual_summaries(tmp_path, read_events):
    step = tf.Variable(np.int64(7), name="global_step")
    s = tf.summary.scalar("s", tf.cast(step, tf.float32))
    with tf.Session() as sess:
        sess.run(step.initializer)
        writer = tf.summary.FileWriter(tmp_path, flush_secs=3600)
        assert writer.get_logdir() == str(tmp_path)
        summary, at = sess.run([s, step])
        writer.add_summary(summary, global_step=at)  # a numpy int64 step
        manual = tf.Summary(value=[tf.Summary.Value(tag="acc", simple_value=0.25)])
        assert tf.Summary is tf.summary.Summary
        writer.add_summary(manual, 8)
        writer.flush()
        assert read_events(tmp_path).Scalars("s")[0].step == 7  # on disk before close
        writer.close()
        writer.add_summary(manual, 9)  # dropped, as TF1
        writer.reopen()
        writer.add_summary(manual, 10)
        writer.close()
    assert len(os.listdir(tmp_path)) == 2  # reopen starts a new file
    events = read_events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars("acc")] == [(8, 0.25), (10, 0.25)]
    with pytest.raises(InvalidArgumentError, match="serialized Summary"):
        tf.summary.FileWriter(tmp_path).add_summary(3.0)


def test_without_tensorboard_only_summaries_fail(tmp_path):
    """Without the package, staticgraph imports and runs; asking for a FileWriter (or running a
    summary) names the package and the pip command."""
    script = f"""
import sys
sys.modules["tensorboard"] = None  # as if not installed
import numpy as np, staticgraph as tf
from staticgraph.errors import FailedPreconditionError
c = tf.constant(2.0) * 3.0
s = tf.summary.scalar("c", c)  # building is fine
assert not hasattr(tf, "Summary") and not hasattr(tf.summary, "Summary")
with tf.Session() as sess:
    assert sess.run(c) == 6.0
    for attempt in (lambda: tf.summary.FileWriter({str(tmp_path)!r}), lambda: sess.run(s)):
        try:
            attempt()
        except FailedPreconditionError as exc:
            assert 'pip install "staticgraph[tensorboard]"' in str(exc), exc
        else:
            raise AssertionError("no error")
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert not os.listdir(tmp_path)


def test_docstring_examples():
    pytest.importorskip("tensorboard")
    import doctest

    from staticgraph import summary
    from staticgraph.summary import writer
    for module in (summary, writer):
        tf.reset_default_graph()
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
