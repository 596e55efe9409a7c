"""Runnable demos (`staticgraph demo`): the study notes' examples, built and run in the static style."""
