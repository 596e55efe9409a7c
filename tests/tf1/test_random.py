"""Random ops: distributions (seeded statistics), TF1's seed rules, fresh draws per run, no folding."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.errors import InvalidArgumentError


def test_distributions_have_their_moments():
    tf.set_random_seed(11)
    normal = tf.random_normal([400, 250], mean=2.0, stddev=3.0)
    uniform = tf.random_uniform([400, 250], minval=-1.0, maxval=3.0, dtype=tf.float64)
    ints = tf.random_uniform([100000], minval=-3, maxval=4, dtype=tf.int32)
    truncated = tf.truncated_normal([400, 250], mean=-1.0, stddev=0.5)
    n, u, i, t = tf.Session().run([normal, uniform, ints, truncated])
    assert n.dtype == np.float32 and u.dtype == np.float64 and i.dtype == np.int32
    assert abs(n.mean() - 2.0) < 0.05 and abs(n.std() - 3.0) < 0.05
    assert -1.0 <= u.min() and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.02
    assert abs(u.std() - 4 / np.sqrt(12)) < 0.02
    assert i.min() == -3 and i.max() == 3 and abs(np.bincount(i + 3) / i.size - 1 / 7).max() < 0.01
    # A standard normal cut at +-2 has deviation 0.8796 (1 - 4 phi(2) / (2 Phi(2) - 1), rooted).
    assert np.abs(t + 1.0).max() <= 1.0 and abs(t.mean() + 1.0) < 0.01
    assert abs(t.std() - 0.5 * 0.8796) < 0.01


def test_shuffle_permutes_the_first_dim():
    value = np.arange(12).reshape(6, 2)
    shuffled = tf.random_shuffle(tf.constant(value), seed=4)
    sess = tf.Session()
    draws = [sess.run(shuffled) for _ in range(5)]
    for d in draws:
        assert sorted(map(tuple, d)) == sorted(map(tuple, value))  # rows kept whole
    assert len({d.tobytes() for d in draws}) > 1
    with pytest.raises(InvalidArgumentError, match="random_shuffle: needs a tensor of rank >= 1"):
        tf.random_shuffle(tf.constant(1.0))


def _draws(seed=None, op_seed=None, runs=2):
    """`runs` runs of a uniform and a normal op, in a new graph and session."""
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        a = tf.random_uniform([4], seed=op_seed)
        b = tf.random_normal([3])
        sess = tf.Session()
        return [np.concatenate(sess.run([a, b])) for _ in range(runs)]


def test_each_run_draws_anew_and_a_graph_seed_replays_the_sequence():
    first = _draws(seed=1)
    assert not np.array_equal(first[0], first[1])
    again = _draws(seed=1)
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(first[0], _draws(seed=2)[0])


def test_an_op_seed_without_a_graph_seed_is_reproducible():
    first = _draws(op_seed=5)
    again = _draws(op_seed=5)
    np.testing.assert_array_equal(first[0][:4], again[0][:4])  # the seeded op repeats
    np.testing.assert_array_equal(first[1][:4], again[1][:4])
    assert not np.array_equal(first[0][4:], again[0][4:])      # the unseeded one does not


def test_without_seeds_sessions_differ():
    first, again = _draws(), _draws()
    assert not np.array_equal(first[0], again[0])
    graph = tf.get_default_graph()
    x = tf.random_uniform([5])
    assert not np.array_equal(tf.Session(graph=graph).run(x), tf.Session(graph=graph).run(x))


def test_a_graph_seed_replays_across_processes():
    program = textwrap.dedent("""
        import staticgraph as tf
        tf.set_random_seed(123)
        x = tf.random_normal([3], seed=9)
        y = tf.truncated_normal([2])
        sess = tf.Session()
        print(repr(sess.run(x).tolist() + sess.run(y).tolist() + sess.run(x).tolist()))
    """)
    outputs = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)]
    assert outputs[0] == outputs[1] and len(eval(outputs[0])) == 8


def test_random_ops_are_neither_folded_nor_merged():
    tf.set_random_seed(3)
    a = tf.random_uniform([3]) * 2.0
    b = tf.random_uniform([3]) * 2.0
    exe = tf.compile([a, b])
    ops = [exe.graph.nx.nodes[n]["op"] for n in exe.graph.nx]
    assert ops.count("random_uniform") == 2
    first, second = exe.run({}), exe.run({})
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], second[0])


def test_variables_initialised_from_random_ops():
    tf.set_random_seed(0)
    w = tf.Variable(tf.random_normal([784, 10], stddev=0.01))
    b = tf.Variable(tf.truncated_normal([10], stddev=0.1, seed=2))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    w1 = sess.run(w)
    assert w1.dtype == np.float32 and w1.shape == (784, 10) and abs(w1.std() - 0.01) < 0.001
    np.testing.assert_array_equal(w1, sess.run(w))               # reading does not draw
    sess.run(tf.global_variables_initializer())
    assert not np.array_equal(w1, sess.run(w))                   # initialising again does
    assert np.abs(sess.run(b)).max() <= 0.2


def test_random_ops_have_no_gradient_but_their_parameters_do():
    x = tf.placeholder(tf.float64, (4,))
    mean = tf.placeholder(tf.float64, ())
    draw = tf.random_normal([4], mean=mean, stddev=2.0, dtype=tf.float64)
    assert tf.gradients(tf.reduce_sum(tf.random_shuffle(x)), [x]) == [None]
    (g,) = tf.gradients(tf.reduce_sum(draw), [mean])
    assert tf.Session().run(g, {mean: 1.0}) == 4.0


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="random_uniform: an integer dtype needs maxval"):
        tf.random_uniform([2], dtype=tf.int32)
    with pytest.raises(InvalidArgumentError, match="random_normal: needs a float dtype"):
        tf.random_normal([2], dtype=tf.int32)
    with pytest.raises(InvalidArgumentError, match="seed must be an int"):
        tf.random_normal([2], seed=1.5)
    with pytest.raises(InvalidArgumentError, match="random_normal"):
        tf.random_normal([None, 2])


def test_tf_random_spellings():
    tf.random.set_random_seed(8)
    got = tf.Session().run([tf.random.normal([2]), tf.random.uniform([2]),
                            tf.random.truncated_normal([2]), tf.random.shuffle([1, 2, 3])])
    assert [np.shape(v) for v in got] == [(2,), (2,), (2,), (3,)]
    assert tf.get_graph_seed() == 8


def test_random_initializers_draw_anew_at_each_run_of_the_initializer():
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        w = tf.get_variable("w", (20, 30), initializer=tf.glorot_uniform_initializer())
        v = tf.get_variable("v", (400,), initializer=tf.truncated_normal_initializer(stddev=2.0))
        init = tf.global_variables_initializer()
        with tf.Session() as sess:
            sess.run(init)
            first = sess.run([w, v])
            sess.run(init)
            second = sess.run([w, v])
        with tf.Session() as sess:
            sess.run(init)
            replay = sess.run([w, v])
    assert not np.array_equal(first[0], second[0]) and not np.array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[0], replay[0])  # a seeded program replays its draws
    limit = np.sqrt(6 / 50)
    assert (np.abs(first[0]) <= limit).all() and first[0].std() > limit / 3
    assert (np.abs(first[1]) <= 4).all() and 1.0 < first[1].std() < 2.0
