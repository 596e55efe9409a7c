"""cond and while_loop: values, gradients (finite differences and closed forms), structure, errors."""
import sys

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def notes_f(a):
    """The notes' §3.4 f(a), written with graph control flow."""
    b = a * 2
    b = sg.while_loop(lambda b: sg.norm(b) < 1000, lambda b: b * 2, [b])
    return sg.cond(sg.sum(b) > 0, lambda: b, lambda: 100 * b)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_notes_f_gradient_equals_f_over_a(shape, rng):
    a = sg.placeholder(sg.float64, shape, name="a")
    d = notes_f(a)
    (grad,) = sg.gradients(d, [a])
    sess = sg.Session()
    for _ in range(6):
        value = rng.normal(size=shape)
        d_val, g_val = sess.run([d, grad], {a: value})
        if shape:
            # f is linear in a with one k for the whole vector: grad of sum(d) is k everywhere.
            k = d_val / value
            np.testing.assert_allclose(k, k[0])
            np.testing.assert_allclose(g_val, k)
        else:
            np.testing.assert_allclose(g_val, d_val / value)


def test_cond_runs_only_the_taken_branch_and_differentiates_it():
    x = sg.placeholder(sg.float64, (), name="x")
    calls = []
    y = sg.cond(x > 0, lambda: sg.sin(x) * x, lambda: sg.exp(x))
    (g,) = sg.gradients(y, x)
    sess = sg.Session()
    for value in (0.7, -0.4):
        sg.testing.gradcheck(y, [x], {x: value})
    assert sess.run(g, {x: 0.7}) == pytest.approx(np.cos(0.7) * 0.7 + np.sin(0.7))
    assert sess.run(g, {x: -0.4}) == pytest.approx(np.exp(-0.4))
    assert not calls


def test_untaken_branch_errors_do_not_fire():
    x = sg.placeholder(sg.float64, (), name="x")
    y = sg.cond(x > 0, lambda: sg.check_numerics(sg.log(x), "log"), lambda: x * 0)
    assert sg.Session().run(y, {x: -1.0}) == 0.0


def test_cond_nested_outputs_and_captures():
    x = sg.placeholder(sg.float64, (2,), name="x")
    w = sg.placeholder(sg.float64, (2,), name="w")
    out = sg.cond(sg.sum(x) > 0, lambda: {"a": x * w, "b": (w, sg.sum(x))},
                  lambda: {"a": x - w, "b": (w * 2, sg.sum(w))})
    assert set(out) == {"a", "b"} and isinstance(out["b"], tuple)
    loss = sg.sum(out["a"]) + sg.sum(out["b"][0]) + out["b"][1]
    for value in ([1.0, 2.0], [-1.0, -2.0]):
        sg.testing.gradcheck(loss, [x, w], {x: np.array(value), w: np.array([0.3, -0.8])})


def test_cond_second_order():
    x = sg.placeholder(sg.float64, (), name="x")
    y = sg.cond(x > 0, lambda: x ** 3, lambda: x ** 2)
    (g,) = sg.gradients(y, x)
    (h,) = sg.gradients(g, x)
    sess = sg.Session()
    assert sess.run(h, {x: 2.0}) == pytest.approx(12.0)
    assert sess.run(h, {x: -2.0}) == pytest.approx(2.0)


def test_cond_branch_mismatch_is_a_build_error():
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(errors.InvalidArgumentError, match="different structures"):
        sg.cond(x > 0, lambda: (x, x), lambda: x)
    with pytest.raises(errors.InvalidArgumentError, match="branch outputs differ"):
        sg.cond(x > 0, lambda: x, lambda: sg.cast(x, sg.float32))
    with pytest.raises(errors.InvalidArgumentError, match="predicate must be a bool scalar"):
        sg.cond(sg.placeholder(sg.bool_, (2,)), lambda: x, lambda: x)


def test_repeated_squaring_closed_form():
    x = sg.placeholder(sg.float64, (), name="x")
    n = sg.placeholder(sg.int64, (), name="n")
    i, y = sg.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * y), (sg.constant(0, sg.int64), x))
    (g,) = sg.gradients(y, x)
    sess = sg.Session()
    for steps in (0, 1, 3):
        y_val, g_val = sess.run([y, g], {x: 1.1, n: steps})
        p = 2 ** steps
        assert y_val == pytest.approx(1.1 ** p)
        assert g_val == pytest.approx(p * 1.1 ** (p - 1))


