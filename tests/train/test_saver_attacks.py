"""Checkpoints under attack: zip bombs, lying headers, object dtypes, other byte orders, awkward
names, truncated and corrupted files. A restore either gives every variable its saved value or
raises the project's error and changes nothing."""
import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy

import staticgraph as sg
from staticgraph.errors import InvalidArgumentError, NotFoundError

W = np.array([1.5, -2.0, 3.25])


def _session(**variables):
    """A fresh graph with these variables (name -> initial value), initialised; its Session."""
    sg.reset_default_graph()
    for name, value in variables.items():
        sg.Variable(value, name=name)
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    return sess


def _npy(array=None, header=None, data=b""):
    """A .npy entry: of `array`, or of a hand-written header dict and raw data."""
    out = io.BytesIO()
    if array is not None:
        npy.write_array(out, array, allow_pickle=False)
    else:
        npy.write_array_header_1_0(out, header)
        out.write(data)
    return out.getvalue()


def _zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _unchanged(sess, **expected):
    for name, value in expected.items():
        np.testing.assert_array_equal(sess.variable_values()[name], value)


def test_awkward_variable_names_round_trip(tmp_path):
    # np.savez(handle, **values) took a variable named `file` as its own argument.
    values = {"file": W, "allow_pickle": np.int64(3), "layer/w": np.eye(2), "args": np.float32(2.5)}
    sess = _session(**values)
    path = sg.train.Saver().save(sess, tmp_path / "ckpt.npz")
    fresh = _session(**{k: np.zeros_like(v) for k, v in values.items()})
    sg.train.Saver().restore(fresh, path)
    _unchanged(fresh, **values)
    with np.load(path, allow_pickle=False) as archive:  # still a plain .npz
        assert sorted(archive.files) == sorted(values)
        np.testing.assert_array_equal(archive["file"], W)


