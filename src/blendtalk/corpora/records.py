"""Reading delimited text files record by record, with the line each record starts on, so that
every error and every kept row can name its file and line."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


class CorpusFormatError(ValueError):
    """A corpus file does not have the expected format; the message names the file and line."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def iter_records(path: str | os.PathLike, *, delimiter: str, encoding: str = "utf-8",
                 quoting: int = csv.QUOTE_MINIMAL, n_fields: int | None = None
                 ) -> Iterator[tuple[int, list[str]]]:
    """Yield `(line, fields)` for each record of a delimited file; `line` is the 1-based physical
    line the record starts on (records may span lines inside quoted fields).

    Raises CorpusFormatError naming file and line on undecodable bytes, a field count other than
    `n_fields` (when given) or a broken quoted field.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not valid {encoding} ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting,
                        strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CorpusFormatError(path, start, f"malformed record ({exc})") from None
        if fields:  # csv yields [] for a blank line, which is no record
            if n_fields is not None and len(fields) != n_fields:
                raise CorpusFormatError(
                    path, start, f"expected {n_fields} {_name(delimiter)}-separated fields, "
                    f"got {len(fields)}")
            yield start, fields
        start = reader.line_num + 1


def parse_float(value: str, path: str | os.PathLike, line: int, key: str,
                low: float = 0.0, high: float = 1.0) -> float:
    """`value` as a float in [low, high], or a CorpusFormatError naming file, line and key."""
    try:
        number = float(value)
    except ValueError:
        raise CorpusFormatError(path, line, f"{key} {value!r} is not a number") from None
    if not low <= number <= high:
        raise CorpusFormatError(path, line, f"{key} {number} is outside [{low}, {high}]")
    return number


def raw_frame(rows: list[tuple[str, str, list[str], float | None, str | None]]) -> pd.DataFrame:
    """The frame every reader returns, one row per record read:
    `source_row` ("file:line"), `text` (as read), `source_labels` (list[str], verbatim),
    `intensity` (float in [0,1] or NaN), `drop_reason` (None, or why the reader rejects it)."""
    df = pd.DataFrame(rows, columns=["source_row", "text", "source_labels", "intensity",
                                     "drop_reason"])
    df["source_row"] = df["source_row"].astype("string")
    df["text"] = df["text"].astype("string")
    df["intensity"] = pd.to_numeric(df["intensity"], errors="raise").astype("float64")
    df["drop_reason"] = df["drop_reason"].astype("string")
    return df


def _name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}.get(delimiter, repr(delimiter))
