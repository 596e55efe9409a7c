"""Inline display in Jupyter: SVG from Graphviz, a text listing without it, nothing at import."""
import html
import os
import shutil
import subprocess
import sys

import numpy as np
import pydot
import pytest

import staticgraph as sg
from staticgraph.io import display

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
SVG, TEXT = "image/svg+xml", "text/plain"


def titles(svg: str) -> set[str]:
    """The node names an SVG drawn by Graphviz holds (each node's <title>)."""
    return {html.unescape(t.split("</title>")[0]) for t in svg.split("<title>")[1:]}


@pytest.fixture
def built():
    x = sg.placeholder(sg.float64, (4,), name="x")
    y = sg.multiply(2.0, sg.dot(x, x, name="xx"), name="y")
    unused = sg.sin(x, name="unused")
    (dx,) = sg.gradients(y, [x])
    return dict(x=x, y=y, unused=unused, dx=dx)


@needs_graphviz
def test_graph_tensor_and_drawing_show_as_svg_with_a_text_listing(built):
    graph_bundle = sg.get_default_graph()._repr_mimebundle_()
    assert {"x", "xx", "y", "unused"} <= titles(graph_bundle[SVG])
    tensor_bundle = built["y"]._repr_mimebundle_()
    assert {"x", "xx", "y"} <= titles(tensor_bundle[SVG])
    assert "unused" not in titles(tensor_bundle[SVG]), "a tensor draws only what it needs"
    assert tensor_bundle[TEXT].splitlines()[0] == repr(built["y"])
    assert "   1  xx     = dot(x, x)" in tensor_bundle[TEXT]
    drawing = sg.to_dot(built["y"], title="y = 2 x.x")
    assert isinstance(drawing, pydot.Dot), "to_dot keeps pydot's API"
    assert drawing._repr_svg_() == drawing._repr_mimebundle_()[SVG]
    assert drawing._repr_mimebundle_()[TEXT].splitlines()[0] == "y = 2 x.x"


@needs_graphviz
def test_an_executable_shows_its_compiled_graph_with_buffers(built):
    exe = sg.compile(sg.exp(built["dx"]), fuse=False)  # dx, read by exp, gets a buffer
    exe.run({built["x"]: np.arange(4.0)})
    bundle = exe._repr_mimebundle_()
    assert "buffer 0" in html.unescape(bundle[SVG])
    assert titles(bundle[SVG]) >= set(exe.schedule)
    assert bundle[TEXT].splitlines()[0] == repr(exe)
    assert "buffer 0" in bundle[TEXT]


def test_without_graphviz_the_text_says_how_to_install_it(built, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    for shown in (built["y"], sg.get_default_graph(), sg.to_dot(built["dx"])):
        bundle = shown._repr_mimebundle_()
        assert set(bundle) == {TEXT}
        assert "apt-get install graphviz" in bundle[TEXT]
        assert "= dot(x, x)" in bundle[TEXT]
    assert sg.to_dot(built["y"])._repr_svg_() is None


def test_nothing_is_rendered_when_only_text_is_asked_for(built, monkeypatch):
    def fail(*args):
        raise AssertionError("rendered although no SVG was asked for")
    monkeypatch.setattr(display, "render", fail)
    assert set(built["y"]._repr_mimebundle_(include={TEXT})) == {TEXT}
    assert set(built["y"]._repr_mimebundle_(exclude={SVG})) == {TEXT}


def test_a_long_listing_is_cut_saying_how_much(monkeypatch):
    x = sg.placeholder(sg.float64, (), name="x")
    for _ in range(display.MAX_TEXT_LINES + 5):
        x = sg.sin(x)
    monkeypatch.setenv("PATH", "")
    lines = x._repr_mimebundle_()[TEXT].splitlines()
    assert len(lines) == display.MAX_TEXT_LINES + 1  # and the install hint
    assert lines[-2].startswith("... ") and "more lines" in lines[-2]


def test_importing_staticgraph_renders_nothing(tmp_path):
    """A `dot` that leaves a mark when run: importing staticgraph must not run it."""
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([sys.executable, "-c", "import staticgraph, staticgraph.io"], env=env, check=True)
    assert not (tmp_path / "ran").exists()


def test_an_eager_tensor_shows_the_graph_it_recorded():
    from staticgraph import eager
    x = eager.tensor([1.0, 2.0], requires_grad=True)
    bundle = (x * x).sum()._repr_mimebundle_()
    assert "MulBackward0" in bundle["text/plain"] or "multiply" in bundle["text/plain"]
    if "image/svg+xml" in bundle:
        assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))
