"""Finds the user's `file:line` that is creating a node, for error messages and DOT labels."""
from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# The bundled demos and comparison workloads are user code as far as error messages and
# pictures are concerned.
_USER_DIRS = tuple(os.path.join(_PACKAGE_DIR, name) + os.sep for name in ("demos", "compare"))


def _is_internal(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(_PACKAGE_DIR) and not path.startswith(_USER_DIRS)


def user_source() -> str:
    """Return `file:line` of the innermost caller outside the staticgraph package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_internal(filename):
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return "<staticgraph>"
