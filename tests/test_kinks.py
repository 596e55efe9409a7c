"""Kink conventions: the derivative relu, abs, max, maximum and minimum take at their kinks, in
both styles, forward and reverse; the convention a graph was built under; gradcheck's warning."""
import threading
import warnings

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.errors import InvalidArgumentError
from staticgraph.kinks import CONVENTIONS, KinkWarning, count_kinks
from staticgraph.testing.kinkcheck import find_kinks

X = np.array([-1.5, 0.0, 2.0])  # one point on the kink of relu and abs, one either side
A = np.array([1.0, 3.0, -2.0, 0.5])
B = np.array([1.0, 2.0, -2.0, 4.0])  # ties with A at positions 0 and 2
M = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, -2.0], [5.0, 1.0, 5.0]])  # tied maxima in every row

# convention -> op -> closed-form gradient of sum(op) at the points above (for max: along axis 1)
EXPECTED = {
    "zero": {"relu": [0, 0, 1], "abs": [-1, 0, 1],
             "maximum": ([0.5, 1, 0.5, 0], [0.5, 0, 0.5, 1]),
             "minimum": ([0.5, 0, 0.5, 1], [0.5, 1, 0.5, 0]),
             "max": [[0, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5]]},
    "half": {"relu": [0, 0.5, 1], "abs": [-1, 0, 1],
             "maximum": ([0.5, 1, 0.5, 0], [0.5, 0, 0.5, 1]),
             "minimum": ([0.5, 0, 0.5, 1], [0.5, 1, 0.5, 0]),
             "max": [[0, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5]]},
    "left": {"relu": [0, 0, 1], "abs": [-1, -1, 1],
             "maximum": ([1, 1, 1, 0], [0, 0, 0, 1]),
             "minimum": ([1, 0, 1, 1], [0, 1, 0, 0]),
             "max": [[0, 1, 0], [1, 0, 0], [1, 0, 0]]},
}
UNARY = {"relu": sg.relu, "abs": sg.abs}
BINARY = {"maximum": sg.maximum, "minimum": sg.minimum}


def static_grads(op, convention):
    """d sum(op(...)) / d inputs, the gradient nodes built under `convention`."""
    g = sg.Graph()
    with g.as_default():
        if op in UNARY:
            xs, feed = [sg.placeholder(sg.float64, X.shape, name="x")], [X]
            y = UNARY[op](xs[0])
        elif op in BINARY:
            xs = [sg.placeholder(sg.float64, A.shape, name=n) for n in "ab"]
            feed, y = [A, B], BINARY[op](*xs)
        else:
            xs, feed = [sg.placeholder(sg.float64, M.shape, name="m")], [M]
            y = sg.max(xs[0], axis=1)
        with sg.kink_convention(convention):
            grads = sg.gradients(sg.sum(y), xs)
    return sg.Session(g).run(grads, dict(zip(xs, feed)))


def eager_grads(op, convention):
    """The same gradients from eager backward() run under `convention`."""
    if op in UNARY:
        xs = [eager.tensor(X, requires_grad=True)]
        y = UNARY[op](xs[0])
    elif op in BINARY:
        xs = [eager.tensor(A, requires_grad=True), eager.tensor(B, requires_grad=True)]
        y = BINARY[op](*xs)
    else:
        xs = [eager.tensor(M, requires_grad=True)]
        y = sg.max(xs[0], axis=1)
    with sg.kink_convention(convention):
        y.sum().backward()
    return [x.grad.numpy() for x in xs]


def expected(op, convention):
    value = EXPECTED[convention][op]
    return [np.array(v, dtype=float) for v in (value if op in BINARY else [value])]


CASES = [(c, op) for c in CONVENTIONS for op in ("relu", "abs", "maximum", "minimum", "max")]


