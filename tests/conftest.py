import numpy as np
import pytest

import staticgraph as sg


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Each test starts on an empty default graph."""
    sg.reset_default_graph()
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
