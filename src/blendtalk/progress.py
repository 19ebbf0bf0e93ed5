"""Progress of long stages: a line in the log at a steady rate (done / total, rate, ETA) and,
when stderr is a terminal outside CI, a tqdm bar.

    with Progress(total=len(rows), desc="annotate shard 001", unit="rows") as progress:
        for batch in batches:
            ...
            progress.update(len(batch))
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

LOG_EVERY_S = 10.0


def show_bar() -> bool:
    """A bar only for a person watching: stderr is a terminal and CI is not set."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class Progress:
    """Counts work done out of `total` (None when unknown) and reports it.

    A log line (INFO on `logger`) is written at most every `every_s` seconds and once at the end;
    the tqdm bar, when shown, updates on every call.
    """

    def __init__(self, total: int | None, desc: str, unit: str = "rows",
                 logger: logging.Logger | None = None, every_s: float = LOG_EVERY_S,
                 clock=time.monotonic) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.logger = logger or logging.getLogger("blendtalk.progress")
        self.every_s, self.clock = every_s, clock
        self.done = 0
        self.note = ""
        self.start = self.last_log = clock()
        self.bar = None
        if show_bar():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=f" {unit}", leave=False, dynamic_ncols=True)

    def update(self, n: int = 1, note: str | None = None) -> None:
        """Count `n` more done; `note` (e.g. the latest validation loss) ends later lines."""
        self.done += n
        if note is not None:
            self.note = note
        if self.bar is not None:
            if note is not None:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(n)
        now = self.clock()
        if now - self.last_log >= self.every_s:
            self.last_log = now
            self.logger.info("%s", self.line(now))

    def line(self, now: float | None = None, final: bool = False) -> str:
        """`desc: done/total (pct), rate unit/s, ETA s`; the final line gives the elapsed time
        instead of the ETA."""
        elapsed = max((now if now is not None else self.clock()) - self.start, 1e-9)
        rate = self.done / elapsed
        parts = [f"{self.desc}: {self.done}"]
        if self.total:
            parts[0] += f"/{self.total} ({100.0 * self.done / self.total:.0f}%)"
        parts.append(f"{rate:.1f} {self.unit}/s")
        if not final and self.total and rate > 0 and self.done < self.total:
            parts.append(f"ETA {(self.total - self.done) / rate:.0f} s")
        else:
            parts.append(f"{elapsed:.1f} s")
        return ", ".join(parts + [self.note] * bool(self.note))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.logger.info("%s", self.line(final=True))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(items: Iterable[T], total: int | None, desc: str, unit: str = "items",
          logger: logging.Logger | None = None) -> Iterator[T]:
    """Iterate `items`, counting one per item."""
    with Progress(total, desc, unit, logger) as progress:
        for item in items:
            yield item
            progress.update()
