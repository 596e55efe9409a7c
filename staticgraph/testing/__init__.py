"""Helpers for checking gradients and graphs, for the project's tests and for users' own ops."""
from staticgraph.testing.gradcheck import GradcheckError, check_nodes, gradcheck, numeric_gradient

__all__ = ["GradcheckError", "check_nodes", "gradcheck", "numeric_gradient"]
