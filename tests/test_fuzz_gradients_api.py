"""Random graphs against the finer points of `sg.gradients` and of running: `stop_gradients` that
overlap `xs`, `grad_ys` of every shape, integers at the edges of their range, and threads."""
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import staticgraph as sg
from tests.fuzz_graphs import EXAMPLES, Plan, build, feeds, programs

SETTINGS = settings(max_examples=4 * EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
H = 1e-6


def _distinct(values) -> list[int]:
    """Indices of the values that are no other value's tensor (a step may hand its input back)."""
    ids = [id(v) for v in values]
    return [i for i, v in enumerate(values) if ids.count(id(v)) == 1]


def _program_graph(shapes, steps):
    """A new graph holding the program on placeholders: (graph, placeholders, every value, the
    program's scalar result)."""
    g = sg.Graph()
    with g.as_default():
        xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
        nodes = []
        y = build(steps, xs, Plan(), nodes)
    return g, xs, nodes, y


@SETTINGS
@given(programs(with_slices=True), st.data())
def test_stop_gradients_give_the_partial_derivatives_of_the_cut_graph(program, data):
    """Stopping a value holds it constant: the gradients equal those of the same program in which
    each stopped value is a placeholder fed its value, also when a stopped value is in xs."""
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    g, xs, nodes, y = _program_graph(shapes, steps)
    candidates = st.sampled_from(_distinct(nodes) or [0])
    stops = data.draw(st.lists(candidates, unique=True, max_size=3))
    wrt = sorted(set(range(len(xs))) | set(i for i in stops if i >= len(xs))
                 | set(data.draw(st.lists(candidates, unique=True, max_size=2))))
    with g.as_default():
        grads = sg.gradients(y, [nodes[i] for i in wrt], stop_gradients=[nodes[i] for i in stops],
                             unconnected_gradients="zero")
    with sg.Session(graph=g) as sess:
        got = sess.run(grads, dict(zip(xs, values)))
        node_values = sess.run(nodes, dict(zip(xs, values)))

    # The cut program: each stopped value is a placeholder, so partial derivatives are plain
    # gradients there; an unstopped intermediate in xs is cut too, in a program of its own.
    fed = dict(zip(range(len(xs)), values))
    expected = {}
    stopped = [i for i in stops if i >= len(xs)]
    for extra in [None] + [i for i in wrt if i >= len(xs) and i not in stops]:
        holes = stopped + ([extra] if extra is not None else [])
        want = [extra] if extra is not None else [i for i in wrt if i < len(xs) or i in stops]
        expected.update(zip(want, _cut_gradients(shapes, steps, node_values, fed, holes, want, seed)))
    for i, got_i in zip(wrt, got):
        np.testing.assert_allclose(got_i, expected[i], rtol=1e-10, atol=1e-12)


def _cut_gradients(shapes, steps, node_values, fed, holes, wrt, seed):
    """Gradients by the values `wrt` of the program with the values `holes` made placeholders,
    checked against directional finite differences."""
    g = sg.Graph()
    with g.as_default():
        xs = [sg.placeholder(sg.float64, s, name=f"in{i}") for i, s in enumerate(shapes)]
        cut = {i: sg.placeholder(sg.float64, np.shape(node_values[i]), name=f"v{i}") for i in holes}
        y = build(steps, xs, Plan(), substitute=cut)
        leaves = {**dict(enumerate(xs)), **cut}
        grads = sg.gradients(y, list(leaves.values()), unconnected_gradients="zero")
    feed = {leaves[i]: fed[i] if i in fed else node_values[i] for i in leaves}
    rng = np.random.default_rng(seed)
    directions = {t: rng.normal(size=np.shape(v)) for t, v in feed.items()}
    with sg.Session(graph=g) as sess:
        full = dict(zip(leaves, sess.run(grads, feed)))
        plus, minus = (sess.run(y, {t: v + sign * H * directions[t] for t, v in feed.items()})
                       for sign in (1, -1))
    directional = sum(np.sum(full[i] * directions[leaves[i]]) for i in leaves)
    np.testing.assert_allclose((plus - minus) / (2 * H), directional, rtol=1e-5, atol=1e-6)
    return [full[i] for i in wrt]


def test_tf1_docstring_example_of_stop_gradients():
    a = sg.constant(0.0)
    b = 2 * a
    assert sg.Session().run(sg.gradients(a + b, [a, b], stop_gradients=[a, b])) == [1.0, 1.0]


def _wrong_shapes(shape: tuple) -> list[tuple]:
    """Shapes a grad_ys could have that are not `shape` (some broadcast to it, some to more)."""
    out = [shape + (1,), (1,) + shape, shape + (2,)]
    if shape:
        out += [(), shape[:-1], shape[:-1] + (shape[-1] + 1,), (1,) * len(shape)]
    return [s for s in out if s != shape]


@SETTINGS
@given(programs(), st.data())
def test_grad_ys_weight_the_outputs_and_a_wrong_shape_is_refused(program, data):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    g, xs, nodes, _ = _program_graph(shapes, steps)
    v = nodes[-1]
    with g.as_default():
        weights = np.random.default_rng(seed).normal(size=v.shape)
        grads = sg.gradients(v, xs, grad_ys=weights, unconnected_gradients="zero")
        want = sg.gradients(sg.sum(v * weights), xs, unconnected_gradients="zero")
        bad = data.draw(st.sampled_from(_wrong_shapes(tuple(v.shape))))
    with sg.Session(graph=g) as sess:
        for got_i, want_i in zip(*sess.run([grads, want], dict(zip(xs, values)))):
            np.testing.assert_allclose(got_i, want_i, rtol=1e-12, atol=1e-12)
    with g.as_default(), pytest.raises(ValueError, match="grad_ys"):
        sg.gradients(v, xs, grad_ys=np.ones(bad))


@SETTINGS
@given(programs(), st.data())
def test_a_fed_grad_ys_of_the_wrong_shape_fails_the_run(program, data):
    shapes, steps, seed = program
    values = feeds(shapes, seed)
    g, xs, nodes, _ = _program_graph(shapes, steps)
    v = nodes[-1]
    with g.as_default():
        dv = sg.placeholder(sg.float64, (None,) * len(v.shape), name="dv")
        grads = sg.gradients(v, xs, grad_ys=dv, unconnected_gradients="zero")
    bad = data.draw(st.sampled_from(_wrong_shapes(tuple(v.shape))))
    feed = dict(zip(xs, values))
    with sg.Session(graph=g) as sess:
        if len(bad) == len(v.shape):
            with pytest.raises(ValueError):
                sess.run(grads, {**feed, dv: np.ones(bad)})
        sess.run(grads, {**feed, dv: np.ones(v.shape)})  # and the session still works


INT_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "neg": lambda a, b: -a, "abs": lambda a, b: sg.abs(a), "max": lambda a, b: sg.maximum(a, b),
    "min": lambda a, b: sg.minimum(a, b), "where": lambda a, b: sg.where(a > b, a, b),
    "sum": lambda a, b: sg.sum(a, axis=0, keepdims=True) + b,
}
NP_INT_OPS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "neg": lambda a, b: -a,
    "abs": lambda a, b: np.abs(a), "max": np.maximum, "min": np.minimum,
    "where": lambda a, b: np.where(a > b, a, b),
    "sum": lambda a, b: np.sum(a, axis=0, keepdims=True, dtype=a.dtype) + b,
}


