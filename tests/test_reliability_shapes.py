"""Regressions of issue 15's shape, assignment, integer-range, empty-input and argument items:
each test is named for its item and failed before the fix."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError


def _raises(match, fn, *args, **kwargs):
    with pytest.raises(InvalidArgumentError, match=match) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ----- item 2: a shape rule claims a dim only when every run agrees ----------------------------
def test_item2_slice_of_an_unknown_dim_takes_the_fed_length():
    x = sg.placeholder(sg.float64, (None,), name="x")
    head, sparse = x[:5], x[::100]
    assert head.shape == (None,) and sparse.shape == (None,)
    assert x[3:3].shape == (0,) and x[5:2].shape == (0,)  # empty for every size
    mean_head, mean_sparse = sg.mean(head), sg.mean(sparse)
    (grad,) = sg.gradients(mean_sparse, [x])
    sess = sg.Session()
    assert sess.run(mean_head, {x: [3.0, 5.0]}) == 4.0
    value, g = sess.run([mean_sparse, grad], {x: np.arange(300.0)})
    assert value == 100.0  # mean of 0, 100, 200
    expected = np.zeros(300)
    expected[::100] = 1 / 3
    np.testing.assert_allclose(g, expected, rtol=1e-15)


def test_item2_negative_and_mixed_bounds_on_unknown_dims():
    x = sg.placeholder(sg.float64, (None, 4), name="x")
    cases = [np.s_[-2:1], np.s_[-3:], np.s_[1:-1, ::-3], np.s_[::-1, 5:], np.s_[..., -1]]
    sess = sg.Session()
    for n in (0, 1, 2, 5):
        value = np.arange(n * 4.0).reshape(n, 4)
        for key in cases:
            y = x[key]
            out = sess.run(y, {x: value})
            np.testing.assert_array_equal(out, value[key])
            assert all(d is None or d == a for d, a in zip(y.shape, out.shape)), (key, y.shape)


# ----- item 3: a failed run changes no variable, also where an update could be in place ---------
def test_item3_a_run_failing_after_an_update_leaves_the_variable_unchanged():
    w = sg.Variable(np.ones(3), name="w")
    x = sg.placeholder(sg.float64, (None,), name="x")
    update = w.assign_add(np.ones(3))
    with sg.control_dependencies([update]):
        # x[::100] has 3 elements for 300: the reshape fails after the update ran.
        y = sg.reshape(x[::100], (1,))
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    with pytest.raises(InvalidArgumentError, match="reshape"):
        sess.run([update, y], {x: np.arange(300.0)})
    np.testing.assert_array_equal(sess.run(w), np.ones(3))
    sess.run([update, y], {x: np.arange(100.0)})  # one element: the session still works
    np.testing.assert_array_equal(sess.run(w), np.full(3, 2.0))


# ----- item 4: an assignment of another shape than the variable's is an error -------------------
def test_item4_assign_of_another_known_shape_fails_when_built():
    w = sg.Variable(np.zeros(3), name="w")
    with pytest.raises(sg.errors.ShapeError, match=r"variable 'w' is \(3,\)"):
        w.assign(np.ones(5))


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_item4_assign_through_an_unknown_dim_fails_before_anything_is_written(method):
    w = sg.Variable(np.zeros(3), name="w")
    v = sg.Variable(0.0, name="v")
    p = sg.placeholder(sg.float64, (None,), name="p")
    first = v.assign_add(1.0)  # another update of the same run, before the failing one
    with sg.control_dependencies([first]):
        bad = getattr(w, method)(p)
    step = sg.group(first, bad)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    message = _raises("shapes differ", sess.run, step, {p: np.ones(5)})
    assert "'w'" in message and "(3,)" in message and "(5,)" in message
    assert sess.run(w).shape == (3,) and sess.run(v) == 0.0
    sess.run(step, {p: np.full(3, 2.0)})
    assert sess.run(v) == 1.0
    np.testing.assert_array_equal(sess.run(w), {"assign": 2.0, "assign_add": 2.0,
                                                "assign_sub": -2.0}[method] * np.ones(3))


# ----- item 7: integers out of range are an error, not wrapped --------------------------------
def test_item7_integer_out_of_range_is_an_error():
    message = _raises("out of range for int32", lambda: sg.constant(np.array([1, 2], np.int32)) + 2 ** 40)
    assert "1099511627776" in message and "add" in message
    _raises("1099511627776 is out of range for int32", sg.constant, 2 ** 40, dtype=sg.int32)
    _raises("out of range for int32", sg.constant, np.array([0, -2 ** 31 - 1]), dtype=sg.int32)
    assert sg.Session().run(sg.constant(np.array([1, 2], np.int32)) + (2 ** 31 - 1)).dtype == np.int32
    assert sg.Session().run(sg.constant(-2 ** 31, dtype=sg.int32)) == -2 ** 31


@pytest.mark.parametrize("index", [3, -1, -4])
def test_item7_gather_index_out_of_range_is_an_error_naming_it(index):
    v = sg.constant([1.0, 2.0, 3.0])
    i = sg.placeholder(sg.int64, (None,), name="i")
    y = sg.gather(v, i)
    message = _raises("gather", sg.Session().run, y, {i: [0, index]})
    assert f"indices[1] = {index}" in message and "[0, 3)" in message
    np.testing.assert_array_equal(sg.Session().run(y, {i: [2, 0]}), [3.0, 1.0])


# ----- item 12: empty inputs ----------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((2, 0), -1), ((0, 3), -1), ((0, 3), 0), ((2, 0), 0),
                                        ((0,), 0)])
def test_item12_softmax_of_empty_inputs_is_empty(shape, axis):
    x = sg.placeholder(sg.float64, (None,) * len(shape), name="x")
    ys = [sg.softmax(x, axis), sg.log_softmax(x, axis)]
    grads = sg.gradients(sg.add_n([sg.sum(y) for y in ys]), [x])
    out = sg.Session().run(ys + grads, {x: np.zeros(shape)})
    assert [o.shape for o in out] == [shape] * 3


def test_item12_reductions_of_empty_inputs_follow_numpy():
    x = sg.placeholder(sg.float64, (None,), name="x")
    sess = sg.Session()
    empty = {x: np.zeros(0)}
    assert sess.run(sg.sum(x), empty) == 0.0
    with np.errstate(invalid="ignore"):
        assert np.isnan(sess.run(sg.mean(x), empty))
    assert sess.run(sg.norm(x), empty) == 0.0
    _raises("max", sess.run, sg.max(x), empty)
    _raises("argmax", sess.run, sg.argmax(x, 0), empty)
    z = sg.placeholder(sg.float64, (None, 3), name="z")
    loss = sg.softmax_cross_entropy_with_logits(sg.softmax(z), z)
    assert sess.run(loss, {z: np.zeros((0, 3))}).shape == (0,)


# ----- item 16: user errors are staticgraph errors naming the culprit ------------------------
def test_item16_bad_arguments_are_staticgraph_errors():
    t = sg.constant(np.ones((2, 3)))
    assert "1.5" in _raises("sum: an axis must be an int", sg.sum, t, axis=1.5)
    assert "'a'" in _raises("sum: an axis must be an int", sg.sum, t, axis="a")
    _raises("mean: an axis must be an int", sg.mean, t, axis=(0, 0.5))
    _raises("argmax: needs a single int axis", sg.argmax, t, axis=[0, 1])
    _raises("step must not be zero", lambda: t[::0])
    _raises("slice bounds", lambda: t[0.5:])
    _raises("placeholder 'p': a shape is an int or a sequence of ints, got 'abc'",
            sg.placeholder, sg.float64, "abc", name="p")
    _raises("cond: true_fn must be a callable", sg.cond, sg.constant(True), 1.0, 2.0)
    _raises("concat: needs a single int axis", sg.concat, [t, t], axis=(0, 1))


# ----- item 17: shapes that are not shapes are refused when built -----------------------------
def test_item17_shapes_that_are_not_shapes_are_refused():
    _raises(r"dims must be ints, got 2.7 .*None", sg.placeholder, sg.float64, (2.7,))
    _raises("zeros: dims must be ints, got 2.5", sg.zeros, (2.5,))
    _raises("ones: dimension -1 must be >= 0", sg.ones, (-1,))
    _raises("reshape: dimension -2 must be >= 0", sg.reshape, sg.ones(6), (-2, -3))
    _raises("reshape: at most one -1", sg.reshape, sg.ones(6), (-1, -1))
    _raises("cannot infer the -1", sg.reshape, sg.ones(0), (0, -1))
    message = _raises(r"dimension -1 must be >= 0", sg.placeholder, sg.float64, (-1, 3))
    assert "None marks a dim known only at run time" in message
    _raises("broadcast_to: dimension -3", sg.broadcast_to, sg.ones(3), (-3, 3))
    _raises("fill: dims must be ints", sg.fill, (2.0,), 1.0)
    _raises("one_hot depth", sg.one_hot, sg.constant([0, 1]), -1)
    assert sg.placeholder(sg.float64, (np.int64(2), None)).shape == (2, None)
    assert sg.reshape(sg.ones(6), (np.int32(3), -1)).shape == (3, 2)


# ----- item 18: gather takes a list of ints -------------------------------------------------
def test_item18_gather_takes_a_python_int_list():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.gather(x, [1, 1])
    (g,) = sg.gradients(sg.sum(y * [2.0, 3.0]), [x])
    out, grad = sg.Session().run([y, g], {x: [1.0, 2.0, 3.0]})
    np.testing.assert_array_equal(out, [2.0, 2.0])
    np.testing.assert_array_equal(grad, [0.0, 5.0, 0.0])
