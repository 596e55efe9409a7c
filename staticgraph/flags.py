"""TF1's `tf.app.flags` (also `tf.flags`): command-line flags on argparse.

`DEFINE_string / DEFINE_integer / DEFINE_float / DEFINE_boolean (DEFINE_bool)` declare flags of
the one `FLAGS` object; its attributes read their values. As TF1, the command line is parsed the
first time a value is read (or by `tf.app.run`), flags it does not know are left in the argument
list for the program, and booleans accept `--name`, `--noname` and `--name=true|false`.

Example:
    >>> from staticgraph import flags
    >>> flags.DEFINE_integer("example_steps", 10, "How many steps.")
    >>> flags.FLAGS(["prog", "--example_steps=3", "extra"])
    ['prog', 'extra']
    >>> flags.FLAGS.example_steps
    3
"""
from __future__ import annotations

import argparse
import sys

from staticgraph.errors import InvalidArgumentError

_TRUE, _FALSE = {"true", "t", "1", "yes", "y"}, {"false", "f", "0", "no", "n"}


def _boolean(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


class FlagValues:
    """The flags a program defines and their values (TF1's `FLAGS`)."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parser", argparse.ArgumentParser(add_help=False,
                                                                    allow_abbrev=False))
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, name: str, default, help: str, kind, **options) -> None:
        if name in self._values:
            raise InvalidArgumentError(f"flag --{name} is defined twice")
        self._parser.add_argument(f"--{name}", dest=name, type=kind, default=default,
                                  help=help, **options)
        self._values[name] = default

    def __call__(self, argv: list) -> list:
        """Parse `argv` (program name first); return the program name and the arguments left."""
        known, rest = self._parser.parse_known_args(list(argv[1:]))
        self._values.update(vars(known))
        object.__setattr__(self, "_parsed", True)
        return list(argv[:1]) + rest

    def __getattr__(self, name: str):
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError(f"no flag --{name} is defined")
        if not self._parsed:
            self(sys.argv)
        return self._values[name]

    def __setattr__(self, name: str, value) -> None:
        if name not in self._values:
            raise AttributeError(f"no flag --{name} is defined")
        self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def flag_values_dict(self) -> dict:
        """Every flag's value by name."""
        if not self._parsed:
            self(sys.argv)
        return dict(self._values)


FLAGS = FlagValues()


def DEFINE_string(name: str, default, help: str = "") -> None:  # noqa: N802 (TF1's names)
    """Define the string flag --name."""
    FLAGS._define(name, default, help, str)


def DEFINE_integer(name: str, default, help: str = "") -> None:  # noqa: N802
    """Define the integer flag --name."""
    FLAGS._define(name, default, help, int)


def DEFINE_float(name: str, default, help: str = "") -> None:  # noqa: N802
    """Define the float flag --name."""
    FLAGS._define(name, default, help, float)


def DEFINE_boolean(name: str, default, help: str = "") -> None:  # noqa: N802
    """Define the boolean flag --name (also --noname, --name=false)."""
    FLAGS._define(name, default, help, _boolean, nargs="?", const=True)
    FLAGS._parser.add_argument(f"--no{name}", dest=name, action="store_false")


DEFINE_bool = DEFINE_boolean
