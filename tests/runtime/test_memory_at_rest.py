"""A variable's initial value is not held in memory beside the variable's value."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.ops.create import SPILL_BYTES


def held_after(build) -> tuple[int, object]:
    """Bytes Python's allocators hold after `build()` beyond before it, and what it returned."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


def test_an_initialised_variable_holds_its_value_once():
    value = np.random.default_rng(0).standard_normal((512, 512))  # 2 MiB

    def build():
        graph = sg.Graph()
        with graph.as_default():
            w = sg.Variable(value, name="w")
            sess = sg.Session(graph=graph)
            sess.run(sg.global_variables_initializer())
        return graph, w, sess

    held, (graph, w, sess) = held_after(build)
    assert value.nbytes <= held < 1.5 * value.nbytes, held / value.nbytes
    np.testing.assert_array_equal(sess.run(w), value)


def test_initialising_again_restores_the_initial_value_after_updates():
    value = np.arange(SPILL_BYTES // 8 + 5, dtype=np.float64)
    w = sg.Variable(value, name="w")
    step = w.assign_add(np.ones_like(value))
    sess = sg.Session()
    sess.run(w.initializer)
    sess.run(step)
    np.testing.assert_array_equal(sess.run(w), value + 1)
    sess.run(w.initializer)
    np.testing.assert_array_equal(sess.run(w), value)
    fetched = sess.run(w.initial_value)
    fetched[0] = 7.0  # a fetched value is the caller's: the kept one does not change
    np.testing.assert_array_equal(sess.run(w.initial_value), value)
    kept = sg.get_default_graph().node("w/initial_value")["attrs"]["value"]
    with pytest.raises(ValueError):
        kept[0] = 7.0  # the kept initial value is read-only


def test_small_values_stay_in_memory_and_every_kind_round_trips(tmp_path):
    small = sg.Variable(np.ones(3, np.float32), name="small")
    big_int = sg.Variable(np.arange(SPILL_BYTES // 4, dtype=np.int32), name="big_int")
    assert sg.get_default_graph().node("small/initial_value")["attrs"]["value"].base is None
    path = tmp_path / "g.json"
    sg.save_graph(sg.get_default_graph(), path)
    loaded = sg.load_graph(path)
    with loaded.as_default():
        sess = sg.Session(graph=loaded)
        sess.run(sg.global_variables_initializer())
        got = sess.run(loaded.tensor("big_int"))
    np.testing.assert_array_equal(got, np.arange(SPILL_BYTES // 4, dtype=np.int32))
    assert small.dtype == sg.float32 and big_int.dtype == sg.int32


def resident_file_bytes() -> int:
    """This process's resident pages mapped from files (RssFile of /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssFile line")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc")
def test_initialising_gives_back_the_pages_of_the_initial_value():
    """The initial value is kept in a file; reading it to initialise brings its pages into the
    process, and the assign that copied it gives them back, so the process's resident memory
    holds the value once (the variable's), not twice."""
    value = np.random.default_rng(1).standard_normal((2048, 2048))  # 32 MiB
    graph = sg.Graph()
    with graph.as_default():
        w = sg.Variable(value, name="w")
        sess = sg.Session(graph=graph)
        kept = graph.node("w/initial_value")["attrs"]["value"]
        before = resident_file_bytes()
        assert int(kept.sum() != 0) == 1  # reading the kept value maps its pages
        assert resident_file_bytes() - before > value.nbytes // 2
        sess.run(w.initializer)
        assert resident_file_bytes() - before < value.nbytes // 4
        np.testing.assert_array_equal(sess.run(w), value)
        sess.run(w.assign(w * 2.0))
        sess.run(w.initializer)  # initialising again reads the pages back from the file
        np.testing.assert_array_equal(sess.run(w), value)
        assert resident_file_bytes() - before < value.nbytes // 4
