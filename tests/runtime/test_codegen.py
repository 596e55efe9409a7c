"""The straight-line Python a program runs as: one line per step, the interpreter's results and
variable updates, and a failing line that names its node."""
import re

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.lower import (CALL1, CALL2, CALLN, HOUSE, OUT1, OUT2, STATE, UFUNC1,
                                        UFUNC2)
from staticgraph.runtime.codegen import StraightLine
from staticgraph.runtime.executor import _failing, execute, read_variables
from staticgraph.runtime.reference import KERNEL_ERRORS
from staticgraph.runtime.state import RunState, VariableStore


def _training_step(debug: bool):
    """A small SGD step whose program holds every kind of step, and its feeds."""
    rng = np.random.default_rng(0)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (6, 130), name="x")
        labels = sg.placeholder(sg.int64, (6,), name="labels")
        w = sg.Variable(rng.standard_normal((130, 128)) * 0.1, name="w")  # fused: a gemm update
        v = sg.Variable(rng.standard_normal((128, 4)) * 0.1, name="v")
        h = sg.relu(sg.tanh(sg.matmul(x, w)))
        logits = sg.concat([sg.matmul(h, v), sg.max(h, axis=1, keepdims=True)], axis=1)
        loss = sg.mean(sg.sparse_softmax_cross_entropy_with_logits(labels, logits))
        gw, gv = sg.gradients(loss, [w, v])
        train = sg.group(w.assign_sub(0.5 * gw), v.assign_sub(0.5 * gv))
        init = sg.global_variables_initializer()
    exe = sg.compile([loss, train], feeds=[x, labels], graph=g, debug_memory=debug)
    feed = {x: rng.standard_normal((6, 130)), labels: rng.integers(0, 5, 6)}
    store = VariableStore()
    sg.compile([init], graph=g, store=store).run()
    return exe, feed, store


def _instance(exe, feed, store):
    variant = exe.variant(tuple(np.shape(feed[k]) for k in feed))
    program = variant.program
    steps, env = program.instantiate()
    for slot, value in zip(program.feed_slots, feed.values()):
        env[slot] = value
    state = RunState(store, program.touched)
    read_variables(program, env, state)
    return variant, program, steps, env, state


@pytest.mark.parametrize("debug", [False, True])
def test_the_straight_line_does_what_the_interpreter_does(debug):
    results = []
    for straight in (False, True):
        exe, feed, store = _training_step(debug)
        variant, program, steps, env, state = _instance(exe, feed, store)
        if straight:
            run = variant.straight_line(steps).bind(steps, _failing(program, steps), KERNEL_ERRORS)
            run(env, state)
        else:
            execute(program, steps, env, state)
        state.commit()
        fetched = [np.copy(env[s]) for s in program.fetch_slots if env[s] is not None]
        results.append((fetched, {k: np.copy(a) for k, a in store.values.items()}))
        kinds = {step[0] for step in steps}
    assert {UFUNC2, UFUNC1, CALL2, CALL1, OUT2, OUT1, CALLN, STATE, HOUSE} <= kinds
    (f1, v1), (f2, v2) = results
    for a, b in zip(f1, f2):
        np.testing.assert_array_equal(a, b)
    assert sorted(v1) == sorted(v2)
    for name in v1:
        np.testing.assert_array_equal(v1[name], v2[name])


def test_the_source_is_one_line_per_step_each_naming_its_node():
    assert sg.compile([sg.placeholder(sg.float64, (None,)) * 2.0]).python_source() is None
    exe, feed, store = _training_step(False)  # known shapes: planned at once
    variant, program, steps, *_ = _instance(exe, feed, store)
    source = exe.python_source()
    assert source == variant.straight_line().source
    body = source.split("try:\n")[1].split("        except")[0].splitlines()
    assert len(body) == len(steps)
    for line, step in zip(body, steps):
        info = program.infos.get(step[-1])
        if info is not None:
            assert line.endswith(f"# {info.name!r}") and f"env[{step[-1]}] = " in line
            assert re.search(rf"\b{re.escape(info.op)}_\d+\(", line) or \
                re.search(r"= env\[\d+\] [-+*/] env\[\d+\]  #", line), line  # scalars inline
    assert "state" in source and "assign_add_matmul_" in source
    compile(source, "<check>", "exec")


def test_a_failing_step_names_its_node_and_source_line():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, (None, None), name="x")
        y = sg.placeholder(sg.float64, (None, None), name="y")
        a = sg.exp(x, name="first")
        b = sg.matmul(a, y, name="product")
        c = sg.log(sg.abs(b) + 1.0, name="after")
    sess = sg.Session(g)
    assert sess.run(c, {x: np.ones((2, 3)), y: np.ones((3, 2))}).shape == (2, 2)
    with pytest.raises(sg.errors.InvalidArgumentError,
                       match=r"matmul failed at node 'product' \(created at test_codegen.py:\d+\) "
                             r"on inputs of shapes \(2, 3\), \(4, 2\)"):
        sess.run(c, {x: np.ones((2, 3)), y: np.ones((4, 2))})
    assert sess.run(c, {x: np.zeros((1, 1)), y: np.zeros((1, 1))}).item() == pytest.approx(0.0)


def test_an_unset_variable_read_by_a_step_names_its_node():
    g = sg.Graph()
    with g.as_default():
        w = sg.Variable(np.ones(3), name="w")
        x = sg.placeholder(sg.float64, (3,), name="x")
        step = w.assign_add(x, name="bump")
        late = sg.Variable(np.ones(3), name="late")
        out = sg.identity(step, name="out") * late
    with pytest.raises(sg.errors.FailedPreconditionError, match="'w' is read before"):
        sg.Session(g).run(out, {x: np.ones(3)})


def test_a_program_without_steps_still_runs():
    line = StraightLine(sg.compile([sg.constant(1.0)]).variant(()).program, [])
    assert "pass" in line.source
    line.bind([], None, KERNEL_ERRORS)([None], None)
