"""Variable writes: in place only when nothing can tell, else staged until the run succeeds;
never over an array someone still holds, and never handed out but as copies or read-only views."""
import threading
import warnings
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
    step = [w, w.assign_add(np.ones(4096))]  # w is fetched: the update makes a new array
    sess.run(step)
    old = weakref.ref(sess._store.values["w"])
    assert sess.run(step)[0].tolist() == [1.0] * 4096
    assert old() is None  # neither the store nor the run's slots keep it


def test_variable_slots_are_dropped_after_the_run_or_just_before_an_update_in_place():
    from staticgraph.compiler.lower import HOUSE, STATE
    w = sg.Variable(np.ones((32, 32)), name="w")
    x = sg.placeholder(sg.float64, (8, 32), name="x")
    loss = sg.sum(sg.tanh(x @ w))
    (dw,) = sg.gradients(loss, [w])
    exe = sg.compile([loss, w.assign_sub(0.1 * dw)])
    program = exe._latest.program
    held = {program.slot_of[n] for n in ("w",)}
    steps = program.instantiate()[0]
    assert held <= set(program.after_run)
    assert not any(step[0] == HOUSE and held & set(step[2]) for step in steps)
    # but for the update writing w's array in place, which empties them first
    (update,) = [step for step in steps if step[0] == STATE and step[3]]
    assert update[-1] == program.slot_of[exe.schedule[-1]] and held <= set(update[3])
    assert exe.schedule[-1] in exe.memory.updates_in_place


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


def _sgd_step(n=64):
    """A variable w, a loss reading it, and an SGD update of w that the plan makes in place."""
    w = sg.Variable(np.linspace(-1.0, 1.0, n), name="w")
    x = sg.placeholder(sg.float64, (n,), name="x")
    loss = sg.sum(sg.tanh(w * x))
    (dw,) = sg.gradients(loss, [w])
    return w, x, loss, w.assign_sub(0.5 * dw)


def _expected_step(x_value, n=64):
    w = np.linspace(-1.0, 1.0, n)
    return w - 0.5 * x_value * (1.0 - np.tanh(w * x_value) ** 2)


def test_an_update_writes_the_variable_array_in_place_when_nothing_else_holds_it():
    w, x, loss, update = _sgd_step()
    sess = sg.Session()
    sess.run(w.initializer)
    array = weakref.ref(sess._store.values["w"])  # a reference of our own would be a holder
    x_value = np.linspace(0.5, 2.0, 64)
    sess.run([loss, update], {x: x_value})
    assert sess._store.values["w"] is array()  # the same array, updated
    np.testing.assert_allclose(array(), _expected_step(x_value), rtol=1e-14)
    exe = sess.executable([loss, update], {x: x_value})
    assert list(exe.memory.updates_in_place) == [update.name]
    assert "1 variable update in place" in exe.report()


@pytest.mark.parametrize("why", ["held view", "held array", "errstate raise",
                                 "warnings as errors", "fetched read", "check_numerics"])
def test_an_update_makes_a_new_array_when_in_place_could_be_seen(why):
    w, x, loss, update = _sgd_step()
    sess = sg.Session(config={"check_numerics": why == "check_numerics"})
    sess.run(w.initializer)
    old = weakref.ref(sess._store.values["w"])  # not a holder itself
    before = old().copy()
    held = sess.variable_values()["w"] if why == "held view" else \
        sess._store.values["w"] if why == "held array" else None
    fetches = [loss, update, w] if why == "fetched read" else [loss, update]
    x_value = np.linspace(0.5, 2.0, 64)
    with warnings.catch_warnings(), np.errstate(all="raise" if why == "errstate raise" else "warn"):
        if why == "warnings as errors":
            warnings.simplefilter("error", RuntimeWarning)
        got = sess.run(fetches, {x: x_value})
    assert sess._store.values["w"] is not old()  # a new array (the old one freed, or held)
    np.testing.assert_allclose(sess._store.values["w"], _expected_step(x_value), rtol=1e-14)
    if why == "fetched read":
        np.testing.assert_array_equal(got[2], before)  # the value read before the update
    if held is not None:
        np.testing.assert_array_equal(held, before)  # the held array is untouched


def test_an_update_followed_by_a_step_that_may_fail_is_never_in_place():
    w, x, loss, update = _sgd_step()
    with sg.control_dependencies([update]):
        checked = sg.check_numerics(sg.log(w.read_value()), "log of w")
    exe = sg.compile([loss, checked])
    assert exe.memory.updates_in_place == {}


def test_a_run_touching_an_unset_variable_updates_nothing_in_place_and_fails_cleanly():
    w, x, loss, update = _sgd_step()
    v = sg.Variable(1.0, name="v")
    with sg.control_dependencies([update]):
        later = v.read_value() * 2.0  # v is never initialised
    sess = sg.Session()
    sess.run(w.initializer)
    assert update.name in sess.executable([loss, later], {x: np.ones(64)}).memory.updates_in_place
    before = sess._store.values["w"].copy()
    with pytest.raises(errors.FailedPreconditionError, match="'v'"):
        sess.run([loss, later], {x: np.ones(64)})
    np.testing.assert_array_equal(sess._store.values["w"], before)


def test_two_updates_of_one_variable_in_a_run_are_both_staged():
    w, sess = _counter(1.0)
    first = w.assign_add(np.ones(4))
    with sg.control_dependencies([first]):
        second = w.assign(w.read_value() * 10.0)
    exe = sess.executable([second])
    assert exe.memory.updates_in_place == {}
    assert sess.run(second).tolist() == [20.0] * 4 and sess.run(w).tolist() == [20.0] * 4
