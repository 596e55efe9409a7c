"""`staticgraph tf1-check`: the TF1 names a script uses, and which staticgraph lacks."""
import textwrap

import pytest

from staticgraph.cli import main
from staticgraph.errors import InvalidArgumentError
from staticgraph.tf1_check import check_script

SCRIPT = textwrap.dedent("""\
    import tensorflow as tf
    from tensorflow import train as training
    from tensorflow.contrib import slim
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(tf.zeros([3, 1]))
    loss = tf.no_such_loss(tf.matmul(x, w))
    step = training.GradientDescentOptimizer(0.1).minimize(loss)
    other = tf.no_such_loss(x) + training.NoSuchOptimizer
    """)


def _write(tmp_path, text, name="prog.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_names_are_split_into_found_and_missing_with_their_lines(tmp_path):
    report = check_script(_write(tmp_path, SCRIPT))
    assert report.missing == {"no_such_loss": [6, 8], "train.NoSuchOptimizer": [8],
                              "contrib.slim": [3]}
    assert {"placeholder", "float32", "Variable", "zeros", "matmul", "train",
            "train.GradientDescentOptimizer"} <= set(report.found)
    assert report.found["placeholder"] == [4]


def test_a_script_importing_staticgraph_as_tf_is_checked_the_same_way(tmp_path):
    text = SCRIPT.replace("import tensorflow as tf", "import staticgraph as tf")
    assert "no_such_loss" in check_script(_write(tmp_path, text)).missing


def test_the_command_prints_the_missing_names_and_fails(tmp_path, capsys):
    assert main(["tf1-check", str(_write(tmp_path, SCRIPT))]) == 1
    out = capsys.readouterr().out
    assert "3 missing from staticgraph" in out
    assert "missing  tf.no_such_loss  (line 6, 8)" in out


def test_the_command_succeeds_when_nothing_is_missing(tmp_path, capsys):
    text = "import tensorflow as tf\nx = tf.placeholder(tf.float64, [2])\ny = tf.gradients(x, [x])\n"
    assert main(["tf1-check", str(_write(tmp_path, text))]) == 0
    assert "0 missing" in capsys.readouterr().out


def test_a_script_that_is_not_python_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(InvalidArgumentError, match="cannot read"):
        check_script(_write(tmp_path, "def (:\n"))
    assert main(["tf1-check", str(tmp_path / "absent.py")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_docstring_example():
    import doctest

    import staticgraph.tf1_check as module
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
