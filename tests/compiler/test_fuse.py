"""fuse_updates turns an update by a scaled matrix product into one gemm update, only where the
product and its scaling are used by nothing else, and the fused step gives the unfused values."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import eliminate_dead_code, fuse_updates, prune, verify
from tests.compiler.helpers import assert_same_structure, structure


def _fused(g, fetches, feeds):
    pruned = prune(g, fetches, feeds)
    before = structure(pruned)
    fused = verify(eliminate_dead_code(fuse_updates(pruned, min_elements=1)))
    assert structure(pruned) == before  # the pass is pure
    return fused


def _update(x_shape, w_shape, build, dtype=np.float64):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(dtype, x_shape, name="x")
        d = sg.placeholder(dtype, (x_shape[0], w_shape[1]), name="d")
        w = sg.Variable(np.zeros(w_shape, dtype), name="w")
        build(w, x, d)
    return g


@pytest.mark.parametrize("build, alpha, inputs, flags", [
    (lambda w, x, d: w.assign_sub(0.5 * sg.matmul(sg.transpose(x), d), name="u"),
     -0.5, ["x", "d"], (True, False)),
    (lambda w, x, d: w.assign_sub(sg.matmul(sg.transpose(x), d) * 0.25, name="u"),
     -0.25, ["x", "d"], (True, False)),
    (lambda w, x, d: w.assign_add(sg.matmul(sg.transpose(x), d), name="u"),
     1.0, ["x", "d"], (True, False)),
    (lambda w, x, d: w.assign_add(2.0 * sg.transpose(sg.matmul(sg.transpose(d), x)), name="u"),
     None, None, None),  # the transpose of a product is not a product: left alone
])
def test_the_update_becomes_one_gemm_with_the_sign_and_scale_folded_into_alpha(
        build, alpha, inputs, flags):
    g = _update((5, 3), (3, 2), build)
    fused = _fused(g, ["u"], ["x", "d"])
    node = fused.node("u")
    if alpha is None:
        assert node["op"] == "assign_add"
        return
    assert node["op"] == "assign_add_matmul" and fused.inputs("u") == inputs
    assert node["attrs"]["alpha"] == alpha
    assert (node["attrs"]["transpose_a"], node["attrs"]["transpose_b"]) == flags
    assert {n["op"] for _, n in fused.nx.nodes(data=True)} == {"placeholder", "assign_add_matmul"}


def test_a_fed_scale_becomes_the_third_input():
    def build(w, x, d):
        lr = sg.placeholder(sg.float64, (), name="lr")
        w.assign_sub(sg.multiply(sg.matmul(sg.transpose(x), d), lr), name="u")
    fused = _fused(_update((5, 3), (3, 2), build), ["u"], ["x", "d", "lr"])
    node = fused.node("u")
    assert node["op"] == "assign_add_matmul" and fused.inputs("u") == ["x", "d", "lr"]
    assert node["attrs"]["alpha"] == -1.0


def test_both_operands_transposed_and_the_variable_itself_as_an_operand():
    def build(w, x, d):
        sq = sg.Variable(np.eye(2), name="sq")
        sq.assign_sub(0.5 * sg.matmul(sg.transpose(d), sg.transpose(sg.transpose(d))), name="u1")
        sq.assign_add(sg.matmul(sq, sg.transpose(sq)), name="u2")
    g = _update((5, 3), (3, 2), build)
    fused = _fused(g, ["u1", "u2"], ["x", "d"])
    assert fused.node("u1")["op"] == "assign_add_matmul"
    assert fused.node("u2")["attrs"]["transpose_b"] is True and fused.inputs("u2") == ["sq", "sq"]


@pytest.mark.parametrize("case", ["product fetched", "scaled fetched", "product read twice",
                                  "scale a vector", "ints", "batched", "product waits"])
def test_nothing_is_fused_that_would_compute_twice_or_change_meaning(case):
    g = sg.Graph()
    dtype = np.int64 if case == "ints" else np.float64
    batch = (4,) if case == "batched" else ()
    with g.as_default():
        x = sg.placeholder(dtype, (*batch, 5, 3), name="x")
        d = sg.placeholder(dtype, (*batch, 5, 2), name="d")
        w = sg.Variable(np.zeros((*batch, 3, 2), dtype), name="w")
        gate = sg.no_op(name="gate")
        with g.control_dependencies([gate] if case == "product waits" else None):
            swap = (*range(len(batch)), len(batch) + 1, len(batch))
            product = sg.matmul(sg.transpose(x, swap), d, name="product")
        scale = sg.constant(np.full(2, 3, dtype) if case == "scale a vector" else dtype(3),
                            name="c")
        scaled = sg.multiply(scale, product, name="scaled")
        w.assign_sub(scaled, name="u")
        sg.add(product, product, name="twice")
    fetches = ["u", *{"product fetched": ["product"], "scaled fetched": ["scaled"],
                      "product read twice": ["twice"]}.get(case, [])]
    fused = _fused(g, fetches, ["x", "d"])
    assert fused.node("u")["op"] == "assign_sub"


def _mlp_step(optimize: bool, steps: int = 3, dtype=np.float64, fed_rate: bool = False):
    """An MLP trained by SGD (its learning rate a constant, or fed); the weights after `steps`
    steps, the last loss and the executable."""
    rng = np.random.default_rng(0)
    sizes = (130, 128, 3)  # w0 is large enough to fuse, w1 is not
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(dtype, (None, sizes[0]), name="x")
        labels = sg.placeholder(dtype, (None, sizes[-1]), name="labels")
        h, variables = x, []
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            w = sg.Variable(rng.standard_normal((n_in, n_out)).astype(dtype), name=f"w{i}")
            b = sg.Variable(np.zeros(n_out, dtype), name=f"b{i}")
            variables += [w, b]
            h = sg.matmul(h, w) + b
            h = sg.tanh(h) if i == 0 else h
        loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=h))
        rate = sg.placeholder(dtype, (), name="rate") if fed_rate else 0.3
        train = sg.train.GradientDescentOptimizer(rate).minimize(loss)
    feed = {x: rng.standard_normal((8, sizes[0])).astype(dtype),
            labels: np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], 8)]}
    if fed_rate:
        feed[rate] = dtype(0.3)
    sess = sg.Session(g, config={"optimize": optimize})
    sess.run(sg.global_variables_initializer(g))
    for _ in range(steps):
        last, _ = sess.run([loss, train], feed)
    exe = sess.executable([loss, train], feed)
    return [sess.run(v) for v in variables], last, exe


@pytest.mark.parametrize("fed_rate", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_sgd_with_fused_updates_trains_as_the_unoptimised_graph_does(dtype, rtol, fed_rate):
    fused, fused_loss, exe = _mlp_step(True, dtype=dtype, fed_rate=fed_rate)
    plain, plain_loss, _ = _mlp_step(False, dtype=dtype, fed_rate=fed_rate)
    graph = exe.variant(exe.static_shapes).graph
    ops = sorted(n["op"] for _, n in graph.nx.nodes(data=True) if n["op"].startswith("assign"))
    assert ops == ["assign_add_matmul"] + ["assign_sub"] * 3
    np.testing.assert_allclose(fused_loss, plain_loss, rtol=rtol)
    for got, want in zip(fused, plain):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_small_variables_are_left_unfused_by_default():
    g = _update((5, 127), (127, 130), lambda w, x, d: w.assign_sub(
        0.5 * sg.matmul(sg.transpose(x), d), name="u"))
    assert fuse_updates(prune(g, ["u"], ["x", "d"])).node("u")["op"] == "assign_add_matmul"
    g = _update((5, 127), (127, 128), lambda w, x, d: w.assign_sub(
        0.5 * sg.matmul(sg.transpose(x), d), name="u"))
    assert fuse_updates(prune(g, ["u"], ["x", "d"])).node("u")["op"] == "assign_sub"


def test_the_pass_drops_what_only_the_fused_update_read_and_keeps_the_rest():
    def build(w, x, d):
        t = sg.transpose(x, name="t")
        w.assign_sub(sg.multiply(sg.matmul(t, d), 0.5, name="scaled"), name="u")
        m = sg.constant(np.ones((3, 5)), name="m")  # a constant operand stays: the update reads it
        w.assign_add(sg.matmul(m, d, name="product2"), name="u2")
        sg.exp(t, name="other")  # a transpose read elsewhere stays too
    g = _update((5, 3), (3, 2), build)
    fused = _fused(g, ["u", "u2", "other"], ["x", "d"])
    assert fused.inputs("u") == ["x", "d"] and fused.inputs("u2") == ["m", "d"]
    assert {"t", "m", "other"} <= set(fused.nx)
    assert not {"scaled", "product2"} & set(fused.nx)


@pytest.mark.parametrize("form, alpha", [("w - s", -0.5), ("w + s", 0.5), ("s + w", 0.5),
                                         ("s - w", None), ("other - s", None),
                                         ("twice updated", None), ("sum fetched", None),
                                         ("read waits", None)])
def test_an_assign_of_the_variable_plus_a_product_is_fused_when_it_is_its_only_update(form, alpha):
    def build(w, x, d):
        s = 0.5 * sg.matmul(sg.transpose(x), d)
        other = sg.Variable(np.ones((3, 2)), name="other")
        with w.graph.control_dependencies([sg.no_op(name="first")] if form == "read waits"
                                          else None):
            read = w.read_value(name="read")
        assert read.op == "variable"
        new = {"w - s": lambda: w - s, "w + s": lambda: w + s, "s + w": lambda: s + w,
               "s - w": lambda: s - w, "other - s": lambda: other - s}.get(form, lambda: read - s)()
        sg.identity(new, name="new")
        sg.assign(w, new, name="u")
        if form == "twice updated":
            w.assign_add(sg.ones((3, 2), dtype=np.float64), name="again")
    g = _update((5, 3), (3, 2), build)
    fetches = ["u"] + (["again"] if form == "twice updated" else []) + \
        (["new"] if form == "sum fetched" else [])
    fused = _fused(g, fetches, ["x", "d"])
    node = fused.node("u")
    if alpha is None:
        assert node["op"] == "assign"
    else:
        assert node["op"] == "assign_add_matmul" and node["attrs"]["alpha"] == alpha
        assert fused.inputs("u") == ["x", "d"]


def test_a_handwritten_sgd_assign_trains_as_the_unoptimised_graph_does():
    results = []
    for optimize in (True, False):
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float64, (16, 130), name="x")
            w = sg.Variable(np.ones((130, 128)) / 100, name="w")
            loss = sg.sum(sg.tanh(sg.matmul(x, w)))
            (gw,) = sg.gradients(loss, [w])
            step = sg.assign(w, w - 0.1 * gw, name="step")
        sess = sg.Session(g, config={"optimize": optimize})
        sess.run(sg.global_variables_initializer(g))
        feed = {x: np.random.default_rng(3).standard_normal((16, 130))}
        for _ in range(3):
            sess.run(step, feed)
        exe = sess.executable(step, feed)
        assert (exe.variant(exe.static_shapes).graph.node("step")["op"] == "assign_add_matmul") \
            == optimize
        results.append(sess.run(w))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13)
    assert not np.allclose(results[0], 1 / 100)


def test_a_product_that_would_be_broadcast_is_left_alone():
    def build(w, x, d):
        row = sg.matmul(sg.transpose(x)[:1], d, name="row")  # (1, 2) against w's (3, 2)
        sg.assign(w, w - 0.5 * row, name="u")
    fused = _fused(_update((5, 3), (3, 2), build), ["u"], ["x", "d"])
    assert fused.node("u")["op"] == "assign"


def test_the_fused_graph_is_the_hand_built_one():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (5, 128), name="x")
        d = sg.placeholder(sg.float64, (5, 130), name="d")
        w = sg.Variable(np.zeros((128, 130)), name="w")
        w.assign_sub(0.5 * sg.matmul(sg.transpose(x), d), name="u")
    fused = verify(eliminate_dead_code(fuse_updates(prune(g, ["u"], ["x", "d"]))))
    expected = sg.Graph()
    with expected.as_default():
        x2 = sg.placeholder(sg.float64, (5, 128), name="x")
        d2 = sg.placeholder(sg.float64, (5, 130), name="d")
        attrs = {"var": "w", "shape": (128, 130), "dtype": np.dtype(np.float64), "alpha": -0.5,
                 "transpose_a": True, "transpose_b": False}
        expected.add_node("assign_add_matmul", [x2, d2], attrs, (128, 130), np.dtype(np.float64),
                          "test", name="u", exact_name=True)
    assert_same_structure(fused, expected)
    assert fused.node("u")["attrs"] == attrs
