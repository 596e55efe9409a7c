"""Progress bars for long loops in examples and tools: tqdm when it is installed, else nothing."""
from __future__ import annotations

import sys
from typing import Iterable


def progress(items: Iterable, desc: str, unit: str = "it", enabled: bool = True) -> Iterable:
    """`items`, wrapped in a tqdm bar on stderr when tqdm is installed and `enabled`."""
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False)
