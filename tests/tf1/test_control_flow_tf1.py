"""TF1's control-flow conventions: one-variable while_loop, back_prop, hessians, custom_gradient,
and gradients taken inside a cond branch or loop body w.r.t. tensors of the enclosing graph."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def _x(shape=()):
    return sg.placeholder(sg.float64, shape, name="x")


@pytest.mark.parametrize("loop_vars", ["list", "tuple", "bare"])
@pytest.mark.parametrize("boxed_body", [False, True])
def test_one_variable_loop_returns_a_bare_tensor(loop_vars, boxed_body):
    x = _x()
    init = {"list": [x], "tuple": (x,), "bare": x}[loop_vars]
    body = (lambda v: (v * 2.0,)) if boxed_body else (lambda v: v * 2.0)
    y = sg.while_loop(lambda v: v < 100.0, body, init)
    assert isinstance(y, sg.Tensor)
    assert sg.Session().run(y, {x: 3.0}) == 192.0


def test_tf1_docstring_loops():
    i = sg.constant(0, sg.int32)
    r = sg.while_loop(lambda i: sg.less(i, 10), lambda i: sg.add(i, 1), [i])
    assert sg.Session().run(r) == 10
    i0, m0 = sg.constant(0, sg.int64), sg.ones((2, 2), sg.float64)
    i1, m1 = sg.while_loop(lambda i, m: i < 10, lambda i, m: [i + 1, sg.concat([m, m], axis=0)],
                           [i0, m0], shape_invariants=[(), (None, 2)])
    assert sg.Session().run(m1).shape == (2048, 2)


def test_body_may_swap_the_outer_list_and_tuple_but_not_nested_ones():
    # TF1 compares the body's result with loop_vars as lists at the top level only.
    i, s = sg.constant(0), sg.constant(0.5, sg.float64)
    out = sg.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2.0), [i, s])
    assert isinstance(out, list) and sg.Session().run(out) == [3, 4.0]
    out = sg.while_loop(lambda i, s: i < 3, lambda i, s: [i + 1, s * 2.0], (i, s))
    assert isinstance(out, tuple) and sg.Session().run(out) == (3, 4.0)
    with pytest.raises(errors.InvalidArgumentError, match="structure"):
        sg.while_loop(lambda i, p: i < 3, lambda i, p: [i + 1, tuple(p)], [i, [s, s]])


def test_return_same_structure_and_tf1_arguments():
    x = _x()
    (y,) = sg.while_loop(lambda v: v < 5.0, lambda v: v + 1.0, (x,), parallel_iterations=32,
                         swap_memory=True, return_same_structure=True)
    assert sg.Session().run(y, {x: 0.5}) == 5.5
    with pytest.raises(errors.InvalidArgumentError, match="parallel_iterations must be a positive"):
        sg.while_loop(lambda v: v < 5.0, lambda v: v + 1.0, [x], parallel_iterations=0)


def test_back_prop_false_stops_the_gradient():
    x = _x()
    y = sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), (0, x), back_prop=False)[1]
    z = sg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), (0, x))[1]
    (g_stopped,) = sg.gradients(y + x, [x])
    (g,) = sg.gradients(z, [x])
    assert sg.Session().run([g_stopped, g], {x: 2.0}) == [1.0, 4 * 2.0 ** 3]


def test_hessians_match_closed_forms():
    a = sg.placeholder(sg.float64, (3,), name="a")
    b = sg.placeholder(sg.float64, (2, 2), name="b")
    ys = [sg.sum(a ** 3) * sg.sum(b), a[0] * a[1]]
    h_a, h_b = sg.hessians(ys, [a, b])
    assert h_a.shape == (3, 3) and h_b.shape == (2, 2, 2, 2)
    av, bv = np.array([1.0, 2.0, -1.5]), np.array([[0.5, 1.0], [2.0, -1.0]])
    got_a, got_b = sg.Session().run([h_a, h_b], {a: av, b: bv})
    expected = np.diag(6 * av * bv.sum())
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(got_a, expected)
    np.testing.assert_allclose(got_b, np.zeros((2, 2, 2, 2)))


def test_custom_gradient_replaces_the_gradient():
    @sg.custom_gradient
    def log1pexp(x):
        e = sg.exp(x)
        return sg.log(1.0 + e), lambda dy: dy * (1.0 - 1.0 / (1.0 + e))
    x = _x((3,))
    y = log1pexp(x)
    (g,) = sg.gradients(sg.sum(y * y), [x])
    xv = np.array([-2.0, 0.5, 30.0])
    value, grad = sg.Session().run([y, g], {x: xv})
    np.testing.assert_allclose(value, np.log1p(np.exp(xv)))
    np.testing.assert_allclose(grad, 2 * value / (1 + np.exp(-xv)))


def test_custom_gradient_is_the_users_not_the_true_one():
    @sg.custom_gradient
    def scaled_identity(x, w):
        return x * w, lambda dy: [dy * 10.0, None]
    x, w = _x((2,)), sg.placeholder(sg.float64, (2,), name="w")
    gx, gw = sg.gradients(sg.sum(scaled_identity(x, w)), [x, w])
    assert gw is None
    np.testing.assert_allclose(sg.Session().run(gx, {x: np.ones(2), w: np.ones(2)}), [10.0, 10.0])

    @sg.custom_gradient
    def wrong_count(x):
        return x * 2.0, lambda dy: [dy, dy]
    with pytest.raises(errors.InvalidArgumentError, match="2 gradients for 1 inputs"):
        sg.gradients(wrong_count(x), [x])
    with pytest.raises(errors.UnimplementedError, match="reverse-mode gradient only"):
        sg.jvp(scaled_identity(x, w), [x], [np.ones(2)])


def test_gradients_in_a_cond_branch_wrt_enclosing_tensors():
    x, w = _x(), sg.placeholder(sg.float64, (), name="w")
    z = sg.cond(x > 0, lambda: sg.gradients(x * x * w, [x])[0], lambda: -x)
    sess = sg.Session()
    assert sess.run(z, {x: 3.0, w: 2.0}) == 12.0
    assert sess.run(z, {x: -3.0, w: 2.0}) == 3.0


def test_gradients_in_a_loop_body_wrt_enclosing_tensors_and_through_it():
    x, w = _x(), sg.placeholder(sg.float64, (), name="w")

    def body(i, acc):
        gx, gw = sg.gradients(x * x * w, [x, w])
        return i + 1, acc + gx * gw
    y = sg.while_loop(lambda i, acc: i < 3, body, (0, sg.constant(0.0, sg.float64)))[1]
    (dy_dx,) = sg.gradients(y, [x])
    # y = 3 * (2 x w) x^2 = 6 w x^3
    got = sg.Session().run([y, dy_dx], {x: 1.5, w: 2.0})
    np.testing.assert_allclose(got, [6 * 2.0 * 1.5 ** 3, 18 * 2.0 * 1.5 ** 2])
