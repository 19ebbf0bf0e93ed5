"""Answer cache: append-only JSON lines, one file per writer, flushed and fsynced per batch.

A record holds one row's final answer (every attempt's raw text and token counts). Its key
hashes everything that determines the answer (`cache_key`), so changing the prompt, model or
sampling misses exactly the affected rows. A job killed mid-write leaves at most one partial
last line, which readers skip and the next writer terminates before appending.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_key(**fields: Any) -> str:
    """SHA-256 of the fields as canonical JSON."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


class AnswerCache:
    """Reads every `*.jsonl` in `directory`; appends to `directory/<writer>.jsonl` only."""

    def __init__(self, directory: str | os.PathLike, writer: str) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{writer}.jsonl"
        self.records: dict[str, dict] = {}
        self.skipped_lines = 0
        for file in sorted(self.dir.glob("*.jsonl")):
            self._read(file)
        self._fh = None

    def _read(self, file: Path) -> None:
        with open(file, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    rec = json.loads(line)
                    self.records[rec["key"]] = rec
                except (json.JSONDecodeError, KeyError, TypeError):
                    self.skipped_lines += 1
                    log.warning("%s:%d: unreadable cache line skipped (interrupted write?)", file, n)

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def add(self, records: Iterable[dict]) -> None:
        """Append records (each with a "key") and make them durable before returning."""
        if self._fh is None:
            needs_newline = self.path.exists() and self.path.stat().st_size > 0 and \
                self.path.read_bytes()[-1:] != b"\n"
            self._fh = open(self.path, "a", encoding="utf-8")
            if needs_newline:  # terminate a line cut by a kill, so it stays one bad line
                self._fh.write("\n")
        for rec in records:
            self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.records[rec["key"]] = rec
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
