"""Session(target=...) without a cluster: the local target, TF1's argument order, and the
error that says how to install Dask."""
import sys

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import FailedPreconditionError, InvalidArgumentError


def test_an_empty_target_runs_here_in_either_argument_order():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None,), name="x")
        y = sg.reduce_sum(x * x)
    for sess in (sg.Session(g, target=""), sg.Session("", g), sg.Session("", g, {"optimize": False})):
        with sess:
            assert sess.graph is g and sess._cluster is None
            assert sess.run(y, {x: np.arange(3.0)}, split={x: 0}) == 5.0  # split: whole batch here


def test_without_dask_a_clear_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(FailedPreconditionError, match=r'pip install "staticgraph\[dist\]"'):
        sg.Session(sg.Graph(), target="tcp://127.0.0.1:1")


def test_a_target_of_another_kind_is_refused():
    pytest.importorskip("distributed")
    with pytest.raises(InvalidArgumentError, match="scheduler address"):
        sg.Session(sg.Graph(), target=42)
