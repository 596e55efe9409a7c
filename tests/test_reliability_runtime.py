"""Regression tests of the runtime's reliability items: each test is named for its item."""
import gc
import sys
import threading
import warnings
import weakref

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError


@pytest.fixture
def fast_switching():
    """Switch threads as often as the interpreter can, so that races show within a few runs."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ----- item 7: a fed value the placeholder's dtype cannot hold is an error, never wrapped -----
@pytest.mark.parametrize("value,shown", [
    (2**40, "1099511627776"),                                       # a Python int
    ([1, 2**40], "1099511627776"),                                  # a list
    (np.array([5, -2**40], np.int64), "-1099511627776"),            # a wider numpy array
    (np.array([2**63], np.uint64), "9223372036854775808"),          # an unsigned one
    (np.int64(2**31), "2147483648"),                                # a numpy scalar
])
def test_item7_an_int_out_of_the_placeholders_range_is_refused_naming_it(value, shown):
    x = sg.placeholder(sg.int32, (None,) * np.ndim(value), name="counts")
    y = x + 1
    with pytest.raises(InvalidArgumentError, match=rf"cannot feed {shown} to placeholder "
                                                   r"'counts' .*which is int32.*out of int32's"):
        sg.Session().run(y, {x: value})


def test_item7_ints_beyond_64_bits_and_float32_overflow_are_refused():
    i = sg.placeholder(sg.int64, (None,), name="i")
    f = sg.placeholder(sg.float32, (None,), name="f")
    sess = sg.Session()
    with pytest.raises(InvalidArgumentError, match=r"cannot feed 1180591620717411303424 to "
                                                   r"placeholder 'i'.*int64"):
        sess.run(i + 0, {i: [2**70, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cast's own overflow warning must not escape
        with pytest.raises(InvalidArgumentError, match=r"cannot feed 1e\+300 to placeholder "
                                                       r"'f'.*float32"):
            sess.run(f + 0, {f: np.array([1.0, 1e300])})
    # An infinity is a value float32 holds: fed as it is.
    np.testing.assert_array_equal(sess.run(f + 0, {f: np.array([np.inf, 2.0])}), [np.inf, 2.0])


def test_item7_values_in_range_still_convert_exactly():
    x = sg.placeholder(sg.int32, (None,), name="x")
    edges = np.array([-2**31, 2**31 - 1, 0], np.int64)
    got = sg.Session().run(sg.identity(x), {x: edges})
    assert got.dtype == np.int32 and got.tolist() == edges.tolist()
    f = sg.placeholder(sg.float32, (2,), name="f")
    got = sg.Session().run(sg.identity(f), {f: np.array([3.4e38, -1.5])})
    np.testing.assert_array_equal(got, np.array([3.4e38, -1.5], np.float32))


def test_item7_a_compiled_executable_checks_its_feeds_alike():
    x = sg.placeholder(sg.int32, (), name="x")
    exe = sg.compile(x * 2)
    with pytest.raises(InvalidArgumentError, match=r"cannot feed 1099511627776 .*'x'.*int32"):
        exe.run({x: 2**40})
    assert int(exe.run({x: 2**30 - 1})) == 2**31 - 2


# ----- item 10: concurrent runs never lose an update -----------------------------------------
def counter_graph(shape=()):
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.zeros(shape), name="w")
        increments = {"assign_add": w.assign_add(np.ones(shape)),
                      "read-modify-write": w.assign(w + 1.0)}
        init = sg.global_variables_initializer()
    return g, w, increments, init


@pytest.mark.parametrize("kind", ["assign_add", "read-modify-write"])
@pytest.mark.parametrize("shape", [(), (64,)])
@pytest.mark.parametrize("raising", [False, True])
def test_item10_threads_sharing_a_session_lose_no_increment(fast_switching, kind, shape,
                                                            raising):
    """8 threads x 50 runs add exactly 400, with updates in place (default) and staged
    (warnings raising: no update may then be made in place)."""
    g, w, increments, init = counter_graph(shape)
    sess = sg.Session(g)
    sess.run(init)
    with warnings.catch_warnings():
        if raising:
            warnings.simplefilter("error", RuntimeWarning)
        run_threads(lambda _: [sess.run(increments[kind]) for _ in range(50)], 8)
    np.testing.assert_array_equal(sess.run(w), np.full(shape, 400.0))


def test_item10_reads_racing_updates_see_whole_values_in_order(fast_switching):
    """Readers see each variable whole (every element from one update) and never going back."""
    g, w, increments, init = counter_graph((256,))
    with g.as_default():
        total = sg.sum(w)
    sess = sg.Session(g)
    sess.run(init)
    bad = []

    def work(i):
        if i < 4:
            for _ in range(40):
                sess.run(increments["assign_add"])
            return
        last = -1.0
        for _ in range(60):
            value, summed = sess.run([w, total])
            if not (value == value[0]).all() or value[0] < last or summed % 256 != 0:
                bad.append((value[:3].tolist(), summed))
            last = value[0]
    run_threads(work, 8)
    assert bad == []
    np.testing.assert_array_equal(sess.run(w), np.full(256, 160.0))


def test_item10_concurrent_optimizer_steps_all_count(fast_switching):
    """SGD steps from many threads on a linear loss (a constant gradient) all land."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        w = sg.Variable(np.array([1.0, -2.0, 0.5]), name="w")
        loss = sg.sum(sg.matmul(x, sg.reshape(w, (3, 1))))
        train = sg.train.GradientDescentOptimizer(0.25).minimize(loss)
        init = sg.global_variables_initializer()
    sess = sg.Session(g)
    sess.run(init)
    batch = np.array([[1.0, 2.0, 4.0]])
    run_threads(lambda _: [sess.run(train, {x: batch}) for _ in range(25)], 6)
    np.testing.assert_array_equal(sess.run(w), np.array([1.0, -2.0, 0.5]) - 150 * 0.25 * batch[0])


