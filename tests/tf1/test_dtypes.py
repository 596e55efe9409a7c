"""TF1's dtype rules: Python numbers default to float32 / int32, numpy values keep their dtype,
a Python scalar beside a tensor takes its dtype, TF1's dtype names, small ints and strings."""
import numpy as np
import pytest

import staticgraph as sg
from staticgraph import eager, errors


@pytest.fixture(autouse=True)
def _fresh_graph():
    sg.reset_default_graph()


def _run(t, feed=None):
    return sg.Session().run(t, feed)


def test_python_floats_are_float32_and_ints_int32():
    cases = {1.5: "float32", 3: "int32", True: "bool", -(2 ** 31): "int32", 2 ** 31 - 1: "int32"}
    for value, name in cases.items():
        c = sg.constant(value)
        assert c.dtype.name == name, value
        assert _run(c) == value and _run(c).dtype == c.dtype
    assert sg.constant([1, 2.5]).dtype == sg.float32
    assert sg.constant([[1, 2], [3, 4]]).dtype == sg.int32
    assert sg.Variable(0.5).dtype == sg.float32
    assert sg.zeros((2,)).dtype == sg.float32 and sg.ones((2,)).dtype == sg.float32


def test_a_python_int_beyond_int32_is_int64_and_never_wrapped():
    c = sg.constant([1, 2 ** 40])
    assert c.dtype == sg.int64 and list(_run(c)) == [1, 2 ** 40]
    with pytest.raises(errors.InvalidArgumentError, match="out of range for int32"):
        sg.constant(2 ** 40, dtype=sg.int32)
    with pytest.raises(errors.InvalidArgumentError, match="out of range for uint8"):
        sg.constant([1, 300], dtype="uint8")


def test_numpy_values_keep_their_dtype():
    for value in (np.arange(3.0), np.float64(1.5), np.arange(3), np.int64(7), np.float32(2.5),
                  np.arange(3, dtype=np.uint8), np.ones(2, np.float16)):
        c = sg.constant(value)
        assert c.dtype == value.dtype
        np.testing.assert_array_equal(_run(c), value)


def test_a_python_scalar_beside_a_tensor_takes_its_dtype():
    x64 = sg.constant(1.5, dtype=sg.float64)
    assert (x64 * 2.0).dtype == sg.float64 and _run(x64 * 2.0) == 3.0
    assert (2 + sg.constant(3, dtype=sg.int8)).dtype == sg.int8
    x32 = sg.placeholder(sg.float32, (2,))
    y = x32 * 3 + 0.25  # an int into a float tensor, as TF1
    assert y.dtype == sg.float32
    np.testing.assert_allclose(_run(y, {x32: [1.0, 2.0]}), [3.25, 6.25])
    i64 = sg.placeholder(sg.int64, ())
    assert (i64 + 2 ** 40).dtype == sg.int64 and _run(i64 + 2 ** 40, {i64: 1}) == 2 ** 40 + 1


def test_a_python_scalar_takes_the_dtype_of_the_tensor_it_can_join():
    x = sg.placeholder(sg.float64, (3,))
    y = sg.where(x > 1.0, x, 0.0)  # the bool condition comes first; 0.0 joins x, as in TF1
    assert y.dtype == sg.float64
    np.testing.assert_array_equal(_run(y, {x: [0.5, 2.0, 3.0]}), [0.0, 2.0, 3.0])


def test_a_python_float_beside_an_int_tensor_is_an_error():
    with pytest.raises(errors.ShapeError, match="dtypes differ: int32 vs float32"):
        sg.constant(3) + 2.0
    with pytest.raises(errors.InvalidArgumentError,
                       match="cannot convert 1.5 of type float to int32"):
        sg.constant(1.5, dtype=sg.int32)


def test_float32_with_float64_is_an_error_naming_both():
    with pytest.raises(errors.ShapeError, match="float32 vs float64"):
        sg.constant(1.0) + sg.constant(1.0, dtype=sg.float64)


def test_tf1_dtype_names_and_numpy_dtypes_wherever_a_dtype_is_taken():
    names = {"float": "float32", "float32": "float32", "double": "float64", "float64": "float64",
             "half": "float16", "float16": "float16", "int8": "int8", "int16": "int16",
             "int32": "int32", "int64": "int64", "uint8": "uint8", "bool": "bool"}
    for name, want in names.items():
        assert sg.as_dtype(name).name == want
        assert sg.placeholder(name, (2,)).dtype.name == want
    assert sg.as_dtype("string") == sg.string
    assert (sg.double, sg.half, sg.bool) == (sg.float64, sg.float16, sg.bool_)
    assert sg.as_dtype(np.float64) == sg.float64 and sg.as_dtype(np.dtype("int16")) == sg.int16
    assert sg.constant(1, dtype="double").dtype == sg.float64
    assert sg.cast(sg.constant(1.5), "int32").dtype == sg.int32
    assert sg.zeros((2,), dtype=np.int8).dtype == sg.int8
    with pytest.raises(errors.InvalidArgumentError, match="unsupported dtype complex128"):
        sg.as_dtype("complex128")


