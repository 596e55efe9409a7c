"""Variable writes: staged until the run succeeds, never over an array someone still holds,
and never handed out but as copies or read-only views."""
import threading
import weakref

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def _counter(start=0.0, n=4):
    w = sg.Variable(np.full(n, start), name="w")
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    return w, sess


def test_an_array_still_held_is_never_written_again():
    w, sess = _counter()
    step = w.assign_add(np.ones(4))
    sess.run(step)
    held = sess.variable_values()["w"]  # a read-only view of the stored array
    fetched = sess.run(w)  # a copy
    fetched[:] = -1.0
    for _ in range(3):
        sess.run(step)
    assert held.tolist() == [1.0] * 4 and not held.flags.writeable
    assert sess.run(w).tolist() == [4.0] * 4


def test_a_run_failing_after_its_updates_leaves_every_variable_as_it_was():
    w, sess = _counter(1.0)
    b = sg.Variable(2.0, name="b")
    sess.run(b.initializer)
    x = sg.placeholder(sg.float64, (4,), name="x")
    with sg.control_dependencies([w.assign_sub(x), b.assign(3.0)]):
        checked = sg.check_numerics(sg.log(w.read_value() - 1.0), "log")
    with pytest.raises(errors.InvalidArgumentError, match="log"), np.errstate(all="ignore"):
        sess.run(checked, {x: np.ones(4)})  # w would be 0: log(-1) is NaN
    assert sess.run([w, b]) == [pytest.approx([1.0] * 4), 2.0]
    sess.run(checked, {x: np.full(4, -1.0)})  # a good run commits both writes
    assert sess.run([w, b]) == [pytest.approx([2.0] * 4), 3.0]


def test_readers_never_see_a_half_written_value():
    """One thread updates w (all its elements stay equal) while others read it."""
    w, sess = _counter(n=50_000)
    step = w.assign_add(np.ones(50_000))
    torn, done = [], threading.Event()

    def read():
        while not done.is_set():
            value = sess.run(w)
            if not np.all(value == value[0]):
                torn.append(value)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for _ in range(200):
        sess.run(step)
    done.set()
    for t in readers:
        t.join()
    assert not torn
    assert sess.run(w)[0] == 200.0


def test_fetched_views_of_a_variable_are_copies():
    w = sg.Variable(np.arange(6.0).reshape(2, 3), name="w")
    sess = sg.Session()
    sess.run(w.initializer)
    for fetched in sess.run([w, w.T, sg.reshape(w, (3, 2)), sg.identity(w)]):
        fetched[...] = -1.0
    np.testing.assert_array_equal(sess.run(w), np.arange(6.0).reshape(2, 3))


def test_a_replaced_value_is_released_by_the_run_that_replaces_it():
    w, sess = _counter(n=4096)
    step = w.assign_add(np.ones(4096))
    sess.run(step)
    old = weakref.ref(sess._store.values["w"])
    sess.run(step)
    assert old() is None  # neither the store nor the run's slots keep it


def test_variable_slots_are_dropped_after_the_run_not_by_steps():
    from staticgraph.compiler.lower import HOUSE
    w = sg.Variable(np.ones((32, 32)), name="w")
    x = sg.placeholder(sg.float64, (8, 32), name="x")
    loss = sg.sum(sg.tanh(x @ w))
    (dw,) = sg.gradients(loss, [w])
    exe = sg.compile([loss, w.assign_sub(0.1 * dw)])
    program = exe._latest.program
    held = {program.slot_of[n] for n in ("w",)}
    cleared = {s for step in program.instantiate()[0] if step[0] == HOUSE for s in step[2]}
    assert held <= set(program.after_run) and not held & cleared


def test_an_executable_failing_part_way_leaves_its_store_exactly_as_before():
    w = sg.Variable(np.array([0.1, 0.2, 0.3]), name="w")
    labels = sg.placeholder(sg.int64, (1,), name="labels")
    with sg.control_dependencies([w.assign(w * 3.0)]):  # written first, then the loss fails
        logits = sg.reshape(w.read_value(), (1, 3))
        loss = sg.sparse_softmax_cross_entropy_with_logits(labels, logits)
    sg.compile(w.initializer).run()
    exe = sg.compile(loss)
    before = exe.store.values["w"].copy()
    with pytest.raises(errors.InvalidArgumentError, match="class indices"):
        exe.run({labels: [5]})
    np.testing.assert_array_equal(exe.store.values["w"], before)  # bit for bit
    exe.run({labels: [1]})
    np.testing.assert_allclose(exe.store.values["w"], before * 3.0)
