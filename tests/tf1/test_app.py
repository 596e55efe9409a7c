"""tf.app.run, tf.app.flags, ConfigProto / GPUOptions and device scopes: accepted as TF1's."""
import numpy as np
import pytest

import staticgraph as tf
from staticgraph.flags import FlagValues


@pytest.fixture
def flags(monkeypatch):
    """A fresh FLAGS, so that tests define their flags once each."""
    fresh = FlagValues()
    monkeypatch.setattr(tf.flags, "FLAGS", fresh)
    return tf.app.flags


def test_flags_parse_with_defaults_bools_and_unknown_arguments_left(flags):
    flags.DEFINE_string("data_dir", "/tmp/data", "Where the data is.")
    flags.DEFINE_integer("max_steps", 100, "Steps.")
    flags.DEFINE_float("learning_rate", 0.01, "Rate.")
    flags.DEFINE_boolean("fake_data", False, "Use fake data.")
    flags.DEFINE_bool("verbose", True, "Talk.")
    rest = flags.FLAGS(["prog", "--max_steps=7", "--learning_rate", "0.5", "--fake_data",
                        "--noverbose", "--other=1", "file.txt"])
    assert rest == ["prog", "--other=1", "file.txt"]
    f = flags.FLAGS
    assert (f.data_dir, f.max_steps, f.learning_rate, f.fake_data, f.verbose) == \
        ("/tmp/data", 7, 0.5, True, False)
    flags.FLAGS(["prog", "--fake_data=false", "--verbose=true"])
    assert (f.fake_data, f.verbose) == (False, True)
    f.max_steps = 3
    assert f.flag_values_dict()["max_steps"] == 3
    with pytest.raises(AttributeError, match="no flag --missing"):
        f.missing
    with pytest.raises(tf.errors.InvalidArgumentError, match="--max_steps is defined twice"):
        flags.DEFINE_integer("max_steps", 1, "")


def test_flags_are_parsed_from_sys_argv_on_first_read(flags, monkeypatch):
    monkeypatch.setattr("sys.argv", ["prog", "--batch_size=32"])
    flags.DEFINE_integer("batch_size", 128, "")
    assert flags.FLAGS.batch_size == 32


def test_app_run_parses_flags_and_calls_main_with_the_rest(flags, monkeypatch):
    flags.DEFINE_integer("epochs", 1, "")
    seen = {}

    def main(argv):
        seen["argv"], seen["epochs"] = argv, flags.FLAGS.epochs
        return 0

    with pytest.raises(SystemExit) as info:
        tf.app.run(main=main, argv=["prog", "--epochs=4", "extra"])
    assert info.value.code == 0 and seen == {"argv": ["prog", "extra"], "epochs": 4}
    monkeypatch.setattr("sys.argv", ["prog"])
    monkeypatch.setattr("__main__.main", lambda argv: 3, raising=False)
    with pytest.raises(SystemExit) as info:
        tf.app.run()
    assert info.value.code == 3


def test_session_accepts_a_configproto_and_device_scopes_place_nothing():
    config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=False,
                            gpu_options=tf.GPUOptions(per_process_gpu_memory_fraction=0.5))
    config.gpu_options.allow_growth = True
    assert config.allow_soft_placement and config.gpu_options.allow_growth
    with tf.device("/gpu:0"):
        x = tf.constant(np.array([1.0, 2.0])) * 3.0
    with tf.device(None), tf.Session(config=config) as sess:
        np.testing.assert_array_equal(sess.run(x), [3.0, 6.0])


def test_docstring_examples(flags):
    import doctest

    from staticgraph import config, nn
    from staticgraph import flags as flags_module
    from staticgraph.ops import random, reduce
    for module in (config, nn, flags_module, random, reduce):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