@SETTINGS
@given(st.sampled_from([np.int32, np.int64]), st.lists(st.tuples(
    st.sampled_from(sorted(INT_OPS)), st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=6),
    st.data())
def test_integer_graphs_at_the_edges_of_their_range_match_numpy(dtype, steps, data):
    info = np.iinfo(dtype)
    edges = st.sampled_from([info.min, info.min + 1, -1, 0, 1, info.max - 1, info.max])
    fed = [np.array(data.draw(st.lists(edges, min_size=3, max_size=3)), dtype) for _ in range(2)]
    g = sg.Graph()
    with g.as_default():
        xs = [sg.placeholder(dtype, (3,), name=f"i{k}") for k in range(2)]
        static, reference = list(xs), list(fed)
        with np.errstate(over="ignore"):
            for name, i, j in steps:
                a, b = (i % len(static)), (j % len(static))
                static.append(INT_OPS[name](static[a], static[b]))
                reference.append(NP_INT_OPS[name](reference[a], reference[b]).astype(dtype))
    feed = dict(zip(xs, fed))
    with np.errstate(over="ignore"):
        optimised = sg.compile(static[2:], feeds=xs).run(feed)
        plain = sg.compile(static[2:], feeds=xs, optimize=False).run(feed)
    for got, unopt, want in zip(optimised, plain, reference[2:]):
        assert got.dtype == want.dtype == unopt.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(unopt, want)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_threads_sharing_a_session_get_each_its_own_results(program):
    shapes, steps, seed = program
    g, xs, _, y = _program_graph(shapes, steps)
    with g.as_default():
        grads = sg.gradients(y, xs, unconnected_gradients="zero")
    feeds_by_thread = [feeds(shapes, seed + k) for k in range(4)]
    with sg.Session(graph=g) as sess:
        alone = [sess.run([y] + grads, dict(zip(xs, f))) for f in feeds_by_thread]
        results, barrier = {}, threading.Barrier(4)

        def work(k):
            barrier.wait()
            results[k] = [sess.run([y] + grads, dict(zip(xs, feeds_by_thread[k]))) for _ in range(5)]

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Equal to rounding, not bit for bit: a fused kernel switches from numpy code to numba's at
    # its 16th call when numba's compiled code is not cached yet, and the two round differently.
    for k in range(4):
        for run in results[k]:
            for got, want in zip(run, alone[k]):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
