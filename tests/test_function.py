"""sg.function: tracing implicit-style Python into static graphs, cached per input signature."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.errors import InvalidArgumentError
from staticgraph.function import Function
from tests.eager.test_semantics import notes_f


def model(x, w):
    """Written once, run in every style: the ops dispatch on their inputs."""
    h = sg.tanh(x @ w)
    return sg.sum(h * h) / 2 + sg.norm(w)


def test_traced_equals_eager_equals_static(rng):
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    traced = sg.function(model)(x, w)
    eager_value = model(eager.tensor(x), eager.tensor(w))
    with sg.Graph().as_default() as graph:
        px, pw = sg.placeholder(sg.float64, (3, 4)), sg.placeholder(sg.float64, (4, 2))
        static = sg.Session(graph).run(model(px, pw), {px: x, pw: w})
    assert isinstance(traced, np.float64)
    np.testing.assert_allclose(traced, float(eager_value), rtol=1e-12)
    np.testing.assert_allclose(traced, static, rtol=1e-12)


def test_gradients_inside_a_traced_function_equal_the_tape(rng):
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))

    @sg.function
    def loss_and_grad(x, w):
        loss = model(x, w)
        return {"loss": loss, "dw": sg.gradients(loss, w)[0]}

    out = loss_and_grad(x, w)
    tw = eager.tensor(w, requires_grad=True)
    model(eager.tensor(x), tw).backward()
    assert set(out) == {"loss", "dw"}
    np.testing.assert_allclose(out["dw"], tw.grad.numpy(), rtol=1e-10)


def test_one_trace_per_signature():
    f = sg.function(lambda x: x * 2)
    f(np.ones(3))
    f(np.zeros(3))
    assert len(f.traces) == 1
    f(np.ones(4))
    f(np.ones(3, np.float32))
    assert len(f.traces) == 3
    assert [t.graph.node(t.placeholders[0].name)["shape"] for t in f.traces] == [(3,), (4,), (3,)]


def test_graph_for_names_placeholders_after_parameters():
    def f(a, b):
        return a * b + 1

    graph = sg.function(f).graph_for(np.ones(2), np.ones(2))
    assert graph.node("a")["op"] == "placeholder" and graph.node("b")["op"] == "placeholder"
    assert sorted(op for _, op in graph.nx.nodes(data="op")).count("placeholder") == 2


def test_without_autograph_python_control_flow_on_a_traced_value_raises_the_type_error():
    traced = sg.function(notes_f, autograph=False)
    with pytest.raises(TypeError, match=r"sg\.cond.*sg\.while_loop"):
        traced(np.float64(0.3))
    assert not traced.traces, "a failed trace is not cached"


def graph_f(a):
    """The notes' f(a) with the decisions in the graph, returning f(a) and df/da."""
    b = sg.while_loop(lambda b: sg.norm(b) < 1000, lambda b: b * 2, [a * 2])
    c = sg.cond(sg.sum(b) > 0, lambda: b, lambda: 100 * b)
    return c, sg.gradients(c, a)[0]


@pytest.mark.parametrize("a", [0.37, -0.05, 3.0])
def test_traced_control_flow_equals_eager_python_control_flow(a):
    c, dc = sg.function(graph_f)(np.float64(a))
    ta = eager.tensor(np.float64(a), requires_grad=True)
    d = notes_f(ta)
    d.backward()
    assert c == float(d) and dc == float(ta.grad)
    assert dc == pytest.approx(c / a)


def test_arguments_python_values_and_nested_structures():
    @sg.function
    def f(pair, scale, offset=1):
        first, second = pair
        return [first * scale + offset, {"second": second}, "label"]

    out = f((np.ones(2), eager.tensor(np.arange(2.0))), 3.0)
    np.testing.assert_array_equal(out[0], [4.0, 4.0])
    np.testing.assert_array_equal(out[1]["second"], [0.0, 1.0])
    assert out[2] == "label"
    f((np.ones(2), np.arange(2.0)), 5.0)
    assert len(f.traces) == 2, "a Python value is baked into its trace"
    with pytest.raises(InvalidArgumentError, match="static tensor"):
        f((sg.placeholder(sg.float64, (2,)), np.ones(2)), 1.0)


def test_input_signature_with_unknown_dims_serves_every_length():
    total = sg.function(lambda x: sg.sum(x * x), input_signature=[((None,), sg.float64)])
    assert total(np.ones(3)) == 3.0 and total(np.arange(4.0)) == 14.0
    assert len(total.traces) == 1
    with pytest.raises(InvalidArgumentError, match="does not fit"):
        total(np.ones((2, 2)))


def test_variables_created_while_tracing_are_initialised():
    @sg.function
    def affine(x):
        w = sg.Variable(np.array([2.0, 3.0]), name="w")
        return x * w

    np.testing.assert_array_equal(affine(np.ones(2)), [2.0, 3.0])
    assert isinstance(affine, Function) and affine.__name__ == "affine"
