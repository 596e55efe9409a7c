"""Session.run: fetch structures, feeds of any tensor, variables, group, assign."""
import threading

import numpy as np

import staticgraph as sg


def test_nested_fetches_keep_their_structure():
    x = sg.placeholder(sg.float64, (2,), name="x")
    out = sg.Session().run({"a": x * 2, "b": [sg.sum(x), (x + 1, "x")]}, {x: [1.0, 2.0]})
    assert set(out) == {"a", "b"} and isinstance(out["b"][1], tuple)
    np.testing.assert_array_equal(out["a"], [2.0, 4.0])
    assert out["b"][0] == 3.0
    np.testing.assert_array_equal(out["b"][1][1], [1.0, 2.0])


def test_any_tensor_can_be_fed():
    x = sg.placeholder(sg.float64, (), name="x")
    y = x * 3
    z = y + 1
    assert sg.Session().run(z, {y: 10.0}) == 11.0  # x is not needed once y is fed


def test_variables_initializer_assign_and_group():
    w = sg.Variable(np.array([1.0, 2.0]), name="w")
    b = sg.Variable(0.5, name="b")
    step = sg.group(w.assign_sub([0.5, 0.5]), b.assign(2.0))
    with sg.Session() as sess:
        assert sess.run(sg.global_variables_initializer()) is None
        assert sess.run(step) is None
        np.testing.assert_array_equal(sess.run(w), [0.5, 1.5])
        assert sess.run(b) == 2.0
        assert sg.trainable_variables() == sg.global_variables()


def test_fetched_variable_values_are_copies():
    w = sg.Variable(np.zeros(2), name="w")
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    value = sess.run(w)
    value[0] = 99.0
    np.testing.assert_array_equal(sess.run(w), [0.0, 0.0])


def test_variable_from_tensor_and_name_scope():
    with sg.name_scope("layer1"):
        w = sg.Variable(sg.ones((2, 2), sg.float64) * 3, name="w")
    assert w.name == "layer1/w"
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w), np.full((2, 2), 3.0))


def test_gradient_descent_steps_by_hand():
    w = sg.Variable(np.array([0.0, 0.0]), name="w")
    x = sg.placeholder(sg.float64, (2,), name="x")
    loss = (sg.dot(w, x) - 1.0) ** 2
    (dw,) = sg.gradients(loss, [w])
    train = w.assign_sub(0.1 * dw)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    for _ in range(50):
        sess.run(train, {x: [1.0, 2.0]})
    assert abs(sess.run(loss, {x: [1.0, 2.0]})) < 1e-10


def test_concurrent_runs_give_right_results():
    x = sg.placeholder(sg.float64, (None,), name="x")
    y = sg.sum(sg.sin(x) * x)
    sess = sg.Session()
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(50):
            v = rng.normal(size=5)
            if not np.isclose(sess.run(y, {x: v}), np.sum(np.sin(v) * v)):
                errors.append(seed)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
