"""Fixtures of the fusion tests: which kernels fused regions run."""
import importlib.util

import pytest

from staticgraph.compiler import fusion

HAS_NUMBA = importlib.util.find_spec("numba") is not None


@pytest.fixture
def numpy_kernels(monkeypatch):
    """Fusion of regions of two ops and more, kernels as numpy code."""
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "0")


@pytest.fixture
def numba_kernels(monkeypatch, tmp_path_factory):
    """Fusion of regions of two ops and more, kernels compiled by numba at their first call."""
    if not HAS_NUMBA:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(fusion, "MIN_MEMBERS", 2)
    monkeypatch.setenv("STATICGRAPH_NUMBA", "1")
    monkeypatch.setenv("STATICGRAPH_NUMBA_AFTER", "1")
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kernels"))