def test_while_gradient_with_respect_to_captured_tensor_accumulates():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    _, y = sg.while_loop(lambda i, y: i < 4, lambda i, y: (i + 1, sg.sin(y * w)), (0, x))
    feed = {x: np.array([0.2, -0.5, 0.9]), w: np.array([1.1, 0.7, -0.3])}
    sg.testing.gradcheck(y, [x, w], feed)
    loop = sg.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * w), (0, x))
    (dw,) = sg.gradients(loop[1], w)
    np.testing.assert_allclose(sg.Session().run(dw, feed), 5 * feed[w] ** 4 * feed[x])


def test_nested_cond_in_while_and_while_in_cond():
    x = sg.placeholder(sg.float64, (), name="x")

    def body(i, y):
        return i + 1, sg.cond(y > 1.0, lambda: y * 0.5, lambda: y * 3.0)
    _, y = sg.while_loop(lambda i, y: i < 6, body, (0, x))
    z = sg.cond(x > 0, lambda: sg.while_loop(lambda v: v < 10.0, lambda v: (v * 1.5,), (y,)),
                lambda: -y)
    for value in (0.7, 2.3, -0.4):
        sg.testing.gradcheck(z, [x], {x: value})


def test_maximum_iterations_and_zero_iterations():
    x = sg.placeholder(sg.float64, (), name="x")
    y = sg.while_loop(lambda y: y > 0, lambda y: (y + 1.0,), (x,), maximum_iterations=7)
    (g,) = sg.gradients(y, x)
    sess = sg.Session()
    assert sess.run(y, {x: 1.0}) == 8.0
    assert sess.run([y, g], {x: -1.0}) == [-1.0, 1.0]


def test_shape_invariants():
    x = sg.placeholder(sg.float64, (1,), name="x")
    with pytest.raises(errors.InvalidArgumentError, match=r"loop variable 0 enters as float64\(1,\)"):
        sg.while_loop(lambda v: sg.sum(v) < 10, lambda v: (sg.concat([v, v], 0),), (x,))
    v = sg.while_loop(lambda v: sg.sum(v) < 10, lambda v: (sg.concat([v, v], 0),), (x,),
                         shape_invariants=[(None,)])
    (g,) = sg.gradients(sg.sum(v), x)
    v_val, g_val = sg.Session().run([v, g], {x: [1.5]})
    assert v_val.shape == (8,) and g_val.tolist() == [8.0]


def test_long_loop_has_no_recursion_limit_and_linear_history():
    x = sg.placeholder(sg.float64, (), name="x")
    i, y = sg.while_loop(lambda i, y: i < 10000, lambda i, y: (i + 1, y * 1.0001), (0, x))
    (g,) = sg.gradients(y, x)
    assert sys.getrecursionlimit() < 10000
    y_val, g_val = sg.Session().run([y, g], {x: 2.0})
    assert y_val == pytest.approx(2.0 * 1.0001 ** 10000)
    assert g_val == pytest.approx(1.0001 ** 10000)


def test_while_loop_structure_and_errors():
    x = sg.placeholder(sg.float64, (), name="x")
    out = sg.while_loop(lambda s: s["v"] < 5, lambda s: {"v": s["v"] + 1}, {"v": x})
    assert isinstance(out, dict) and sg.Session().run(out["v"], {x: 0.5}) == 5.5
    one = sg.while_loop(lambda v: v < 5, lambda v: (v + 1,), (x,))
    assert isinstance(one, sg.Tensor) and sg.Session().run(one, {x: 0.5}) == 5.5
    kept = sg.while_loop(lambda v: v < 5, lambda v: v + 1, [x], return_same_structure=True)
    assert isinstance(kept, list) and len(kept) == 1
    with pytest.raises(errors.InvalidArgumentError, match="one bool scalar"):
        sg.while_loop(lambda v: v, lambda v: (v,), (x,))
    with pytest.raises(errors.InvalidArgumentError, match="structure"):
        sg.while_loop(lambda v: v < 5, lambda v: (v, v), (x,))


def test_bool_of_traced_value_points_to_control_flow():
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(TypeError, match="sg.while_loop"):
        while x < 10:
            x = x * 2


def test_forward_mode_through_cond_and_while_matches_reverse():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")

    def body(i, y):
        return i + 1, sg.cond(sg.sum(y) > 0, lambda: sg.sin(y) * w, lambda: y * y)
    _, y = sg.while_loop(lambda i, y: i < 3, body, (0, x))
    u = np.array([0.3, -1.0, 0.5])
    v = np.array([1.0, 0.2, -0.7])
    (tangent,) = sg.jvp(y, [x], [u])
    (cotangent,) = sg.gradients(y, [x], grad_ys=sg.constant(v))
    sess = sg.Session()
    for value in ([0.5, 0.2, 0.1], [-0.5, -0.2, 0.1]):
        t_val, c_val = sess.run([tangent, cotangent], {x: np.array(value), w: np.array([0.9, -1.2, 0.4])})
        assert np.dot(v, t_val) == pytest.approx(np.dot(c_val, u))


