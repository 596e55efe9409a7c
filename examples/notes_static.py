"""The study notes' autodiff examples (§3.1-3.3) in the static, define-then-run style.

Builds one graph (placeholders, ops, and the gradient nodes `sg.gradients` adds), runs it once,
prints each result beside its closed form and draws the graph to out/notes.dot (and .svg).
Run: python examples/notes_static.py [OUT_DIR]
"""
import sys

from staticgraph.demos import notes

if __name__ == "__main__":
    results = notes.main(sys.argv[1] if len(sys.argv) > 1 else "out")
    sys.exit(0 if all(check.match for check in results.values()) else 1)
