"""The examples in the eager package's and sg.function's docstrings run and print what they show."""
import doctest
import importlib

import pytest

MODULES = ["staticgraph.eager", "staticgraph.eager.tensor", "staticgraph.eager.autograd",
           "staticgraph.eager.factories", "staticgraph.eager.recorded", "staticgraph.eager.mode",
           "staticgraph.eager.optim", "staticgraph.eager.function", "staticgraph.function"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
