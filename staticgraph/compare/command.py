"""`staticgraph compare [--out DIR] [--quick] [--only KEYS]`: run every workload in both styles,
print the tables, write report.md and report.html, and fail when the styles disagree.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from staticgraph.compare import WORKLOADS
from staticgraph.compare.measure import Comparison, StylesDisagree, check_agreement, compare
from staticgraph.compare.report import environment, write_reports
from staticgraph.compare.tables import tables, to_text
from staticgraph.progress import progress as progress_bar


def _keys(text: str) -> tuple[str, ...]:
    known = [w.key for w in WORKLOADS]
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(f"unknown workload(s) {unknown}; choose from "
                                         f"{', '.join(known)}")
    return keys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (shared by `staticgraph compare` and tools/compare_styles.py)."""
    parser.add_argument("--out", default="out/compare", metavar="DIR",
                        help="where to write report.md and report.html (default: out/compare)")
    parser.add_argument("--quick", action="store_true",
                        help="a few steps per workload (seconds, for a smoke test)")
    parser.add_argument("--only", type=_keys, metavar="KEYS",
                        help="comma-separated workloads to run (default: all)")


def run_all(quick: bool = False, only: Sequence[str] | None = None,
            progress: bool = False) -> list[Comparison]:
    """Compare every workload (or those whose keys are in `only`), in order."""
    chosen = [w for w in WORKLOADS if only is None or w.key in only]
    return [compare(w, quick) for w in progress_bar(chosen, "workloads", "workload", progress)]


def run(args: argparse.Namespace) -> int:
    """Measure, print, write the reports; exit code 1 when the styles disagree."""
    comparisons = run_all(args.quick, args.only, progress=not args.quick)
    for line in environment(args.quick):
        print(line)
    for table in tables(comparisons):
        print()
        print(to_text(table))
    print()
    for path in write_reports(comparisons, args.out, args.quick):
        print(f"wrote {path}")
    try:
        check_agreement(comparisons)
    except StylesDisagree as exc:
        print(f"staticgraph compare: {exc}", file=sys.stderr)
        return 1
    print("the two styles agree on every workload")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]) and run; return the exit code."""
    parser = argparse.ArgumentParser(prog="compare_styles", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
