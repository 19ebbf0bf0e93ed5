"""Timing helper shared by the bench scripts (run as `python bench/<name>.py`, so this folder is
on the import path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeats: int = 3, warmup: bool = False) -> tuple[float, T]:
    """(best wall seconds, last result) of `repeats` calls of `fn`, after one untimed call when
    `warmup`."""
    out = fn() if warmup else None
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out
