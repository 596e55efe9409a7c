"""The compiler: graph passes (prune, fold, simplify, CSE, DCE), schedule, memory plan, lowering.

Every pass is a pure function graph -> graph; `verify` checks any graph; `PassManager` runs the
optimisation passes in order. `specialize`, `schedule`, `plan_memory` and `lower` turn
the optimised graph into the flat `Program` that `staticgraph.runtime.executor` runs.
"""
from staticgraph.compiler.cse import eliminate_common_subexpressions
from staticgraph.compiler.dce import eliminate_dead_code
from staticgraph.compiler.fold import fold_constants
from staticgraph.compiler.lower import Program, lower
from staticgraph.compiler.memory import MemoryPlan, format_bytes, plan_memory
from staticgraph.compiler.passes import DEFAULT_PASSES, PassManager, PassRecord
from staticgraph.compiler.prune import needed_nodes, prune
from staticgraph.compiler.rewrite import feeds_of, fetches_of, rebuild
from staticgraph.compiler.schedule import schedule
from staticgraph.compiler.simplify import simplify
from staticgraph.compiler.specialize import specialize
from staticgraph.compiler.verify import verify

__all__ = ["DEFAULT_PASSES", "MemoryPlan", "PassManager", "PassRecord", "Program",
           "eliminate_common_subexpressions", "eliminate_dead_code", "feeds_of", "fetches_of",
           "fold_constants", "format_bytes", "lower", "needed_nodes", "plan_memory", "prune",
           "rebuild", "schedule", "simplify", "specialize", "verify"]