# ----- item 13: the per-shape cache is bounded --------------------------------------------------
def test_item13_a_session_keeps_at_most_max_cached_variants_and_frees_the_rest():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 8), name="x")
        y = sg.sum(sg.exp(x) * x, axis=1)
    sess = sg.Session(g, config={"max_cached_variants": 4})
    exe = sess.executable(y, {x: None})
    plans = []
    for batch in range(1, 21):
        value = np.full((batch, 8), 0.5)
        for _ in range(2):  # the second run takes the short path
            np.testing.assert_allclose(sess.run(y, {x: value}), np.full(batch, 8 * 0.5 * np.exp(0.5)))
        plans.append(weakref.ref(exe.memory))
    assert exe.variants == [((b, 8),) for b in range(17, 21)] and exe.evictions == 16
    assert len(sess._fast) <= 4
    gc.collect()
    alive = [b + 1 for b, plan in enumerate(plans) if plan() is not None]
    assert alive == [17, 18, 19, 20]  # the dropped variants' plans, programs, buffers are gone
    # A dropped shape comes back: made again, same values.
    np.testing.assert_allclose(sess.run(y, {x: np.ones((1, 8))}), [8 * np.e])
    assert exe.variants[-1] == ((1, 8),) and len(exe.variants) == 4


def test_item13_use_refreshes_a_variant_least_recently_used_goes_first():
    x = sg.placeholder(sg.float64, (None,), name="x")
    exe = sg.compile(2 * x, max_cached_variants=2)
    for n in (1, 2, 1, 3):
        exe.run({x: np.ones(n)})
    assert exe.variants == [((1,),), ((3,),)]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", True])
def test_item13_max_cached_variants_must_be_a_positive_int(bad):
    x = sg.placeholder(sg.float64, (None,), name="x")
    with pytest.raises(InvalidArgumentError, match="max_cached_variants"):
        sg.Session(config={"max_cached_variants": bad}).run(2 * x, {x: np.ones(2)})
    with pytest.raises(InvalidArgumentError, match="max_cached_variants"):
        sg.compile(2 * x, max_cached_variants=bad)


def test_item13_an_unknown_session_option_is_refused_naming_it():
    with pytest.raises(InvalidArgumentError, match=r"unknown config option\(s\) \['max_variants'\]"):
        sg.Session(config={"max_variants": 3})


# ----- item 16: user errors of the runtime are staticgraph errors naming the culprit ----------
def test_item16_a_feed_dict_that_is_not_a_dict_is_refused():
    x = sg.placeholder(sg.float64, (), name="x")
    y = x * 2
    with pytest.raises(InvalidArgumentError, match=r"feed_dict must be a dict.*got list"):
        sg.Session().run(y, [(x, 1.0)])
    with pytest.raises(InvalidArgumentError, match=r"feed_dict must be a dict.*got tuple"):
        sg.compile(y).run(((x, 1.0),))


@pytest.mark.parametrize("bad", ["x", -1, 1.5, True])
def test_item16_a_budget_that_is_not_a_number_of_bytes_is_refused(bad):
    x = sg.placeholder(sg.float64, (4,), name="x")
    with pytest.raises(InvalidArgumentError, match=rf"budget_bytes must be None or an int >= 0.*"
                                                   rf"got {bad!r}"):
        sg.compile(sg.exp(x), budget_bytes=bad)


def test_item16_a_warning_raised_as_an_error_names_the_node_and_changes_no_variable():
    g = sg.Graph()
    with g.as_default():
        a = sg.placeholder(sg.float64, (3,), name="a")
        w = sg.Variable(np.ones(3), name="w")
        step = w.assign_add(sg.log(a, name="logs"))
        init = sg.global_variables_initializer()
    sess = sg.Session(g)
    sess.run(init)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidArgumentError, match=r"log failed at node 'logs' .*"
                                                       r"RuntimeWarning.*divide by zero"):
            sess.run(step, {a: np.array([1.0, 0.0, 2.0])})
    np.testing.assert_array_equal(sess.run(w), np.ones(3))
    sess.run(step, {a: np.full(3, np.e)})
    np.testing.assert_allclose(sess.run(w), np.full(3, 2.0))
