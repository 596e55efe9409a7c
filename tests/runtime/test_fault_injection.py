"""Fault injection: a training step made to fail at each of its steps in turn changes no variable,
and the session goes on as if the failed runs never happened.

Every kernel of the lowered program is wrapped (through `Program.instantiate`) so that the k-th
kernel call of a run raises. Training graphs: SGD (whose large weight update is fused into one
gemm, `assign_add_matmul`), momentum and Adam, with updates in place ("plan") and without
("naive"). With updates in place, the memory plan promises that no step after the first update
in place can fail (see `staticgraph.compiler.memory`); a failure there cannot happen, so those
steps are not made to fail: the test checks the promise itself instead (each is total, or
updates or reads a variable, on known shapes).
"""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.lower import Program
from staticgraph.compiler.rewrite import UPDATES, VARIABLE
from staticgraph.errors import InvalidArgumentError
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import known

BATCH, WIDTH, CLASSES = 8, 128, 4  # a 128 x 128 weight: large enough for fuse_updates


class Injector:
    """Counts the kernel calls of a run; the `armed`-th raises. Records the nodes called."""

    def __init__(self):
        self.armed, self.count, self.called = None, 0, []

    def start(self, armed=None):
        self.armed, self.count, self.called = armed, 0, []

    def wrap(self, fn, name):
        def call(*args, **kwargs):
            self.count += 1
            self.called.append(name)
            if self.count == self.armed:
                raise FloatingPointError(f"injected fault in {name}")
            return fn(*args, **kwargs)
        return call


@pytest.fixture
def injector(monkeypatch):
    inject = Injector()
    instantiate = Program.instantiate

    def wrapped(program):
        steps, env = instantiate(program)
        out = []
        for kind, fn, a, b, buf, slot in steps:
            info = program.infos.get(slot) if slot >= 0 else None
            out.append((kind, fn if info is None else inject.wrap(fn, info.name), a, b, buf, slot))
        return out, env
    monkeypatch.setattr(Program, "instantiate", wrapped)
    return inject


def training_graph(optimizer: str):
    rng = np.random.default_rng(3)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, WIDTH), name="x")  # specialised when fed
        labels = sg.placeholder(sg.float64, (None, CLASSES), name="labels")
        w1 = sg.Variable(rng.normal(size=(WIDTH, WIDTH)) / 10, name="w1")
        b1 = sg.Variable(np.zeros(WIDTH), name="b1")
        w2 = sg.Variable(rng.normal(size=(WIDTH, CLASSES)) / 10, name="w2")
        h = sg.relu(sg.matmul(x, w1) + b1)
        logits = sg.matmul(h, w2)
        loss = sg.mean(sg.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        opt = {"sgd": lambda: sg.train.GradientDescentOptimizer(0.1),
               "momentum": lambda: sg.train.MomentumOptimizer(0.1, 0.9),
               "adam": lambda: sg.train.AdamOptimizer(0.01)}[optimizer]()
        train = opt.minimize(loss)
        init = sg.global_variables_initializer()
    feed = {x: rng.normal(size=(BATCH, WIDTH)),
            labels: np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH)]}
    return g, init, [loss, train], feed


def snapshot(sess):
    return {name: np.array(value) for name, value in sess.variable_values().items()}


def assert_same(got: dict, want: dict):
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def promised_not_to_fail(graph, name) -> bool:
    node = graph.node(name)
    ins = [i for i, _ in graph.nx.in_edges(name)]
    return (node["op"] == VARIABLE or node["op"] in UPDATES
            or "total" in get_op(node["op"]).traits) \
        and known(node["shape"]) and all(known(graph.node(i)["shape"]) for i in ins)


@pytest.mark.parametrize("memory", ["plan", "naive"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_a_step_failing_anywhere_changes_no_variable(injector, optimizer, memory):
    g, init, fetches, feed = training_graph(optimizer)
    sess = sg.Session(g, config={"memory": memory})
    sess.run(init)
    sess.run(fetches, feed)  # a first good step: optimizer slots set, programs made
    before = snapshot(sess)
    exe = sess.executable(fetches, feed)
    graph, in_place = exe.graph, exe.memory.updates_in_place
    if optimizer == "sgd":
        assert any(graph.node(n)["op"] == "assign_add_matmul" for n in exe.schedule)
    assert bool(in_place) == (memory == "plan")

    reference = sg.Session(g, config={"memory": memory})  # counts the calls of one good run
    reference.run(init)
    injector.start()
    reference.run(fetches, feed)
    called = list(injector.called)
    firsts = [k for k, name in enumerate(called) if name in in_place]
    protected = min(firsts) + 1 if firsts else len(called)
    assert len(called) > 20 and protected > 0

    for k in range(protected):  # make the k-th kernel call fail
        injector.start(armed=k + 1)
        with pytest.raises(InvalidArgumentError, match=rf"at node '{called[k]}'.*injected"):
            sess.run(fetches, feed)
        assert_same(snapshot(sess), before)
    for name in called[protected:]:  # the plan's promise where failing is not injected
        assert promised_not_to_fail(graph, name), name

    injector.start()
    got = sess.run(fetches, feed)
    want = reference.run(fetches, feed)
    np.testing.assert_array_equal(got[0], want[0])
    assert_same(snapshot(sess), snapshot(reference))
