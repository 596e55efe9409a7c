"""The examples in the compiler's and the executor's docstrings run and print what they show."""
import doctest
import importlib

import pytest

import staticgraph as sg

MODULES = ["staticgraph.compiler.prune", "staticgraph.compiler.fold",
           "staticgraph.compiler.simplify",
           "staticgraph.compiler.cse", "staticgraph.compiler.dce", "staticgraph.compiler.passes",
           "staticgraph.compiler.schedule", "staticgraph.compiler.memory",
           "staticgraph.compiler.specialize", "staticgraph.compiler.verify",
           "staticgraph.compiler.remat", "staticgraph.compiler.budget",
           "staticgraph.runtime.executor", "staticgraph.runtime.session",
           "staticgraph.runtime.memory_modes"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    sg.reset_default_graph()
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
