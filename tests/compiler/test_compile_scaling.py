"""Compile work grows linearly with the graph: counted calls of the compiler's inner steps, not
timings, for a chain of elementwise ops and its gradient at two sizes."""
import importlib

import networkx as nx
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.runtime import codegen

# the modules themselves (staticgraph.compiler re-exports functions of the same names)
memory, rewrite, schedule = (importlib.import_module(f"staticgraph.compiler.{name}")
                             for name in ("memory", "rewrite", "schedule"))

# (module, function): inner steps that a quadratic algorithm would call per pair of nodes
COUNTED = [(memory, "_fits"), (schedule, "_gain"), (schedule._MemoryModel, "net"),
           (rewrite, "_add"), (rewrite, "_in_edges")]


def _chain(n: int):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (8,), name="x")
        h = x
        for i in range(n):
            h = (sg.sin, sg.tanh, lambda v: v * 1.01, lambda v: v + 0.1)[i % 4](h)
        loss = sg.sum(h)
        (dx,) = sg.gradients(loss, [x])
    return g, x, loss, dx


def _counts(monkeypatch, n: int, **options) -> dict:
    counts = {}
    for owner, name in COUNTED:
        real = getattr(owner, name)

        def counting(*args, _real=real, _key=name, **kwargs):
            counts[_key] = counts.get(_key, 0) + 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(owner, name, counting)
    sorts = [0]
    real_sort = nx.lexicographical_topological_sort

    def counted_sort(*args, **kwargs):
        sorts[0] += 1
        return real_sort(*args, **kwargs)
    monkeypatch.setattr(nx, "lexicographical_topological_sort", counted_sort)
    g, x, loss, dx = _chain(n)
    exe = sg.compile([loss, dx], feeds=[x], graph=g, **options)
    value = np.linspace(-1, 1, 8)
    got = exe.run({x: value})
    want = sg.compile([loss, dx], feeds=[x], graph=g, optimize=False, memory="naive").run(
        {x: value})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    monkeypatch.undo()
    counts["topological sorts"] = sorts[0]
    return counts


@pytest.mark.parametrize("options", [{}, {"fuse": False}, {"memory": "remat"}])
def test_compile_steps_grow_linearly(monkeypatch, options):
    small, large = _counts(monkeypatch, 120, **options), _counts(monkeypatch, 480, **options)
    assert large["topological sorts"] == 0  # graphs built op by op are in order already
    for key in small:
        # four times the ops: at most about four times the calls (a quadratic step gives 16)
        assert large.get(key, 0) <= 5 * small[key] + 64, (key, small[key], large.get(key))


def test_long_programs_are_generated_in_parts(monkeypatch):
    monkeypatch.setattr(codegen, "PART_STEPS", 7)
    g, x, loss, dx = _chain(40)
    exe = sg.compile([loss, dx], feeds=[x], graph=g, fuse=False)
    value = np.linspace(-1, 1, 8)
    got = exe.run({x: value})
    assert exe.python_source().count("def bind_") >= 10
    want = sg.compile([loss, dx], feeds=[x], graph=g, fuse=False, optimize=False).run({x: value})
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_a_failing_step_in_a_later_part_names_its_node(monkeypatch):
    monkeypatch.setattr(codegen, "PART_STEPS", 3)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, 3), name="x")
        w = sg.placeholder(sg.float64, (None, 2), name="w")
        h = x
        for _ in range(8):
            h = sg.sin(h)
        sg.matmul(h, w, name="product")
    exe = sg.compile(["product"], feeds=[x, w], graph=g, fuse=False)
    with pytest.raises(sg.errors.InvalidArgumentError, match="product"):
        exe.run({x: np.ones((2, 3)), w: np.ones((4, 2))})