@pytest.mark.parametrize("convention,op", CASES)
def test_static_gradients_at_kinks_follow_the_convention(convention, op):
    for got, want in zip(static_grads(op, convention), expected(op, convention)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("convention,op", CASES)
def test_eager_gradients_at_kinks_follow_the_convention(convention, op):
    for got, want in zip(eager_grads(op, convention), expected(op, convention)):
        np.testing.assert_array_equal(got, want)


def test_the_default_is_zero_as_design_says_and_setting_returns_the_previous():
    assert sg.get_kink_convention() == "zero"
    assert sg.set_kink_convention("left") == "zero"
    try:
        assert sg.get_kink_convention() == "left"
    finally:
        assert sg.set_kink_convention("zero") == "left"


def test_the_context_manager_restores_the_previous_convention_even_after_an_error():
    with pytest.raises(RuntimeError):
        with sg.kink_convention("half") as convention:
            assert convention.relu_at_zero == 0.5 and sg.get_kink_convention() == "half"
            raise RuntimeError("inside")
    assert sg.get_kink_convention() == "zero"


def test_an_unknown_convention_is_a_clear_error_and_changes_nothing():
    with pytest.raises(InvalidArgumentError, match="'right'.*'zero', 'half', 'left'"):
        sg.set_kink_convention("right")
    with pytest.raises(ValueError):
        with sg.kink_convention("middle"):
            pass
    assert sg.get_kink_convention() == "zero"


def test_a_graph_keeps_the_convention_it_was_differentiated_under():
    x = sg.placeholder(sg.float64, X.shape, name="x")
    y = sg.sum(sg.relu(x, name="r"))
    with sg.kink_convention("half"):
        (half,) = sg.gradients(y, [x])
    (zero,) = sg.gradients(y, [x])
    with sg.kink_convention("left"):  # running later, under another convention, changes nothing
        got_half, got_zero = sg.Session().run([half, zero], {x: X})
    np.testing.assert_array_equal(got_half, [0, 0.5, 1])
    np.testing.assert_array_equal(got_zero, [0, 0, 1])
    assert half.node["kink_convention"] == "half" and zero.node["kink_convention"] == "zero"


def test_eager_reads_the_convention_when_backward_runs_not_when_the_op_ran():
    x = eager.tensor(X, requires_grad=True)
    y = sg.relu(x).sum()  # recorded under "zero"
    with sg.kink_convention("half"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 1])


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_forward_mode_is_the_transpose_of_reverse_mode_at_kinks(convention):
    """<v, J u> from jvp equals <J^T v, u> from vjp, with both built under the convention."""
    rng = np.random.default_rng(7)
    a = sg.placeholder(sg.float64, (3, 4), name="a")
    b = sg.placeholder(sg.float64, (4,), name="b")
    y = sg.max(sg.maximum(sg.relu(a), sg.abs(b)) - sg.minimum(a, b), axis=(0, 1), keepdims=True)
    u = [sg.constant(rng.normal(size=s)) for s in ((3, 4), (4,))]
    v = sg.constant(rng.normal(size=(1, 1)))
    with sg.kink_convention(convention):
        (jvp_value,) = sg.jvp([y], [a, b], u)
        vjp_a, vjp_b = sg.gradients(y, [a, b], grad_ys=[v])
    feed = {a: np.array([[0.0, 1, 1, -2], [1, 0, 3, 3], [2, 1, 0, 3]]), b: np.array([0.0, 1, 3, -3])}
    sess = sg.Session()
    forward = np.sum(sess.run(v) * sess.run(jvp_value, feed))
    backward = sum(np.sum(g * t) for g, t in zip(sess.run([vjp_a, vjp_b], feed), sess.run(u)))
    np.testing.assert_allclose(forward, backward, rtol=1e-12)


def test_left_max_picks_the_first_maximum_in_row_major_order_over_several_axes():
    x = sg.placeholder(sg.float64, (2, 2, 3), name="x")
    value = np.zeros((2, 2, 3))
    value[0, 1, 2] = value[1, 0, 1] = value[1, 1, 0] = 4.0  # three maxima; (0, 1, 2) comes first
    with sg.kink_convention("left"):
        (grad_all,) = sg.gradients(sg.max(x), [x])
        (grad_02,) = sg.gradients(sg.max(x, axis=(0, 2)), [x])
    got_all, got_02 = sg.Session().run([grad_all, grad_02], {x: value})
    assert np.argwhere(got_all).tolist() == [[0, 1, 2]]
    # over axes (0, 2) for each index of axis 1: first maximum in (axis 0, axis 2) order
    assert np.argwhere(got_02).tolist() == [[0, 1, 2], [1, 0, 1]]
    np.testing.assert_array_equal(got_02.sum(axis=(0, 2)), [1, 1])


def test_left_max_over_an_axis_of_unknown_size_is_a_clear_error():
    x = sg.placeholder(sg.float64, (None, 3), name="x")
    y = sg.max(x, axis=0)
    with sg.kink_convention("left"), pytest.raises(InvalidArgumentError, match="axis 0.*'x'"):
        sg.gradients(y, [x])


