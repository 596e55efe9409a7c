"""TF1's session options and device scopes, accepted so programs run, and ignored.

`ConfigProto` and `GPUOptions` take TF1's fields (as keywords or set as attributes) and mean
nothing here: staticgraph runs on the CPU with numpy. A `ConfigProto` is an empty mapping, so
`Session(config=ConfigProto(...))` sees no staticgraph option. `device(...)` is a scope that
places nothing.
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping

__all__ = ["ConfigProto", "GPUOptions", "GraphOptions", "OptimizerOptions", "RunOptions",
           "device"]


class _Options:
    """A bag of TF1 option fields: any keyword is kept as an attribute, unread."""

    def __init__(self, **fields) -> None:
        for name, value in fields.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class GPUOptions(_Options):
    """TF1's `tf.GPUOptions` (allow_growth, per_process_gpu_memory_fraction, ...): ignored."""


class GraphOptions(_Options):
    """TF1's `tf.GraphOptions`: ignored."""


class OptimizerOptions(_Options):
    """TF1's `tf.OptimizerOptions`: ignored."""


class RunOptions(_Options):
    """TF1's `tf.RunOptions`: ignored."""


class ConfigProto(_Options, Mapping):
    """TF1's `tf.ConfigProto` (gpu_options, allow_soft_placement, log_device_placement,
    device_count, ...): accepted and ignored.

    Example:
        >>> import staticgraph as sg
        >>> config = sg.ConfigProto(allow_soft_placement=True)
        >>> config.gpu_options.allow_growth = True
        >>> sess = sg.Session(config=config)
    """

    def __init__(self, **fields) -> None:
        fields.setdefault("gpu_options", GPUOptions())
        fields.setdefault("graph_options", GraphOptions())
        super().__init__(**fields)

    # An empty mapping: none of these fields is a staticgraph Session option.
    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


def device(device_name_or_function) -> contextlib.AbstractContextManager:
    """TF1's `tf.device(...)` scope: accepted, and places nothing (everything runs on the CPU)."""
    return contextlib.nullcontext()
