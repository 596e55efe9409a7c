"""The compiler: graph passes (prune, fold, simplify, CSE, update fusion, DCE), schedule, memory
plan, lowering.

Every pass is a pure function graph -> graph; `verify` checks any graph; `PassManager` runs the
optimisation passes in order. `specialize`, then `plan_within_budget` (which may `rematerialize`
values, then calls `schedule` and `plan_memory`) and `lower` turn the optimised graph into the
flat `Program` that `staticgraph.runtime.executor` runs.
"""
from staticgraph.compiler.budget import Planned, plan_within_budget
from staticgraph.compiler.cse import eliminate_common_subexpressions
from staticgraph.compiler.dce import eliminate_dead_code
from staticgraph.compiler.fold import fold_constants
from staticgraph.compiler.fuse import fuse_updates
from staticgraph.compiler.fusion import fuse_elementwise
from staticgraph.compiler.lower import Program, lower
from staticgraph.compiler.memory import MemoryPlan, RematSummary, format_bytes, plan_memory
from staticgraph.compiler.passes import DEFAULT_PASSES, LATE_PASSES, PassManager, PassRecord
from staticgraph.compiler.prune import needed_nodes, prune
from staticgraph.compiler.rewrite import feeds_of, fetches_of, rebuild
from staticgraph.compiler.remat import rematerialize, sqrt_checkpoints, stored_values
from staticgraph.compiler.schedule import build_order, schedule
from staticgraph.compiler.simplify import simplify
from staticgraph.compiler.specialize import specialize
from staticgraph.compiler.verify import verify

__all__ = ["DEFAULT_PASSES", "MemoryPlan", "PassManager", "PassRecord", "Planned", "Program",
           "RematSummary", "build_order", "eliminate_common_subexpressions",
           "eliminate_dead_code", "feeds_of", "fetches_of", "fold_constants", "format_bytes",
           "fuse_elementwise", "fuse_updates", "LATE_PASSES",
           "lower", "needed_nodes", "plan_memory", "plan_within_budget", "prune", "rebuild",
           "rematerialize", "schedule", "simplify", "specialize", "sqrt_checkpoints",
           "stored_values", "verify"]
