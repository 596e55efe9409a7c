"""The backprop page: steps, values against sg.gradients, and the page driven in headless chromium."""
import json
import re
import shutil
import struct
import subprocess
from html import unescape

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError
from staticgraph.io.backprop_page import IDS

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless browser: install Debian's chromium (apt-get install chromium)")
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
X, W, Y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), 1.0


@pytest.fixture
def regression(tmp_path):
    """The notes' z = (x·w − y)², its page, and its values from a Session."""
    x = sg.placeholder(sg.float64, (3,), name="x")
    w = sg.placeholder(sg.float64, (3,), name="w")
    y = sg.placeholder(sg.float64, (), name="y")
    a = sg.dot(x, w, name="a")
    b = sg.subtract(a, y, name="b")
    z = sg.power(b, 2, name="z")
    feed = {x: X, w: W, y: Y}
    path = tmp_path / "page.html"
    count = sg.write_backprop_page(z, [x, w], feed, path)
    return dict(x=x, w=w, z=z, b=b, feed=feed, path=path, count=count, html=path.read_text())


def steps_of(page: str) -> list[dict]:
    data = re.search(r'<script type="application/json" id="steps-data">(.*?)</script>', page, re.S)
    return json.loads(data.group(1).replace("<\\/", "</"))


def element(dom: str, element_id: str) -> tuple[str, dict]:
    """The text and attributes of the element with id `element_id` in `dom`."""
    match = re.search(rf'<(\w+)([^>]*\bid="{element_id}"[^>]*)>(.*?)</\1>', dom, re.S)
    assert match, f"no element #{element_id} in the page"
    attrs = {k: unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', match.group(2))}
    return unescape(re.sub(r"<[^>]+>", "\n", match.group(3))), attrs


def browse(path, step: int, *flags: str) -> str:
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *flags,
                             f"file://{path}#step={step}"], capture_output=True, text=True, timeout=90)
    return result.stdout


def test_steps_are_the_forward_nodes_then_the_gradient_nodes(regression):
    steps = steps_of(regression["html"])
    assert len(steps) == regression["count"]
    phases = [s["phase"] for s in steps]
    assert phases == sorted(phases, key=["forward", "backward"].index), "forward first, then backward"
    assert [s["node"] for s in steps if s["phase"] == "forward"] == ["x", "w", "y", "a", "b", "Const", "z"]
    by_node = {s["node"]: s for s in steps}
    assert np.isclose(by_node["z"]["data"], (X @ W - Y) ** 2)
    seed = next(s for s in steps if s["heading"] == "∂z/∂z")
    assert seed["data"] == 1.0 and seed["rules"] == ["∂z/∂z = 1"]


def test_each_gradient_value_is_what_sg_gradients_gives(regression):
    x, w, z, b = regression["x"], regression["w"], regression["z"], regression["b"]
    graph = z.graph
    steps = {s["node"]: s for s in steps_of(regression["html"])}
    cotangents = [n for n in steps if steps[n]["phase"] == "backward"]
    values = sg.Session(graph).run(cotangents, regression["feed"])
    for name, value in zip(cotangents, values):
        np.testing.assert_allclose(steps[name]["data"], value, rtol=1e-12)
    # The cotangents towards x and w are the gradients, in closed form: 2(x·w − y) w and ... x.
    towards_x = next(s for s in steps.values() if s["heading"] == "∂z/∂x")
    np.testing.assert_allclose(towards_x["data"], 2 * (X @ W - Y) * W, rtol=1e-12)
    assert towards_x["rules"] == ["∂a/∂x = w", "ct · w"]
    towards_b = next(s for s in steps.values() if s["heading"] == "∂z/∂b = ∂z/∂a")
    assert towards_b["rules"] == ["∂z/∂b = 2b", "ct · 2b", "∂b/∂a = 1", "ct"] and np.isclose(towards_b["data"], 2 * (X @ W - Y))


def test_the_page_fetches_nothing(regression):
    page = regression["html"]
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page), "nothing loaded from a network"
    assert "<link" not in page and "<script src" not in page and "<!DOCTYPE svg" not in page


def test_a_y_that_depends_on_no_x_is_refused():
    x = sg.placeholder(sg.float64, (), name="x")
    c = sg.placeholder(sg.float64, (), name="c")
    with pytest.raises(InvalidArgumentError, match="none of"):
        sg.write_backprop_page(sg.sin(c), x, {c: 1.0}, "unused.html")


@needs_chromium
@needs_graphviz
def test_the_browser_opens_the_step_in_the_address(regression):
    path, x, w = regression["path"], regression["x"], regression["w"]
    steps = steps_of(regression["html"])
    dx, dw = sg.Session(x.graph).run(sg.gradients(regression["z"], [x, w]), regression["feed"])
    checks = {"b": X @ W - Y, **{s["node"]: dx for s in steps if s["heading"] == "∂z/∂x"},
              **{s["node"]: dw for s in steps if s["heading"] == "∂z/∂w"}}
    assert len(checks) == 3
    for name, expected in checks.items():
        number = [s["node"] for s in steps].index(name) + 1
        dom = browse(path, number, "--dump-dom")
        assert element(dom, "step-number")[0] == str(number)
        assert element(dom, "step-node")[0] == name
        text, attrs = element(dom, "step-value")
        np.testing.assert_allclose(json.loads(attrs["data-value"]), expected, rtol=1e-12)
        assert all(f'id="{i}"' in dom for i in IDS)
        current = re.findall(r'<g id="node\d+" class="node current">\s*<title>([^<]*)</title>', dom)
        assert [unescape(t) for t in current] == [name], "the step's node is highlighted"
    last = browse(path, 999, "--dump-dom")
    assert element(last, "step-number")[0] == str(len(steps)), "a step past the end shows the last"


@needs_chromium
@needs_graphviz
def test_the_browser_draws_the_page(regression, tmp_path):
    shot = tmp_path / "step.png"
    browse(regression["path"], 12, "--hide-scrollbars", "--window-size=1200,800",
           f"--screenshot={shot}")
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1200, 800)
