"""The study notes' autodiff examples (§3.1-3.3) in the static, define-then-run style.

Builds one graph (placeholders, ops, and the gradient nodes `sg.gradients` adds), runs it once,
prints each result beside its closed form and draws the graph to out/notes.dot (and .svg).
Run: python examples/notes_static.py [OUT_DIR]
"""
import argparse
import sys

from staticgraph.demos import notes


def arguments(argv=None) -> argparse.Namespace:
    """The command line: OUT_DIR (default: out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out",
                        help="where to write drawings (default: out)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    results = notes.main(arguments().out_dir)
    sys.exit(0 if all(check.match for check in results.values()) else 1)
