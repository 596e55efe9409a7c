"""simplify: each rule, on a small graph, gives the expected ops and bit-for-bit the same values."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import PassManager, fetches_of, prune, simplify, specialize, verify
from staticgraph.ops.array import broadcast_like, reduce_to
from staticgraph.ops.math import add_n_
from tests.compiler.helpers import reference_values, run_compiled_graph

X = np.array([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]])


def _relu_mask(x):
    return sg.cast(sg.greater(x, 0.0), sg.float64) * sg.relu(x)


# id, build(x) -> y, the ops left running (sorted), how x's shape is known: "static" when built,
# "unknown" (None dims), "fed" (None dims when built, then specialised to the fed shape)
RULES = [
    ("x*1", lambda x: x * 1.0, [], "static"),
    ("1*x", lambda x: 1.0 * x, [], "static"),
    ("x+0 kept: -0.0 + 0.0 is +0.0", lambda x: x + 0.0, ["add"], "static"),
    ("0+x kept", lambda x: 0.0 + x, ["add"], "static"),
    ("x+(-0)", lambda x: x + -0.0, [], "static"),
    ("(-0)+x", lambda x: -0.0 + x, [], "static"),
    ("x-0", lambda x: x - 0.0, [], "static"),
    ("x-(-0) kept", lambda x: x - -0.0, ["subtract"], "static"),
    ("int x+0", lambda x: sg.cast(x, sg.int64) + 0, ["cast"], "static"),
    ("int x-0", lambda x: sg.cast(x, sg.int64) - 0, ["cast"], "static"),
    ("x/1", lambda x: x / 1.0, [], "static"),
    ("x*ones broadcasts", lambda x: x * sg.ones((4, 2, 3), sg.float64), ["multiply"], "static"),
    ("x*0 kept: NaN at Inf, -0.0 at x < 0", lambda x: x * 0.0, ["multiply"], "static"),
    ("int x*0", lambda x: sg.cast(x, sg.int64) * 0, [], "static"),
    ("int x*0 unknown dims", lambda x: 0 * sg.cast(x, sg.int64), ["cast", "filled_like"],
     "unknown"),
    ("x+x", lambda x: x + x, ["multiply"], "static"),
    ("add_n(x,x,x)", lambda x: sg.add_n([x, x, x]), ["multiply"], "static"),
    ("add_n of seven x kept: rounds unlike 7 x", lambda x: sg.add_n([x] * 7), ["add_n"], "static"),
    ("int add_n of seven x", lambda x: sg.add_n([sg.cast(x, sg.int64)] * 7), ["cast", "multiply"],
     "static"),
    ("add_n(x)", lambda x: sg.add_n([x]), [], "static"),
    ("add_n(x,y)", lambda x: sg.add_n([x, sg.sin(x)]), ["add", "sin"], "static"),
    ("(x*4)*0.25 kept: x*4 may overflow", lambda x: (x * 4.0) * 0.25, ["multiply", "multiply"],
     "static"),
    ("-(-x)", lambda x: -(-x), [], "static"),
    ("transpose twice back", lambda x: sg.transpose(sg.transpose(x)), [], "static"),
    ("transpose twice", lambda x: sg.transpose(sg.transpose(sg.reshape(x, (1, 2, 3)), (1, 2, 0)),
                                               (1, 2, 0)), ["reshape", "transpose"], "static"),
    ("reshape twice", lambda x: sg.reshape(sg.reshape(x, (6,)), (3, 2)), ["reshape"], "static"),
    ("reshape to itself", lambda x: sg.reshape(x, (2, 3)), [], "static"),
    ("identity", lambda x: sg.identity(sg.stop_gradient(x)), [], "static"),
    ("cast to own dtype", lambda x: sg.cast(x, sg.float64), [], "static"),
    ("ones_like known", lambda x: sg.ones_like(x) + x, ["add"], "static"),
    ("reduce_to to a sum", lambda x: reduce_to(sg.sin(x), sg.constant(np.zeros(3))), ["sin", "sum"],
     "fed"),
    ("reduce_to to itself", lambda x: reduce_to(sg.sin(x), x), ["sin"], "fed"),
    ("broadcast_like", lambda x: broadcast_like(sg.sin(x[0]), x), ["broadcast_to", "getitem", "sin"],
     "fed"),
    ("count", lambda x: sg.mean(x, axis=0), ["divide", "sum"], "fed"),
    ("expand_dims known", lambda x: sg.expand_dims(x, 0), ["reshape"], "static"),
]


def _optimise(build, shape: str):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, X.shape if shape == "static" else (None, 3), name="x")
        y = build(x)
    compiled = prune(g, [y.name], ["x"])
    if shape == "fed":
        compiled = specialize(compiled, {"x": X.shape})
    compiled, _ = PassManager(check=True).run(compiled)
    return g, y, compiled


@pytest.mark.parametrize("build,ops,shape", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule(build, ops, shape):
    g, y, compiled = _optimise(build, shape)
    running = sorted(op for _, op in compiled.nx.nodes(data="op") if op not in ("placeholder", "constant"))
    assert running == ops
    (want,) = reference_values(g, [y.name], {"x": X})
    (got,) = run_compiled_graph(compiled, {"x": X})
    np.testing.assert_array_equal(got, want)


# Values where real and floating-point arithmetic part: signed zeros, Infs, NaN, subnormals and
# numbers whose small multiples overflow, in the shape of X.
EDGES = [np.array([[-0.0, 0.0, np.inf], [-np.inf, np.nan, 5e-324]]),
         np.array([[1.7e308, -1.7e308, -1e-310], [0.7e308, -1.1, 0.1]])]


def assert_bits_equal(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True), (got, want)
    if got.dtype.kind == "f":
        assert np.array_equal(np.signbit(got), np.signbit(want)), (got, want)


@pytest.mark.parametrize("edges", EDGES, ids=["zeros-infs-nan", "overflow-rounding"])
@pytest.mark.parametrize("build,ops,shape", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule_is_exact_at_edge_values(build, ops, shape, edges):
    g, y, compiled = _optimise(build, shape)
    with np.errstate(all="ignore"):
        if np.dtype(g.node(y.name)["dtype"]).kind in "iub" and not np.all(np.isfinite(edges)):
            edges = np.where(np.isfinite(edges), edges, 0.0)
        if np.dtype(g.node(y.name)["dtype"]).kind in "iub":
            edges = np.clip(edges, -1e6, 1e6)
        (want,) = reference_values(g, [y.name], {"x": edges})
        (got,) = run_compiled_graph(compiled, {"x": edges})
    assert_bits_equal(got, want)


def test_the_reciprocal_of_x_plus_zero_keeps_its_sign_at_negative_zero():
    x = sg.placeholder(sg.float64, (), name="x")
    y = 1.0 / (x + 0.0)
    with np.errstate(divide="ignore"):
        optimised = sg.compile([y], feeds=[x]).run({x: -0.0})[0]
    with np.errstate(divide="ignore"):
        unoptimised = sg.compile([y], feeds=[x], optimize=False).run({x: -0.0})[0]
    assert optimised == np.inf == unoptimised


def test_x_greater_zero_reads_the_relu_output_so_x_can_die_at_the_relu():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (2, 3), name="x")
        h = sg.relu(x * 2.0, name="h")
        y = sg.cast(sg.greater(x * 2.0, 0.0, name="mask"), sg.float64) * h
    compiled, _ = PassManager(check=True).run(prune(g, [y.name], ["x"]))
    assert compiled.inputs("mask")[0] == "h"
    np.testing.assert_array_equal(run_compiled_graph(compiled, {"x": X})[0],
                                  reference_values(g, [y.name], {"x": X})[0])


def test_nodes_with_control_inputs_are_left_alone():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        gate = sg.no_op(name="gate")
        with sg.control_dependencies([gate]):
            y = sg.multiply(x, 1.0, name="y")
    compiled = verify(simplify(prune(g, ["y"], ["x"])))
    assert fetches_of(compiled) == ["y"] and compiled.node("y")["op"] == "multiply"


def test_a_fetched_node_simplified_away_is_fetched_through_its_replacement():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (3,), name="x")
        y = sg.identity(x, name="y")
        z = add_n_(sg.sin(x, name="s"), name="z")
    compiled, _ = PassManager(check=True).run(prune(g, ["y", "z"], ["x"]))
    assert fetches_of(compiled) == ["x", "s"]
