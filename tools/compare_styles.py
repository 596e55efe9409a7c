"""Explicit vs implicit side by side: every comparison workload in both styles, with a report.

Runs the notes' §3.1-3.4 examples, the linear-regression loss and an MLP in the static and the
eager style, prints the agreement, time, and graph-and-memory tables, and writes report.md and a
self-contained report.html (graphs side by side, plots) into --out. See `staticgraph.compare`.

Run: python tools/compare_styles.py [--quick] [--out DIR] [--only KEYS]
     (also: staticgraph compare)
"""
import sys

from staticgraph.compare.command import main

if __name__ == "__main__":
    sys.exit(main())
