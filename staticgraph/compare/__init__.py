"""Explicit vs implicit side by side: the same workloads in the static and the eager style.

`compare(workload)` runs one workload in both styles and measures it (values, times, nodes per
step, memory, graph sizes); `write_reports` writes report.md and report.html; the command
`staticgraph compare` (or `tools/compare_styles.py`) does both for every workload in `WORKLOADS`.
"""
from staticgraph.compare.measure import (ATOL, RTOL, Comparison, StyleRun, StylesDisagree,
                                         check_agreement, compare)
from staticgraph.compare.mlp import WORKLOAD as MLP_WORKLOAD
from staticgraph.compare.notes import WORKLOADS as NOTES_WORKLOADS
from staticgraph.compare.report import write_reports
from staticgraph.compare.workload import EagerProgram, EagerStep, StaticProgram, Workload

WORKLOADS = NOTES_WORKLOADS + (MLP_WORKLOAD,)

__all__ = ["ATOL", "RTOL", "Comparison", "EagerProgram", "EagerStep", "StaticProgram", "StyleRun",
           "StylesDisagree", "WORKLOADS", "Workload", "check_agreement", "compare",
           "write_reports"]
