"""`eager.nn.init`: in-place initialisers of parameters, run without recording (as PyTorch)."""
from __future__ import annotations

import math

from staticgraph.eager.mode import no_grad


def _fan(tensor) -> tuple[int, int]:
    fan_in = tensor.shape[1] if tensor.ndim > 1 else tensor.shape[0]
    return fan_in, tensor.shape[0]


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    with no_grad():
        return tensor.normal_(mean, std)


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    with no_grad():
        return tensor.uniform_(a, b)


def constant_(tensor, val: float):
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0):
    fan_in, fan_out = _fan(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    fan_in, fan_out = _fan(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