def test_only_the_needed_entries_are_inflated(tmp_path):
    # A small deflated archive with an unused 64 MiB entry: the old restore inflated every entry.
    bomb = _npy(np.zeros(8 << 20))
    path = _zip(tmp_path / "bomb.npz", {"w.npy": _npy(W), "unused.npy": bomb}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    sess = _session(w=np.zeros(3))
    tracemalloc.start()
    try:
        sg.train.Saver().restore(sess, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    _unchanged(sess, w=W)


def test_a_needed_entry_larger_than_its_variable_is_refused_before_inflating(tmp_path):
    path = _zip(tmp_path / "bomb.npz", {"w.npy": _npy(np.zeros(8 << 20))}, zipfile.ZIP_DEFLATED)
    sess = _session(w=np.zeros(3))
    tracemalloc.start()
    try:
        with pytest.raises(InvalidArgumentError, match=r"entry 'w' declares 67108992 bytes; variable "
                                                       r"'w', float64\(3,\), needs 24"):
            sg.train.Saver().restore(sess, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    _unchanged(sess, w=np.zeros(3))


def test_a_header_claiming_terabytes_is_a_clear_error(tmp_path):
    entry = _npy(header={"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)}, data=W.tobytes())
    path = _zip(tmp_path / "huge.npz", {"w.npy": entry})
    sess = _session(w=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match=r"'w' is float64\(3,\) but the checkpoint holds "
                                                   r"float64\(1000000000000,\)"):
        sg.train.Saver().restore(sess, path)
    # A variable with an unknown dim accepts any length, but not one its entry does not hold.
    sg.reset_default_graph()
    sg.Variable(sg.placeholder(sg.float64, (None,), name="p"), name="w")
    with pytest.raises(InvalidArgumentError, match=r"entry 'w' declares 152 bytes but its header, "
                                                   r"<f8\(1000000000000,\), implies 8000000000128"):
        sg.train.Saver().restore(sg.Session(), path)


def test_object_dtype_entries_are_refused(tmp_path):
    entry = _npy(header={"descr": "|O", "fortran_order": False, "shape": (3,)}, data=b"\x80\x04N." * 6)
    path = _zip(tmp_path / "pickle.npz", {"w.npy": entry})
    sess = _session(w=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="object dtype .* never use"):
        sg.train.Saver().restore(sess, path)
    _unchanged(sess, w=np.zeros(3))


def test_big_endian_entries_are_restored_in_native_order(tmp_path):
    path = _zip(tmp_path / "be.npz", {"w.npy": _npy(W.astype(">f8")), "n.npy": _npy(np.array(7, ">i8"))})
    sess = _session(w=np.zeros(3), n=np.int64(0))
    sg.train.Saver().restore(sess, path)
    _unchanged(sess, w=W, n=7)
    assert sess.variable_values()["w"].dtype == np.float64 and sess.variable_values()["w"].dtype.isnative
    path = _zip(tmp_path / "be32.npz", {"w.npy": _npy(W.astype(">f4")), "n.npy": _npy(np.array(7, ">i8"))})
    with pytest.raises(InvalidArgumentError, match=r"'w' is float64 but the checkpoint holds >f4 \(float32\)"):
        sg.train.Saver().restore(sess, path)


def test_fortran_order_entries_are_restored(tmp_path):
    value = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    path = _zip(tmp_path / "f.npz", {"w.npy": _npy(value)})
    sess = _session(w=np.zeros((2, 3)))
    sg.train.Saver().restore(sess, path)
    _unchanged(sess, w=value)


@pytest.mark.parametrize("entries, error, match", [
    ({"v.npy": _npy(W)}, NotFoundError, r"no value for variable 'w' \(it has \['n', 'v'\]\)"),
    ({"w.npy": _npy(W[:2])}, InvalidArgumentError, r"float64\(3,\) but the checkpoint holds float64\(2,\)"),
    ({"w.npy": _npy(W.reshape(3, 1))}, InvalidArgumentError, r"holds float64\(3, 1\)"),
    ({"w.npy": _npy(W.astype(np.int32))}, InvalidArgumentError, "holds <i4 \\(int32\\)"),
    ({"w.npy": b"\x93NUMPY\x09\x00" + b"x" * 40}, InvalidArgumentError, "cannot read checkpoint"),
    ({"w.npy": _npy(header={"descr": "<f8", "fortran_order": False, "shape": (3,)}, data=W.tobytes()[:20])},
     InvalidArgumentError, "declares 148 bytes but its header"),
], ids=["missing", "short", "rank", "dtype", "bad header", "short data"])
def test_wrong_entries_are_refused_and_change_nothing(tmp_path, entries, error, match):
    path = _zip(tmp_path / "ckpt.npz", {"n.npy": _npy(np.array(9)), **entries})
    sess = _session(n=np.int64(1), w=np.zeros(3))
    with pytest.raises(error, match=match):
        sg.train.Saver().restore(sess, path)
    _unchanged(sess, n=1, w=np.zeros(3))  # n's entry was fine, and still not restored alone


def test_duplicate_entries_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _zip(path, {"w.npy": _npy(W)})
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("w.npy", _npy(np.zeros(3)))
    with pytest.raises(InvalidArgumentError, match="entry 'w.npy' appears twice"):
        sg.train.Saver().restore(_session(w=np.ones(3)), path)


def _saved(tmp_path):
    sess = _session(w=W, n=np.int64(7))
    return sg.train.Saver().save(sess, tmp_path / "ckpt.npz")


def test_truncated_checkpoints_are_refused(tmp_path):
    data = open(_saved(tmp_path), "rb").read()
    sess = _session(w=np.zeros(3), n=np.int64(0))
    for cut in range(0, len(data), 7):
        path = tmp_path / "cut.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(InvalidArgumentError, match="cannot read checkpoint"):
            sg.train.Saver().restore(sess, path)
        _unchanged(sess, w=np.zeros(3), n=0)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_corrupted_checkpoints_restore_exactly_or_change_nothing(tmp_path_factory, data):
    tmp_path = tmp_path_factory.mktemp("ckpt")
    blob = bytearray(open(_saved(tmp_path), "rb").read())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    path = tmp_path / "bad.npz"
    path.write_bytes(bytes(blob))
    sess = _session(w=np.zeros(3), n=np.int64(0))
    try:
        sg.train.Saver().restore(sess, path)
    except (InvalidArgumentError, NotFoundError):
        _unchanged(sess, w=np.zeros(3), n=0)
    else:  # the flips hit bytes no reader needs (a timestamp, a comment): the saved values
        _unchanged(sess, w=W, n=7)
