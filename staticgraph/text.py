"""Small helpers for the text staticgraph prints: counts that read as English."""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for one: "1 step", "3 steps", "2 fetches".

    Example:
        >>> counted(1, "step"), counted(3, "step"), counted(2, "fetch", "fetches")
        ('1 step', '3 steps', '2 fetches')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