def test_central_differences_agree_with_half_at_relu_abs_and_pair_ties():
    """A central difference at a kink is the mean of both sides: the 'half' choice."""
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.placeholder(sg.float64, (3,), name="y")
    f = sg.relu(x) + sg.abs(x) + sg.maximum(x, y)
    point = {x: np.array([0.0, 0.0, 1.0]), y: np.array([0.0, -1.0, 1.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KinkWarning)
        with sg.kink_convention("half"):
            assert sg.testing.gradcheck(f, [x, y], point)
        with pytest.raises(sg.testing.GradcheckError):
            sg.testing.gradcheck(f, [x, y], point)  # "zero": relu'(0) = 0, not the mean 1/2


def test_gradcheck_warns_naming_the_node_on_a_kink():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(sg.relu(x, name="hidden") * 2.0)
    with pytest.warns(KinkWarning) as record:
        with pytest.raises(sg.testing.GradcheckError):
            sg.testing.gradcheck(y, [x], {x: np.array([0.0, 1.0, -1.0])})
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert "'hidden'" in messages[0] and "relu" in messages[0] and "'zero'" in messages[0]
    assert "test_kinks.py" in messages[0]  # where the node was built
    assert record[0].filename == __file__  # the warning points at the gradcheck call


def test_gradcheck_warns_for_ties_and_in_per_node_mode_but_not_when_asked_not_to():
    a = sg.placeholder(sg.float64, (2, 2), name="a")
    b = sg.placeholder(sg.float64, (2, 2), name="b")
    y = sg.max(sg.minimum(a, b, name="low"), axis=1, name="top")
    feed = {a: np.array([[1.0, 1.0], [2.0, 0.0]]), b: np.array([[3.0, 3.0], [2.0, 5.0]])}
    with pytest.warns(KinkWarning) as record:
        sg.testing.gradcheck(y, [a, b], feed, per_node=True)
    names = sorted(str(w.message).split("'")[1] for w in record)
    assert names == ["low", "top"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", KinkWarning)
        sg.testing.gradcheck(y, [a, b], feed, per_node=True, warn_kinks=False)


def test_no_warning_away_from_kinks_or_off_the_path():
    x = sg.placeholder(sg.float64, (3,), name="x")
    c = sg.placeholder(sg.float64, (3,), name="c")
    y = sg.sum(sg.relu(x) * sg.relu(c))  # c is on a kink, but gradcheck differentiates by x only
    with warnings.catch_warnings():
        warnings.simplefilter("error", KinkWarning)
        assert sg.testing.gradcheck(y, [x], {x: np.array([0.5, -1.0, 2.0]), c: np.zeros(3)})
    assert find_kinks(y, [x], {x: np.array([0.5, -1.0, 2.0]), c: np.zeros(3)}) == []


def test_count_kinks_counts_each_kind_of_kink():
    assert count_kinks("relu", [np.array([0.0, -0.0, 1e-300])], {}) == 2
    assert count_kinks("maximum", [np.array([[1.0], [2.0]]), np.array([1.0, 2.0])], {}) == 2
    assert count_kinks("max", [M], {"axis": (1,), "keepdims": False}) == 3
    assert count_kinks("max", [np.array([1.0, 2.0])], {"axis": None, "keepdims": False}) == 0
    assert count_kinks("sin", [np.zeros(3)], {}) == 0


def test_item9_a_convention_set_in_one_thread_does_not_reach_graphs_built_by_another():
    """Thread A holds "half" while thread B differentiates relu at 0: B gets the default's 0."""
    inside, built = threading.Event(), threading.Event()
    seen = {}

    def hold_half():
        with sg.kink_convention("half"):
            inside.set()
            built.wait(10)
            seen["a"] = sg.get_kink_convention()

    def build_relu_gradient():
        inside.wait(10)
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float64, (3,), name="x")
            (dx,) = sg.gradients(sg.sum(sg.relu(x)), [x])
        seen["b"] = sg.Session(g).run(dx, {x: X})
        built.set()

    threads = [threading.Thread(target=hold_half), threading.Thread(target=build_relu_gradient)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"] == "half"
    np.testing.assert_array_equal(seen["b"], [0, 0, 1])
    assert sg.get_kink_convention() == "zero"


def test_item9_the_process_default_reaches_threads_that_set_none_of_their_own():
    seen = []
    previous = sg.set_kink_convention("left", process_default=True)
    try:
        with sg.kink_convention("half"):  # this thread's own choice wins over the default
            worker = threading.Thread(target=lambda: seen.append(sg.get_kink_convention()))
            worker.start()
            worker.join()
            assert sg.get_kink_convention() == "half"
    finally:
        sg.set_kink_convention(previous, process_default=True)
    assert seen == ["left"] and previous == "zero"
