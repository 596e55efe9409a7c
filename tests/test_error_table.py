"""Every kind of bad input, one row each: the error's type, and a message naming the culprit and
the line of user code (this file) that made it."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager, errors

HERE = r"test_error_table\.py:\d+"


def _session_run(fetch, feed=None):
    return sg.Session().run(fetch, feed)


def matmul_inner():
    sg.matmul(sg.placeholder(sg.float32, (3, 4)), sg.placeholder(sg.float32, (5, 6)))


def broadcast():
    sg.placeholder(sg.float32, (3,)) + sg.placeholder(sg.float32, (4,))


def dtypes_differ():
    sg.placeholder(sg.float32, (3,)) * sg.placeholder(sg.float64, (3,))


def bad_reshape():
    sg.reshape(sg.placeholder(sg.float32, (3,)), (2, 2))


def missing_feed():
    x = sg.placeholder(sg.float64, (2,), name="x")
    _session_run(sg.sin(x, name="y"))


def wrong_feed_shape():
    x = sg.placeholder(sg.float64, (None, 2), name="x")
    _session_run(x * 2, {x: np.ones(3)})


def wrong_feed_dtype():
    i = sg.placeholder(sg.int32, (2,), name="i")
    _session_run(i + 1, {i: np.ones(2)})


def unknown_feed_key():
    x = sg.placeholder(sg.float64, (), name="x")
    _session_run(x * 2, {"nope": 1.0})


def bad_fetch():
    _session_run(3.5)


def unknown_fetch_name():
    _session_run("no_such_node")


def graphs_mixed():
    other = sg.Graph()
    with other.as_default():
        t = sg.constant(1.0)
    sg.placeholder(sg.float64, ()) + t


def fetch_from_other_graph():
    other = sg.Graph()
    with other.as_default():
        t = sg.constant(1.0, name="elsewhere")
    _session_run(t)


def styles_mixed():
    eager.tensor(1.0) + sg.placeholder(sg.float32, ())


def uninitialised():
    w = sg.Variable(np.ones(2), name="w")
    _session_run(w * 2)


def not_differentiable_path():
    x = sg.placeholder(sg.float64, (3,), name="x")
    sg.gradients(sg.cast(sg.argmax(x), sg.float64), [x], unconnected_gradients="raise")


def integer_x():
    i = sg.placeholder(sg.int32, (), name="i")
    sg.gradients(sg.cast(i, sg.float64), [i], unconnected_gradients="raise")


def nan_value():
    x = sg.placeholder(sg.float64, (), name="x")
    with np.errstate(invalid="ignore"):
        _session_run(sg.check_numerics(sg.log(x), "log of x"), {x: -1.0})


def placeholder_bad_shape():
    sg.placeholder(sg.float64, "3", name="p")


def assign_wrong_shape():
    w = sg.Variable(np.zeros(3), name="w")
    w.assign(np.zeros(4))


def cond_branches_differ():
    x = sg.placeholder(sg.float64, (), name="x")
    sg.cond(x > 0, lambda: (x, x), lambda: x)


def loop_shape_changes():
    x = sg.placeholder(sg.float64, (1,), name="x")
    sg.while_loop(lambda v: sg.sum(v) < 9, lambda v: (sg.concat([v, v], 0),), (x,))


def bad_graph_file():
    from staticgraph.io.graph_json import loads_graph
    loads_graph('{"format": "staticgraph-graph", "version": 7}')


def bool_of_tensor():
    if sg.placeholder(sg.float64, ()) > 0:
        pass


def axis_not_int():
    sg.sum(sg.ones((2, 3)), axis=1.5)


def slice_step_zero():
    sg.ones((2, 3))[::0]


def shape_not_a_shape():
    sg.placeholder(sg.float64, "abc", name="p")


def dim_not_int():
    sg.placeholder(sg.float64, (2.7,), name="p")


def dim_negative():
    sg.placeholder(sg.float64, (-1, 3), name="p")


def cond_branch_not_callable():
    sg.cond(sg.constant(True), 1.0, 2.0)


def int_out_of_range():
    sg.constant(np.array([1, 2], np.int32)) + 2 ** 40


def gather_index_out_of_range():
    _session_run(sg.gather(sg.constant([1.0, 2.0]), [0, -1]))


def assign_fed_wrong_shape():
    w = sg.Variable(np.zeros(3), name="w")
    p = sg.placeholder(sg.float64, (None,), name="p")
    sess = sg.Session()
    sess.run(w.initializer)
    sess.run(w.assign(p), {p: np.ones(5)})


ROWS = [
    (matmul_inner, errors.ShapeError, r"matmul: inner dims differ: \(3, 4\) @ \(5, 6\) at " + HERE),
    (broadcast, errors.InvalidArgumentError, r"add: shapes do not broadcast: \(3,\) vs \(4,\) at " + HERE),
    (dtypes_differ, errors.InvalidArgumentError, r"multiply: dtypes differ: float32 vs float64.* at " + HERE),
    (bad_reshape, errors.InvalidArgumentError, r"reshape: cannot reshape \(3,\) .* at " + HERE),
    (missing_feed, errors.InvalidArgumentError, r"placeholder 'x' \(created at " + HERE + r"\) must be fed: fetch 'y'"),
    (wrong_feed_shape, errors.InvalidArgumentError, r"shape \(3,\) does not fit placeholder 'x' \(created at " + HERE),
    (wrong_feed_dtype, errors.InvalidArgumentError, r"cannot feed a float64 value to placeholder 'i' \(created at " + HERE),
    (unknown_feed_key, errors.NotFoundError, r"feed key 'nope' names no node"),
    (bad_fetch, errors.InvalidArgumentError, r"fetch must be a Tensor or a node name, got float"),
    (unknown_fetch_name, errors.NotFoundError, r"fetch 'no_such_node' names no node"),
    (graphs_mixed, errors.GraphError, r"add: inputs .* belong to different graphs at " + HERE),
    (fetch_from_other_graph, errors.GraphError, r"fetch 'elsewhere' is a tensor of another graph"),
    (styles_mixed, errors.GraphError, r"add: cannot mix eager tensors with static graph tensors at " + HERE),
    (uninitialised, errors.FailedPreconditionError, r"(?s)variable 'w' is read before it is initialised.*created at " + HERE),
    (not_differentiable_path, errors.InvalidArgumentError, r"passes an op with no derivative: 'argmax' \(argmax, created at " + HERE),
    (integer_x, errors.InvalidArgumentError, r"no gradient for 'i': 'i' is int32: an integer or bool value carries no gradient at " + HERE),
    (nan_value, errors.NumericsError, r"(?s)log of x: found 1 NaN and 0 Inf.*created at " + HERE),
    (placeholder_bad_shape, errors.InvalidArgumentError, r"placeholder 'p': a shape is an int or a sequence of ints"),
    (assign_wrong_shape, errors.InvalidArgumentError, r"assign: shapes differ: variable 'w' is \(3,\), value is \(4,\) at " + HERE),
    (cond_branches_differ, errors.InvalidArgumentError, r"cond: the branches return different structures.* at " + HERE),
    (loop_shape_changes, errors.InvalidArgumentError, r"while_loop: loop variable 0 enters as float64\(1,\).* at " + HERE),
    (bad_graph_file, errors.InvalidArgumentError, r"load_graph: <string>: unknown version 7"),
    (axis_not_int, errors.InvalidArgumentError, r"sum: an axis must be an int, got 1\.5 at " + HERE),
    (slice_step_zero, errors.InvalidArgumentError, r"getitem: the slice step must not be zero.* at " + HERE),
    (shape_not_a_shape, errors.InvalidArgumentError, r"placeholder 'p': a shape is an int or a sequence of ints, got 'abc' at " + HERE),
    (dim_not_int, errors.InvalidArgumentError, r"placeholder 'p': dims must be ints, got 2\.7.* at " + HERE),
    (dim_negative, errors.InvalidArgumentError, r"placeholder 'p': dimension -1 must be >= 0.*None marks a dim known only at run time at " + HERE),
    (cond_branch_not_callable, errors.InvalidArgumentError, r"cond: true_fn must be a callable.* at " + HERE),
    (int_out_of_range, errors.InvalidArgumentError, r"add: the integer 1099511627776 is out of range for int32.* at " + HERE),
    (gather_index_out_of_range, errors.InvalidArgumentError, r"(?s)gather: indices\[1\] = -1 is not in \[0, 2\).*created at " + HERE),
    (assign_fed_wrong_shape, errors.InvalidArgumentError, r"(?s)shapes differ: variable 'w' is \(3,\), the value assigned is \(5,\).*created at " + HERE),
    (bool_of_tensor, TypeError, r"sg\.cond\(pred, true_fn, false_fn\)"),
]


@pytest.mark.parametrize("make_error,kind,pattern", ROWS, ids=[row[0].__name__ for row in ROWS])
def test_error_names_the_culprit(make_error, kind, pattern):
    with pytest.raises(kind, match=pattern):
        make_error()