def test_hessian_through_cond():
    x = sg.placeholder(sg.float64, (2,), name="x")
    y = sg.cond(sg.sum(x) > 0, lambda: sg.sum(x ** 3), lambda: sg.sum(x * x))
    h = sg.hessian(y, x)
    np.testing.assert_allclose(sg.Session().run(h, {x: [1.0, 2.0]}), np.diag([6.0, 12.0]))
    np.testing.assert_allclose(sg.Session().run(h, {x: [-1.0, -2.0]}), np.diag([2.0, 2.0]))


def test_repeated_squaring_second_derivative_closed_form():
    x = sg.placeholder(sg.float64, (), name="x")
    n = sg.placeholder(sg.int64, (), name="n")
    _, y = sg.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * y), (sg.constant(0, sg.int64), x))
    (g,) = sg.gradients(y, x)
    (h_rev,) = sg.gradients(g, x)
    h_fwd = sg.hessian(y, x)
    sess = sg.Session()
    for steps in (0, 1, 2, 4):
        p = 2 ** steps
        # d2/dx2 of x^p = p (p - 1) x^(p - 2)
        want = p * (p - 1) * 1.1 ** (p - 2)
        rev, fwd = sess.run([h_rev, h_fwd], {x: 1.1, n: steps})
        assert rev == pytest.approx(want, rel=1e-12) and fwd == pytest.approx(want, rel=1e-12)


def _loop_with_capture(x, w, n):
    _, y = sg.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, sg.sin(y * w) + y * y), (0, x))
    return sg.sum(y * y)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_reverse_over_reverse_through_loop_with_captured_tensor(steps):
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    n = sg.placeholder(sg.int32, (), name="n")
    gx, gw = sg.gradients(_loop_with_capture(x, w, n), [x, w])
    feed = {x: np.array([0.2, -0.5, 0.4]), w: np.array([1.1, 0.7, -0.3]), n: steps}
    sg.testing.gradcheck(gx, [x, w], feed)
    sg.testing.gradcheck(gw, [x, w], feed)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_hessian_through_loop_with_captured_tensor(steps):
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    n = sg.placeholder(sg.int32, (), name="n")
    y = _loop_with_capture(x, w, n)
    h = sg.hessian(y, x)
    (gx,) = sg.gradients(y, x)
    mixed = sg.jvp(gx, w, np.ones(3))[0]  # d/dw of the x-gradient along ones, forward over reverse
    feed = {x: np.array([0.2, -0.5, 0.4]), w: np.array([1.1, 0.7, -0.3]), n: steps}
    sess = sg.Session()
    h_val, mixed_val = sess.run([h, mixed], feed)

    def gradient_at(x_val, w_val):
        return sess.run(gx, {**feed, x: x_val, w: w_val})
    eps = 1e-6
    columns = [(gradient_at(feed[x] + e, feed[w]) - gradient_at(feed[x] - e, feed[w])) / (2 * eps)
               for e in np.eye(3) * eps]
    np.testing.assert_allclose(h_val, np.stack(columns, axis=1), rtol=1e-6, atol=1e-7)
    ones = np.ones(3) * eps
    want = (gradient_at(feed[x], feed[w] + ones) - gradient_at(feed[x], feed[w] - ones)) / (2 * eps)
    np.testing.assert_allclose(mixed_val, want, rtol=1e-6, atol=1e-7)


def test_second_derivative_needs_loop_shapes_that_stay_the_same():
    x = sg.placeholder(sg.float64, (1,), name="x")
    v = sg.while_loop(lambda v: sg.sum(v) < 10, lambda v: (sg.concat([v, v * v], 0),), (x,),
                         shape_invariants=[(None,)])
    (g,) = sg.gradients(sg.sum(v), x)
    assert sg.Session().run(g, {x: [1.5]}).tolist() == [1.0 + 2 * 1.5 + 2 * 1.5 + 4 * 1.5 ** 3]
    with pytest.raises(errors.UnimplementedError, match="second derivative through a while_loop"):
        sg.gradients(sg.sum(g), x)
    with pytest.raises(errors.UnimplementedError, match="second derivative through a while_loop"):
        sg.jvp(g, x)


def test_a_shape_change_not_declared_in_shape_invariants_is_named_when_a_gradient_runs():
    x = sg.placeholder(sg.float64, (None,), name="x")
    v = sg.while_loop(lambda v: sg.sum(v) < 10, lambda v: (sg.concat([v, v], 0),), (x,))
    (g,) = sg.gradients(sg.sum(v), x)
    with pytest.raises(errors.InvalidArgumentError, match="loop variable 0 changed shape"):
        sg.Session().run(g, {x: [1.5]})
