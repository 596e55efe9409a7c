"""Pictures inline in Jupyter: Graphviz renders SVG; without Graphviz, a text listing and a hint.

Rendering happens only when a notebook (or IPython) asks an object for its display, never at
import; a missing `dot` program is never an error here, only a line in the text shown instead.
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Callable

from staticgraph.errors import FailedPreconditionError

SVG = "image/svg+xml"
TEXT = "text/plain"
MAX_TEXT_LINES = 60  # a longer listing is cut, saying how many lines were left out
INSTALL_HINT = ("Graphviz's `dot` program is not on PATH, so only .dot files can be written. "
                "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
                "(macOS) or `conda install -c conda-forge graphviz`, or write a .dot file instead.")
INLINE_HINT = ("(no picture: Graphviz's `dot` program is not on PATH; install it with "
               "`apt-get install graphviz`, `brew install graphviz` or "
               "`conda install -c conda-forge graphviz` to see this graph drawn)")


def graphviz_available() -> bool:
    """True when Graphviz's `dot` program is on PATH (needed for .svg / .png / .pdf output)."""
    return shutil.which("dot") is not None


def render(source: str, image_format: str) -> bytes:
    """Run Graphviz's `dot -T<image_format>` on DOT `source`; return the image bytes.

    Raises:
        FailedPreconditionError: `dot` is not installed (the message says how to install it),
            or it failed.
    """
    program = shutil.which("dot")
    if program is None:
        raise FailedPreconditionError(INSTALL_HINT)
    result = subprocess.run([program, f"-T{image_format}"], input=source.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise FailedPreconditionError(f"Graphviz's dot failed (exit {result.returncode}): "
                                      f"{result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def mimebundle(dot_source: Callable[[], str], text: Callable[[], str],
               include=None, exclude=None) -> dict[str, str]:
    """The display of a drawing for IPython: SVG when Graphviz is there, and always plain text.

    Args:
        dot_source: gives the DOT text to render (called only when SVG is wanted).
        text: gives the plain-text fallback (a summary line, then a listing).
        include, exclude: the MIME types IPython asks for or refuses.
    Returns:
        {"text/plain": ...} plus {"image/svg+xml": ...} when rendered; without Graphviz the
        text ends with how to install it.
    """
    bundle = {TEXT: shorten(text())}
    wants_svg = (include is None or SVG in include) and not (exclude and SVG in exclude)
    if wants_svg:
        if graphviz_available():
            bundle[SVG] = render(dot_source(), "svg").decode("utf-8")
        else:
            bundle[TEXT] += "\n" + INLINE_HINT
    return bundle


def svg_or_none(dot_source: Callable[[], str]) -> str | None:
    """The SVG of a drawing, or None when Graphviz is missing (IPython then shows the text)."""
    return render(dot_source(), "svg").decode("utf-8") if graphviz_available() else None


def shorten(text: str) -> str:
    """At most MAX_TEXT_LINES lines of `text`, saying how many were left out."""
    lines = text.splitlines()
    if len(lines) <= MAX_TEXT_LINES:
        return text
    kept = lines[:MAX_TEXT_LINES - 1]
    return "\n".join(kept + [f"... {len(lines) - len(kept)} more lines (sg.debugprint shows all)"])
