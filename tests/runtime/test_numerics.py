"""The check_numerics option: the first node to make a NaN or an Inf fails the run, named with
its op, source line and its inputs' ranges; nothing is committed; off, values pass through."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import errors


def _line_of(text: str) -> int:
    with open(__file__) as source:
        return next(i for i, line in enumerate(source, 1) if text in line)


def test_the_session_option_names_the_first_node_that_makes_a_nan():
    x = sg.placeholder(sg.float64, (3,), name="x")
    y = sg.sum(sg.log(x, name="logx") * 2.0)  # the log line
    sess = sg.Session(config={"check_numerics": True})
    with pytest.raises(errors.NumericsError) as info, np.errstate(invalid="ignore"):
        sess.run(y, {x: np.array([-1.0, 0.5, 2.0])})
    message = str(info.value)
    assert f"node 'logx' (log, created at test_numerics.py:{_line_of('# the log line')})" in message
    assert "made 1 NaN and 0 Inf" in message
    assert "its inputs: 'x' float64 (3,), range [-1, 2], 0 NaN, 0 Inf" in message
    assert sess.run(y, {x: np.array([1.0, 0.5, 2.0])}) == pytest.approx(2 * np.log(1.0))


def test_compile_option_reports_an_inf_and_off_it_passes_through():
    x = sg.placeholder(sg.float32, (2,), name="x")
    y = sg.exp(x, name="e") + 1.0
    with np.errstate(over="ignore"):
        assert np.isinf(sg.compile(y).run({x: np.array([0.0, 200.0])})[1])
        with pytest.raises(errors.NumericsError, match=r"node 'e' \(exp.*made 0 NaN and 1 Inf"):
            sg.compile(y, check_numerics=True).run({x: np.array([0.0, 200.0])})


def test_a_fed_nan_is_reported_at_the_first_node_that_reads_it():
    x = sg.placeholder(sg.float64, (2,), name="x")
    y = sg.sin(x, name="s")
    message = r"'s'.*'x' float64 \(2,\), range \[1, 1\], 1 NaN"
    with pytest.raises(errors.NumericsError, match=message):
        sg.compile(y, check_numerics=True).run({x: np.array([np.nan, 1.0])})


def test_inputs_are_described_as_read_even_when_overwritten_in_place():
    x = sg.placeholder(sg.float64, (4,), name="x")
    doubled = sg.multiply(x, 2.0, name="doubled")
    y = sg.sqrt(doubled, name="root") * 3.0
    exe = sg.compile(y, check_numerics=True)
    assert exe.memory.inplace.get("root") == "doubled"  # sqrt writes over its input's buffer
    with pytest.raises(errors.NumericsError) as info, np.errstate(invalid="ignore"):
        exe.run({x: np.array([-1.0, 1.0, 2.0, 3.0])})
    assert "'doubled' float64 (4,), range [-2, 6], 0 NaN, 0 Inf" in str(info.value)


def test_a_run_failing_the_check_commits_no_variable_write():
    w = sg.Variable(np.array([1.0, 4.0]), name="w")
    x = sg.placeholder(sg.float64, (2,), name="x")
    update = w.assign_add(x)
    with sg.control_dependencies([update]):
        y = sg.sqrt(w.read_value(), name="root")
    sess = sg.Session(config={"check_numerics": True})
    sess.run(w.initializer)
    with pytest.raises(errors.NumericsError, match="'root'"), np.errstate(invalid="ignore"):
        sess.run([y, update], {x: np.array([-2.0, 0.0])})
    np.testing.assert_array_equal(sess.run(w), [1.0, 4.0])
    np.testing.assert_array_equal(sess.run(y, {x: np.array([3.0, 0.0])}), [2.0, 2.0])
    np.testing.assert_array_equal(sess.run(w), [4.0, 4.0])


def test_integer_values_and_finite_results_pass():
    x = sg.placeholder(sg.int64, (3,), name="x")
    y = sg.cast(x * 2, sg.float32) / 3.0
    np.testing.assert_allclose(sg.compile(y, check_numerics=True).run({x: [1, 2, 3]}),
                               [2 / 3, 4 / 3, 2.0], rtol=1e-6)


def test_docstring_examples():
    import doctest
    from staticgraph.runtime import numerics
    result = doctest.testmod(numerics)
    assert result.attempted > 0 and result.failed == 0


def test_values_that_are_not_arrays_pass_the_check():
    w = sg.Variable(np.ones(2), name="w")
    x = sg.placeholder(sg.float64, (), name="x")
    branch = sg.cond(x > 0, lambda: x * 2.0, lambda: x - 1.0)  # a packed tuple inside
    step = sg.group(w.assign_add(np.ones(2)))
    sess = sg.Session(config={"check_numerics": True})
    sess.run(w.initializer)
    got = sess.run([step, w, branch, x * 3.0], {x: 2.0})
    assert got[0] is None and got[1].tolist() == [1.0, 1.0] and got[2] == 4.0 and got[3] == 6.0
