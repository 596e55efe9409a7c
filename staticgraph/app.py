"""TF1's `tf.app`: `run(main)` parses the flags and calls main(argv); `flags` is `staticgraph.flags`."""
from __future__ import annotations

import sys
from typing import Callable, NoReturn

from staticgraph import flags

__all__ = ["flags", "run"]


def run(main: Callable | None = None, argv: list | None = None) -> NoReturn:
    """Parse the command line into `flags.FLAGS`, call `main(argv)` with the arguments no flag
    took (program name first), and exit with what it returns, as TF1's `tf.app.run`.

    Args:
        main: the function to run; the `main` of the `__main__` module when None.
        argv: the command line; `sys.argv` when None.
    """
    argv = flags.FLAGS(sys.argv if argv is None else argv)
    main = main or sys.modules["__main__"].main
    sys.exit(main(argv))
