"""Answer cache: append-only JSON lines, one file per writer, flushed and fsynced per batch.

A record holds one row's final answer (every attempt's raw text and token counts). Its key
hashes everything that determines the answer (`cache_key`), so changing the prompt, model or
sampling misses exactly the affected rows. Lines are written as ASCII JSON (`\\uXXXX` escapes),
so any text round-trips, lone surrogates included, and a line cut anywhere is still one bad
line. A job killed mid-write leaves at most one partial last line, which readers skip (counted
in the log) and the next writer terminates before appending.
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


def is_record(rec: Any) -> bool:
    """A usable cache record: a string key, a number of seconds and at least one attempt, each
    with its raw answer as text, its token counts as whole numbers and its cleaning problems as
    a list of text."""
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
        return False
    attempts, seconds = rec.get("attempts"), rec.get("seconds", 0.0)
    return (isinstance(attempts, list) and bool(attempts) and all(map(_is_attempt, attempts))
            and isinstance(seconds, (int, float)) and not isinstance(seconds, bool))


def _is_attempt(attempt: Any) -> bool:
    """An attempt as `run.clean_attempt` writes it (`raw_problems` is absent in older caches)."""
    noted = attempt.get("raw_problems", []) if isinstance(attempt, dict) else None
    return (isinstance(attempt, dict) and isinstance(attempt.get("raw"), str)
            and all(type(attempt.get(k)) is int for k in ("tokens_in", "tokens_out"))
            and isinstance(noted, list) and all(isinstance(p, str) for p in noted))


def _encode(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=True)


class AnswerCache:
    """Reads every `*.jsonl` in `directory`; appends to `directory/<writer>.jsonl` only.

    `directory=None` keeps the records in memory only (one-off annotations, e.g. the CLI).
    Either way a record reads back exactly as a later run will read it from disk.
    """

    def __init__(self, directory: str | os.PathLike | None, writer: str = "memory") -> None:
        self.records: dict[str, dict] = {}
        self.skipped_lines = 0
        self._fh = None
        self.path: Path | None = None
        if directory is None:
            return
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{writer}.jsonl"
        for file in sorted(self.dir.glob("*.jsonl")):
            self._read(file)

    def _read(self, file: Path) -> None:
        """Load a file's records; lines that are not a whole record are skipped and counted."""
        bad: list[int] = []
        with open(file, "rb") as fh:
            for n, line in enumerate(fh, start=1):
                rec = _decode(line)
                if rec is None:
                    if line.strip():
                        bad.append(n)
                    continue
                self.records[rec["key"]] = rec
        if bad:
            self.skipped_lines += len(bad)
            log.warning("%s: %d unreadable cache line(s) skipped (an interrupted write?), line(s) %s",
                        file, len(bad), ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else ""))

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def add(self, records: Iterable[dict]) -> None:
        """Append records (each with a "key") and make them durable before returning; what is
        kept in memory is the record as read back from its line."""
        lines = [_encode(rec) for rec in records]
        for line in lines:
            rec = json.loads(line)
            self.records[rec["key"]] = rec
        if self.path is None or not lines:
            return
        if self._fh is None:
            needs_newline = self.path.exists() and self.path.stat().st_size > 0 and \
                self.path.read_bytes()[-1:] != b"\n"
            self._fh = open(self.path, "a", encoding="ascii")
            if needs_newline:  # terminate a line cut by a kill, so it stays one bad line
                self._fh.write("\n")
        self._fh.write("".join(line + "\n" for line in lines))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _decode(line: bytes) -> dict | None:
    """The record on one cache line, or None for a line that is not one (cut, corrupted)."""
    try:
        rec = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return rec if is_record(rec) else None
