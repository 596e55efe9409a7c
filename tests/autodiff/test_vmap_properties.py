"""sg.vmap against a Python loop over the examples, for random in_axes / out_axes, batch sizes
(1 included) and batch dims unknown until run time (placeholders with None), over the op table."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

import staticgraph as sg
from tests.op_table import ROWS

CASES = [(row, case) for row in ROWS for case in row.cases]
# Rows whose ops' batching rules still need the batch size when the graph is built (they raise
# UnimplementedError saying so): checked with a known batch size only.
KNOWN_BATCH_ONLY = {"conv2d", "conv2d_valid", "max_pool", "max_pool_grad", "avg_pool"}


@st.composite
def mappings(draw):
    row, case = draw(st.sampled_from(CASES))
    in_axes = [draw(st.one_of(st.none(), st.integers(0, len(shape)))) for shape in case]
    if all(a is None for a in in_axes):
        in_axes[draw(st.integers(0, len(case) - 1))] = 0
    unknown = draw(st.booleans()) and row.name not in KNOWN_BATCH_ONLY
    return row, case, in_axes, draw(st.integers(1, 3)), unknown, draw(st.integers(0, 8)), \
        draw(st.booleans())


def _batched_shape(shape, axis, size):
    return shape if axis is None else shape[:axis] + (size,) + shape[axis:]


def _example(value, axis, i):
    return value if axis is None else np.take(value, i, axis=axis)


@settings(max_examples=60, deadline=None)
@given(mappings())
def test_vmap_equals_a_loop_for_any_axes_and_batch(mapping):
    row, case, in_axes, size, unknown, out_pick, gradient = mapping
    def gradients(*xs):
        return sg.gradients(sg.sum(row.build(*xs)), list(xs), unconnected_gradients="zero")
    fn = gradients if gradient and row.differentiable else row.build
    rng = np.random.default_rng(size)
    values = [row.sample(rng, _batched_shape(tuple(s), a, size)) for s, a in zip(case, in_axes)]
    graph = sg.Graph()
    with graph.as_default():
        ins = [sg.placeholder(sg.float64, tuple(None if unknown and a is not None and k == a else d
                                                for k, d in enumerate(v.shape)))
               for v, a in zip(values, in_axes)]
        probe = sg.vmap(fn, in_axes=tuple(in_axes))(*ins)
        out_axes = [out_pick % (leaf.ndim) for leaf in sg.nest.flatten(probe)]
        batched = sg.vmap(fn, in_axes=tuple(in_axes),
                          out_axes=sg.nest.unflatten(probe, out_axes))(*ins)
        singles = [sg.placeholder(sg.float64, tuple(s)) for s in case]
        single = fn(*singles)
        sess = sg.Session()
        got = sg.nest.flatten(sess.run(batched, dict(zip(ins, values))))
        for i in range(size):
            want = sess.run(single, {p: _example(v, a, i) for p, v, a in zip(singles, values, in_axes)})
            for g, w, axis in zip(got, sg.nest.flatten(want), out_axes):
                np.testing.assert_allclose(np.take(g, i, axis=axis), w, rtol=1e-10, atol=1e-12)
