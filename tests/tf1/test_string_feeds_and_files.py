"""Strings (TF1's tf.string) are fed and saved in graph files; ints go into unsigned placeholders,
range-checked."""
import json

import numpy as np
import pytest

import staticgraph as tf


def test_strings_are_fed_as_bytes_and_other_values_are_refused():
    s = tf.placeholder(tf.string, (None,), name="s")
    y = tf.identity(s)
    with tf.Session() as sess:
        assert sess.run(y, {s: ["ab", b"cde"]}).tolist() == [b"ab", b"cde"]
        assert sess.run(y, {s: ["é"]}).tolist() == ["é".encode()]
        with pytest.raises(tf.errors.InvalidArgumentError, match="'s'.*string tensor"):
            sess.run(y, {s: [1, 2]})


def test_int_lists_feed_unsigned_placeholders_within_their_range():
    u = tf.placeholder(tf.uint8, (3,), name="u")
    with tf.Session() as sess:
        assert sess.run(u + 1, {u: [1, 2, 250]}).tolist() == [2, 3, 251]
        for bad in ([1, 2, 256], [-1, 0, 0]):
            with pytest.raises(tf.errors.InvalidArgumentError, match="out of uint8's range"):
                sess.run(u, {u: bad})


def test_string_constants_and_placeholders_round_trip_through_a_graph_file(tmp_path):
    g = tf.Graph()
    with g.as_default():
        tf.constant("Hello, TensorFlow!", name="hello")
        tf.constant(["a", "bcd"], name="pair")
        tf.identity(tf.placeholder(tf.string, (None,), name="s"), name="y")
    path = tmp_path / "g.json"
    tf.save_graph(g, path)
    h = tf.load_graph(path)
    with tf.Session(graph=h) as sess:
        assert sess.run("hello") == b"Hello, TensorFlow!"
        assert sess.run("pair").tolist() == [b"a", b"bcd"]
        assert sess.run("y", {"s": ["xy"]}).tolist() == [b"xy"]


@pytest.mark.parametrize("bad", ["string:0", "string:x", "string:99999999", "bytes40", "object"])
def test_a_file_with_a_bad_string_dtype_is_refused(tmp_path, bad):
    g = tf.Graph()
    with g.as_default():
        tf.constant(["a", "bcd"], name="pair")
    path = tmp_path / "g.json"
    tf.save_graph(g, path)
    data = json.loads(path.read_text())
    data["nodes"][0]["attrs"]["value"]["__ndarray__"]["dtype"] = bad
    path.write_text(json.dumps(data))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.load_graph(path)
