"""Session's short path: repeated runs give what the checked path gives, in the same structures."""
import numpy as np

import staticgraph as sg


def test_repeated_runs_keep_structures_copies_and_none():
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.Variable(np.ones(3), name="w")
    y = sg.sum(w) + sg.sum(x)
    step = sg.group(w.assign_add(x))
    sess = sg.Session()
    sess.run(w.initializer)
    feed = {x: np.array([1.0, 2.0, 3.0])}
    for k in range(3):  # the first runs are checked, the next ones take the short path
        assert sess.run([y, step], feed) == [9.0 + 6.0 * k, None]  # y reads w before the update
        got = sess.run((w, y), feed)
        assert isinstance(got, tuple) and got[1] == 9.0 + 6.0 * (k + 1)
        got[0][:] = -1.0  # a copy: the variable is untouched
        np.testing.assert_array_equal(sess.run(w), 1.0 + (k + 1) * feed[x])
    assert len(sess._fast) == 4  # the initializer, the list, the tuple, the variable


def test_a_feed_the_fetches_do_not_need_is_accepted_on_the_short_path():
    x = sg.placeholder(sg.float64, (2,), name="x")
    unused = sg.placeholder(sg.float64, (2,), name="unused")
    y = x * 2.0
    sess = sg.Session()
    for _ in range(2):
        np.testing.assert_array_equal(sess.run(y, {unused: np.zeros(2), x: np.ones(2)}), [2.0, 2.0])
