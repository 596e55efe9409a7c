"""CSE merges equal computations (never placeholders, stateful ops or unhashable attrs); DCE drops
what no fetch, feed or side effect needs."""
import numpy as np

import staticgraph as sg
from staticgraph.compiler import (eliminate_common_subexpressions, eliminate_dead_code, prune,
                                  rebuild, verify)
from staticgraph.compiler.rewrite import FEEDS, FETCHES
from tests.compiler.helpers import assert_same_structure


def test_cse_merges_equal_nodes_and_equal_constants():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, (3,), name="x")
        a = sg.sin(x, name="a")
        b = sg.sin(x, name="b")
        c1, c2 = sg.constant(2.0, name="c1"), sg.constant(2.0, name="c2")
        sg.add(a * c1, b * c2, name="y")
    merged = verify(eliminate_common_subexpressions(prune(g, ["y"], ["x"])))
    expected = sg.Graph()
    with expected.as_default():
        x2 = sg.placeholder(sg.float32, (3,), name="x")
        a2 = sg.sin(x2, name="a")
        m = sg.multiply(a2, sg.constant(2.0, name="c1"), name="multiply")
        sg.add(m, m, name="y")
    assert_same_structure(merged, expected)


def test_cse_keeps_apart_what_differs_or_must_not_merge():
    g = sg.Graph()
    with g.as_default():
        p, q = sg.placeholder(sg.float64, (3,), name="p"), sg.placeholder(sg.float64, (3,), name="q")
        s1, s2 = sg.sum(p, axis=0, name="s1"), sg.sum(p, axis=0, keepdims=True, name="s2")
        w = sg.Variable(np.zeros(3), name="w")
        u1, u2 = w.assign_add(p, name="u1"), w.assign_add(p, name="u2")
        f32 = sg.constant(np.float32(1.0), name="f32")
        f64 = sg.constant(np.float64(1.0), name="f64")
    merged = eliminate_common_subexpressions(g)
    for name in ("p", "q", "s1", "s2", "u1", "u2", "f32", "f64"):
        assert name in merged, name


def test_cse_treats_unhashable_attrs_as_unmergeable():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        a, b = sg.sin(x, name="a"), sg.sin(x, name="b")
    for name in ("a", "b"):
        g.node(name)["attrs"] = {"hook": [1, {2}]}  # a set inside: not hashable
    merged = eliminate_common_subexpressions(g)
    assert "a" in merged and "b" in merged


def test_dce_drops_dead_nodes_but_keeps_side_effects_and_feeds():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        sg.placeholder(sg.float64, (3,), name="u")
        w = sg.Variable(np.zeros(3), name="w")
        sg.sin(x, name="y")
        sg.cos(x, name="dead")
        w.assign(x, name="write")
    compiled = rebuild(g, keep={"x", "u", "y", "dead", "write"})
    compiled.add_to_collection(FETCHES, "y")
    for feed in ("x", "u"):
        compiled.add_to_collection(FEEDS, feed)
    assert sorted(verify(eliminate_dead_code(compiled)).nx) == ["u", "write", "x", "y"]
