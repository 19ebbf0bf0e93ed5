"""Generic reader for a user's own corpus: CSV, TSV or Parquet with configurable columns."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from .records import CorpusFormatError, iter_records, parse_float, raw_frame

DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


def read_table(files: Sequence[str | os.PathLike], text_column: str,
               label_column: str | None = None, label_separator: str | None = None,
               intensity_column: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read `.csv`/`.tsv`/`.txt` (header row, quoted fields) or `.parquet` files.

    `label_column` holds the source label(s), split on `label_separator` when given; without it
    rows carry no label (dropped later as `no_label`). `intensity_column`, if given, must hold
    numbers in [0,1] or be empty. `encoding` applies to the text formats (see
    `records.decode_text`); Parquet stores Unicode. Empty and header-only files give no rows.
    Returns the raw frame of `records.raw_frame`; `source_row` is "file:line" (text) or
    "file:row" (1-based, Parquet)."""
    wanted = [c for c in (text_column, label_column, intensity_column) if c]
    rows = []
    for path in files:
        path = Path(path)
        for where, values in _records(path, wanted, encoding):
            text, labels, intensity = values[0], [], None
            if label_column:
                raw = values[wanted.index(label_column)]
                parts = raw.split(label_separator) if label_separator else [raw]
                labels = [p.strip() for p in parts if p.strip()]
            if intensity_column:
                raw = values[wanted.index(intensity_column)]
                if raw.strip():
                    intensity = parse_float(raw, path, where, intensity_column)
            rows.append((f"{path.name}:{where}", text, labels, intensity, None))
    return raw_frame(rows)


def _records(path: Path, wanted: list[str], encoding: str
             ) -> Iterator[tuple[int, list[str]]]:
    """`(line or row, values of the `wanted` columns)` per record of one table file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        df = pd.read_parquet(path)
        _check_columns(path, 1, wanted, list(df.columns))
        cells = df[wanted].astype(object)
        for row, values in enumerate(cells.itertuples(index=False), 1):
            yield row, ["" if _missing(v) else str(v) for v in values]
        return
    if suffix not in DELIMITERS:
        raise CorpusFormatError(path, None, f"unknown table format {suffix!r}; use one of "
                                f"{sorted([*DELIMITERS, '.parquet'])}")
    records = iter_records(path, delimiter=DELIMITERS[suffix], encoding=encoding)
    _, header = next(records, (1, wanted))  # an empty file: no rows
    _check_columns(path, 1, wanted, header)
    index = [header.index(c) for c in wanted]
    for line, fields in records:
        if len(fields) != len(header):
            raise CorpusFormatError(path, line, f"expected {len(header)} fields as in the "
                                    f"header, got {len(fields)}")
        yield line, [fields[i] for i in index]


def _check_columns(path: Path, line: int, wanted: list[str], columns: list[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise CorpusFormatError(path, line, f"column(s) {missing} not found; columns are "
                                f"{columns}")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