def test_small_integer_and_half_dtypes_compute():
    a = sg.placeholder(sg.uint8, (3,))
    b = sg.constant([1, 2, 3], dtype=sg.int16)
    h = sg.constant([0.5, 1.5], dtype="half")
    out = _run([a * 2, b - 5, sg.cast(a, sg.int8), sg.sum(h * 2.0)], {a: np.uint8([1, 2, 3])})
    assert [o.dtype.name for o in out] == ["uint8", "int16", "int8", "float16"]
    np.testing.assert_array_equal(out[0], [2, 4, 6])
    np.testing.assert_array_equal(out[1], [-4, -3, -2])
    assert out[3] == 4.0


def test_a_half_tensor_has_gradients():
    x = sg.placeholder(sg.float16, (2,))
    (g,) = sg.gradients(sg.sum(x * x), [x])
    assert g.dtype == sg.float16
    np.testing.assert_array_equal(_run(g, {x: [1.0, -2.0]}), np.float16([2.0, -4.0]))


def test_string_constants_fetch_as_bytes():
    hello = sg.constant("Hello, TensorFlow!")
    assert hello.dtype == sg.string and hello.shape == ()
    value = _run(hello)
    assert isinstance(value, bytes) and value == b"Hello, TensorFlow!"
    assert str(value) == "b'Hello, TensorFlow!'"  # what TF1's hello world prints
    words = sg.identity(sg.constant([["ab", b"c"], ["d\u00e9", "e"]]))
    assert words.shape == (2, 2) and words.dtype == sg.string
    assert _run(words).tolist() == [[b"ab", b"c"], ["d\u00e9".encode(), b"e"]]
    assert _run(sg.constant(np.array(["x", "yy"]))).tolist() == [b"x", b"yy"]


def test_strings_are_not_computed_with():
    hello = sg.constant("Hello")
    with pytest.raises(errors.InvalidArgumentError, match="add: string tensors"):
        hello + hello
    with pytest.raises(errors.InvalidArgumentError, match="multiply: string tensors"):
        sg.constant(2.0) * "a"
    with pytest.raises(errors.InvalidArgumentError, match="cannot make a string tensor of 1"):
        sg.constant(1, dtype=sg.string)
    with pytest.raises(errors.InvalidArgumentError, match="cannot make a float32 tensor of 'a'"):
        sg.constant("a", dtype="float")


def test_a_value_assigned_to_a_variable_takes_its_dtype():
    w = sg.Variable(np.array([1.0, 2.0]))
    n = sg.Variable(np.int64(7))
    step = sg.group(w.assign_sub([0.5, 0.5]), n.assign_add(2))
    sess = sg.Session()
    sess.run(sg.global_variables_initializer())
    sess.run(step)
    assert sess.run(w).dtype == np.float64 and sess.run(w).tolist() == [0.5, 1.5]
    assert sess.run(n) == 9 and sess.run(n).dtype == np.int64
    with pytest.raises(errors.InvalidArgumentError,
                       match="assign: cannot convert 0.5 of type float"):
        n.assign(0.5)


def test_eager_keeps_pytorch_defaults():
    assert eager.tensor([1, 2]).dtype == sg.int64
    assert eager.tensor(1.5).dtype == sg.float32
    assert eager.tensor(np.arange(2.0)).dtype == sg.float64
    assert (eager.tensor([1, 2]) * 0.5).dtype == sg.float32
    assert eager.tensor(np.ones(2, np.int8)).dtype == sg.int8


def test_constant_takes_tf1_shape_and_verify_shape():
    filled = sg.constant(0.1, shape=[2, 3])
    assert filled.shape == (2, 3) and filled.dtype == sg.float32
    np.testing.assert_array_equal(_run(filled), np.full((2, 3), 0.1, np.float32))
    np.testing.assert_array_equal(_run(sg.constant([1, 2, 3, 4, 5, 6], sg.int64, [2, 3])),
                                  [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(_run(sg.constant([1, 2], shape=(2, 2))), [[1, 2], [2, 2]])
    with pytest.raises(errors.InvalidArgumentError, match=r"shape \(2,\) holds 2 elements, the "
                                                           r"value has 3"):
        sg.constant([1, 2, 3], shape=[2])
    with pytest.raises(errors.InvalidArgumentError, match=r"expected a value of shape \(2, 1\)"):
        sg.constant([1, 2], shape=[2, 1], verify_shape=True)
