"""Devices, as far as a numpy backend has them: everything lives on the CPU.

`eager.device("cpu")`, `t.device`, `t.to("cpu")` and `t.cpu()` work; `eager.cuda.is_available()`
is False, so the usual `device = "cuda" if torch.cuda.is_available() else "cpu"` picks the CPU;
moving a tensor to a GPU fails as in a PyTorch built without CUDA.
"""
from __future__ import annotations

import types


class device:
    """A device name: "cpu" (or "cuda", which can be named but not used)."""

    def __init__(self, type: str = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        kind, _, number = str(type).partition(":")
        self.type, self.index = kind, int(number) if number else index

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"


def device_of(name) -> device:
    """The device `name` stands for; an AssertionError, as PyTorch without CUDA, for a GPU."""
    found = device(name)
    if found.type != "cpu":
        raise AssertionError("Torch not compiled with CUDA enabled (staticgraph runs on the CPU "
                             "only)")
    return found


cuda = types.SimpleNamespace(is_available=lambda: False, device_count=lambda: 0,
                             manual_seed=lambda seed: None, manual_seed_all=lambda seed: None)
