"""Kernels for fused regions: generated numpy code, and one numba-compiled loop nest when numba is
installed (the `fast` extra).

A region's kernel starts with its numpy code (`staticgraph.runtime.numpy_kernels`: the members'
own kernels, the unfused results bit for bit). Compiling with numba
(`staticgraph.runtime.numba_kernels`: results to rounding) takes a while (about a second for a
few hundred ops), so a kernel switches to numba at its `NUMBA_AFTER`-th call, or at once when
the compiled code is already cached on disk; the numba source is written only then.
`STATICGRAPH_NUMBA=0` keeps every kernel on numpy; `STATICGRAPH_NUMBA_AFTER=N` sets the number
of calls (1: compile at the first call). Without numba nothing changes but speed.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import threading
import warnings

from staticgraph.ops.fused import Region, set_kernel_builder
from staticgraph.runtime.numba_kernels import (cache_dir, compiled, is_cached, numba_entry,
                                               numba_key, numba_source)
from staticgraph.runtime.numpy_kernels import numpy_kernel

__all__ = ["FusedKernel", "NUMBA_AFTER", "cache_dir", "numba_wanted"]

NUMBA_AFTER = 16   # calls on the numpy kernel before compiling with numba (unless cached)


def numba_wanted() -> bool:
    """True when numba is installed and not turned off (STATICGRAPH_NUMBA=0)."""
    if os.environ.get("STATICGRAPH_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return importlib.util.find_spec("numba") is not None


class FusedKernel:
    """A region's kernel: `kernel(*inputs, out=None)`; `source` is the code that runs now."""

    def __init__(self, region: Region) -> None:
        self.region = region
        reads = region.reads()
        self.numpy_source, self._numpy_run, self._member_at = numpy_kernel(region, reads)
        self.run = self._numpy_run  # what a call runs: the numpy code, or numba's entry
        self.source = self.numpy_source
        self.dispatcher = None
        self._lock = threading.Lock()
        self.countdown = 0
        self.key = None  # the numba code's digest (see `numba_key`), when numba is wanted
        if numba_wanted():
            self.key = numba_key(region, reads)
            after = int(os.environ.get("STATICGRAPH_NUMBA_AFTER", NUMBA_AFTER))
            self.countdown = 1 if after <= 1 or is_cached(self.key) else after
            self.run = self._counting

    @functools.cached_property
    def numba_source(self) -> str | None:
        """The numba kernel's source (None when numba is not wanted), written when asked."""
        return None if self.key is None else numba_source(self.region)

    def __call__(self, *inputs, out=None):
        return self.run(*inputs, out=out)

    def _counting(self, *inputs, out=None):
        """The numpy code, counting calls: the countdown's last runs (and switches to) numba."""
        self.countdown -= 1
        if self.countdown > 0:
            return self._numpy_run(*inputs, out=out)
        self._switch()
        return self.run(*inputs, out=out)

    def _switch(self) -> None:
        """Compile (or load) the numba kernel and run it from now on."""
        with self._lock:
            if self.run != self._counting:  # switched, or numba refused: done once
                return
            self.countdown = 0
            try:
                self.dispatcher = compiled(self.key, self.numba_source)
                run = numba_entry(self.region, self.dispatcher, self._numpy_run)
            except Exception as exc:  # numba refused the code: numpy's stays, which is correct
                warnings.warn(f"staticgraph: numba could not compile a fused kernel "
                              f"({type(exc).__name__}: {exc}); it runs as numpy code",
                              RuntimeWarning, stacklevel=3)
                self.run = self._numpy_run
                return
            self.run, self.source = run, self.numba_source

    def located(self, exc: Exception) -> Exception:
        """`exc` naming the member whose kernel raised it in the numpy code (its op and the
        line that created it), as the failure of an unfused node names it; else `exc`."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code is not self._numpy_run.__code__:
            tb = tb.tb_next
        name = self._member_at.get(tb.tb_lineno) if tb is not None else None
        if name is None:
            return exc
        node = self.region.graph.nx.nodes[name]
        try:
            return type(exc)(f"{exc} (in member {name!r}, {node['op']} created at "
                             f"{node['source']})")
        except Exception:  # an exception type taking other arguments: left as it is
            return exc

    def compile_now(self) -> "FusedKernel":
        """Switch to the numba kernel at once (when numba is wanted)."""
        if self.key is not None:
            self.countdown = 0
            self._switch()
        return self


set_kernel_builder(FusedKernel)
