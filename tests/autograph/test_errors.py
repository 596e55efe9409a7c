"""What AutoGraph cannot convert is a clear error naming the statement's file:line."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError, UnimplementedError

X = np.float64(3.0)


def line_of(marker: str) -> str:
    """`test_errors.py:N` of the line carrying `marker` as a comment."""
    with open(__file__, encoding="utf-8") as source:
        for n, text in enumerate(source, 1):
            if text.rstrip().endswith(f"# {marker}") and "line_of" not in text:
                return f"test_errors.py:{n}"
    raise AssertionError(marker)


def one_branch(x):
    if x > 0:  # ONE_BRANCH
        y = x * 2
    return y


def one_branch_unused(x):
    if x > 0:
        y = x * 2
        x = y + 1
    return x


def test_a_variable_assigned_in_one_tensor_branch_and_used_after_is_an_error():
    traced = sg.function(one_branch)
    with pytest.raises(InvalidArgumentError, match=f"'y' is assigned in only one branch of the "
                                                   f"if at {line_of('ONE_BRANCH')}"):
        traced(X)
    assert not traced.traces, "a failed trace is not cached"
    assert float(sg.function(one_branch_unused)(X)) == 7.0  # unused after it: fine, as in TF2
    assert float(one_branch(X)) == 6.0                     # and plain Python is unchanged


def breaks(x):
    while x < 100:  # BREAK_LOOP
        x = x * 2
        if x > 50:
            break  # BREAK
    return x


def returns(x):
    if x > 0:  # RETURN_IF
        return x
    return -x


def test_break_and_return_under_a_tensor_condition_are_unimplemented_and_name_both_lines():
    with pytest.raises(UnimplementedError, match=f"at {line_of('BREAK_LOOP')}.*`break` "
                                                 rf"\({line_of('BREAK')}\)"):
        sg.function(breaks)(X)
    with pytest.raises(UnimplementedError, match=f"if at {line_of('RETURN_IF')}.*`return`"):
        sg.function(returns)(X)


def test_break_and_return_under_python_conditions_still_work():
    assert breaks(3.0) == 96.0 and returns(-2.0) == 2.0
    converted = sg.autograph.convert(breaks)
    assert converted(3.0) == 96.0 and sg.autograph.convert(returns)(-2.0) == 2.0


def iterates(x):
    total = x * 0.0
    for value in x:  # ITERATES
        total = total + value
    return total


def test_iterating_over_a_tensor_is_unimplemented():
    with pytest.raises(UnimplementedError, match=f"for loop at {line_of('ITERATES')}"):
        sg.function(iterates)(np.ones(3))


def loop_temporary(x):
    while x < 100:  # TEMPORARY
        t = x * 2
        x = t
    return x + t


def loop_temporary_unused(x):
    while x < 100:
        t = x * 2
        x = t
    return x


def test_a_variable_assigned_only_inside_a_tensor_loop_is_undefined_after_it():
    with pytest.raises(InvalidArgumentError, match=f"'t' is assigned only inside the while "
                                                   f"loop at {line_of('TEMPORARY')}"):
        sg.function(loop_temporary)(X)
    assert float(sg.function(loop_temporary_unused)(X)) == 192.0


def changes_dtype(x):
    n = 0
    while x < 100:  # DTYPE
        x = x * 2
        n = n + 0.5
    return n


def labels(x):
    if x > 0:  # LABEL
        name = "positive"
    else:
        name = "negative"
    return x, name


def test_loop_variables_and_branch_outputs_must_be_tensors_of_one_dtype():
    with pytest.raises(InvalidArgumentError, match=f"while loop at {line_of('DTYPE')} "
                                                   r"\(loop variables n, x\).*dtypes differ"):
        sg.function(changes_dtype)(X)
    with pytest.raises(InvalidArgumentError, match=f"'name' holds a str .* {line_of('LABEL')}"):
        sg.function(labels)(X)
