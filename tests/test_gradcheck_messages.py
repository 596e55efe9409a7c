"""gradcheck's failure message: plain floats, a scalar y's own gradient, singular and plural."""
import dataclasses

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.ops.registry import REGISTRY


@pytest.fixture
def wrong_sin(monkeypatch):
    """sin with a vjp that forgets a factor 2: its gradient is 2 cos x, off from cos x."""
    wrong = dataclasses.replace(REGISTRY["sin"], vjp=lambda ct, x, out: [2.0 * ct * sg.cos(x)])
    monkeypatch.setitem(REGISTRY, "sin", wrong)


def test_a_scalar_y_reports_its_own_gradient_as_plain_floats(wrong_sin):
    x = sg.placeholder(sg.float64, (), name="x")
    with pytest.raises(sg.testing.GradcheckError) as info:
        sg.testing.gradcheck(sg.sin(x), [x], {x: 0.5}, warn_kinks=False)
    message = str(info.value)
    assert "np.float64" not in message and "sum(weights" not in message
    symbolic, numeric = (float(part.split(",")[0].split(" ")[0])
                         for part in message.split("symbolic ")[1].split("numeric "))
    assert symbolic == pytest.approx(2 * np.cos(0.5)) and numeric == pytest.approx(np.cos(0.5))
    assert message.startswith("gradient for 'x' is wrong: ") and "(1 of 1 element differs)" in message


def test_a_vector_y_says_what_was_differentiated(wrong_sin):
    x = sg.placeholder(sg.float64, (3,), name="x")
    with pytest.raises(sg.testing.GradcheckError, match=r"gradient of sum\(weights \* y\) for 'x' "
                       r"is wrong at \(\d,\): symbolic -?\d.*\(3 of 3 elements differ\)"):
        sg.testing.gradcheck(sg.sin(x), [x], {x: np.array([0.1, 0.5, 1.0])}, warn_kinks=False)
