"""The backward graph of an eager tensor, drawn as torchviz draws it (grad_fn, AccumulateGrad, saved)."""
import re
import shutil

import pytest

import staticgraph as sg
from staticgraph import eager
from staticgraph.eager.recorded import backward_graph
from staticgraph.errors import InvalidArgumentError


def labels(dot) -> list[str]:
    return [" ".join(label.replace("\\n", "\n").split()) for label in re.findall(r'label="([^"]*)"', dot.to_string())]


def test_grad_fns_leaves_and_saved_tensors_as_pytorch_names_them():
    x = eager.arange(3.0, requires_grad=True, name="x")
    w = eager.ones(3, requires_grad=True)
    y = ((x * w + 1).sin() / 2).sum()
    nodes = backward_graph(y)
    assert [n.name for n in nodes] == ["AccumulateGrad", "AccumulateGrad", "MulBackward0",
                                       "AddBackward0", "SinBackward0", "DivBackward0", "SumBackward0"]
    saved = {n.name: [label for label, _ in n.saved] for n in nodes}
    # What each vjp reads, as PyTorch saves it: mul both operands, add nothing, sin its input.
    assert saved["MulBackward0"] == ["self", "other"] and saved["AddBackward0"] == []
    assert saved["SinBackward0"] == ["self"] and saved["SumBackward0"] == []
    mul = nodes[2]
    assert {id(n.variable) for n in nodes[:2]} == {id(x), id(w)}
    assert set(mul.next) == {nodes[0].key, nodes[1].key}
    assert mul.saved[0][1] is x and mul.saved[1][1] is w


def test_the_drawing_has_each_node_the_leaf_shapes_and_the_saved_boxes():
    x = eager.arange(6.0, requires_grad=True, name="x").reshape(2, 3)
    drawn = labels(sg.to_dot((x.exp() * 2).sum(), backward=True))
    assert drawn.count("AccumulateGrad") == 1 and "x (6,)" in drawn
    assert {"ExpBackward0", "MulBackward0", "SumBackward0", "ViewBackward0"} <= set(drawn)
    assert "result (2, 3)" in drawn, "exp's vjp reads its output"
    assert "()" in drawn, "the result tensor with its shape"
    without = labels(sg.draw_backward((x.exp() * 2).sum(), show_saved=False))
    assert not any(label.startswith(("self", "result")) for label in without)


def test_a_leaf_draws_alone_and_other_values_are_refused():
    x = eager.arange(3.0, requires_grad=True, name="x")
    assert backward_graph(x) == [] and labels(sg.draw_backward(x)) == ["x (3,)"]
    with pytest.raises(InvalidArgumentError, match="eager tensor"):
        sg.draw_backward(sg.placeholder(sg.float64, (), name="p"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_the_backward_drawing_shows_inline_as_svg():
    x = eager.arange(3.0, requires_grad=True, name="x")
    bundle = sg.draw_backward((x * x).sum())._repr_mimebundle_()
    assert "MulBackward0" in bundle["image/svg+xml"]
    assert bundle["text/plain"].splitlines()[-1].startswith("SumBackward0 <- MulBackward0")
