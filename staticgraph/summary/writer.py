"""FileWriter: TF1's writer of TensorBoard event files (summaries and the graph), on
TensorBoard's own EventFileWriter."""
from __future__ import annotations

import os
import time

from staticgraph.errors import InvalidArgumentError
from staticgraph.graph import Graph
from staticgraph.io import tensorboard as T


class FileWriter:
    """Writes TensorBoard event files into `logdir`, as TF1's `tf.summary.FileWriter`:
    `add_summary(sess.run(merged), step)` adds a run's summaries, `add_graph(sess.graph)`
    the graph (given as `graph`, it is written at once). Writes are queued and reach the file
    every `flush_secs`, at `flush()` and at `close()`; after `close()`, events are dropped
    (as TF1) until `reopen()`, which starts a new file in the same directory. `session` is
    accepted and ignored (TF1 uses it only under TF2 behaviour).

    Raises FailedPreconditionError, with the pip command, when tensorboard is not installed.

    Example:
        >>> import tempfile, staticgraph as tf
        >>> x = tf.placeholder(tf.float32, shape=(), name="x")
        >>> s = tf.summary.scalar("x", x)
        >>> with tf.Session() as sess, tf.summary.FileWriter(tempfile.mkdtemp(), sess.graph) as w:
        ...     w.add_summary(sess.run(s, {x: 1.5}), global_step=1)
    """

    def __init__(self, logdir, graph: Graph | None = None, max_queue: int = 10,
                 flush_secs: float = 120, graph_def=None, filename_suffix: str | None = None,
                 session=None) -> None:
        self._tb = T.tensorboard("tf.summary.FileWriter")
        self._logdir = os.fspath(logdir)
        self._options = (max_queue, flush_secs, filename_suffix or "")
        self._writer = self._tb.event_file_writer.EventFileWriter(self._logdir, *self._options)
        self._closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def add_summary(self, summary, global_step: int | None = None) -> None:
        """Add a summary (a summary op's value as `sess.run` returns it, or a Summary proto)
        at step `global_step`."""
        self.add_event(self._tb.event_pb2.Event(summary=T.as_summary(summary)), global_step)

    def add_graph(self, graph: Graph | None, global_step: int | None = None,
                  graph_def=None) -> None:
        """Add `graph` (a staticgraph Graph, e.g. `sess.graph`), or a GraphDef proto given as
        `graph_def`, for TensorBoard's graph tab."""
        if graph is not None and graph_def is not None:
            raise InvalidArgumentError("FileWriter.add_graph: pass only graph, or graph_def, "
                                       "but not both")
        if isinstance(graph, Graph):
            graph_def = T.graph_def(graph)
        elif graph is not None:
            graph_def = graph
        if not isinstance(graph_def, self._tb.graph_pb2.GraphDef):
            raise InvalidArgumentError(f"FileWriter.add_graph: the graph must be an sg.Graph "
                                       f"(or a GraphDef), got {type(graph_def).__name__}")
        self.add_event(self._tb.event_pb2.Event(graph_def=graph_def.SerializeToString()),
                       global_step)

    def add_event(self, event, step: int | None = None) -> None:
        """Add an Event proto (stamped with the time, and `step` when given)."""
        if self._closed:
            return
        if not event.wall_time:
            event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self._writer.add_event(event)

    def flush(self) -> None:
        """Write the queued events to the file now."""
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        """Write the queued events and close the file."""
        if not self._closed:
            self._writer.close()
            self._closed = True

    def reopen(self) -> None:
        """After `close()`: write the next events to a new file in the same directory."""
        if self._closed:
            self._writer = self._tb.event_file_writer.EventFileWriter(self._logdir,
                                                                      *self._options)
            self._closed = False

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self._logdir

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sg.summary.FileWriter {self._logdir!r}{' (closed)' if self._closed else ''}>"
