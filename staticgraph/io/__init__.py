"""Getting graphs out of the process: DOT drawings (and their Graphviz renderings)."""
from staticgraph.io.display import graphviz_available
from staticgraph.io.dot import to_dot, write_dot

__all__ = ["graphviz_available", "to_dot", "write_dot"]
