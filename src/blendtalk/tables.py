"""The data contracts of docs/DESIGN.md as code: each table's columns and Arrow types, one reader
that checks a file against them (errors name the file and the missing columns) and one atomic
writer that stores the exact types (also for an empty table).

Stages read and write their tables through `read` and `write` with the specs below, so a
contract lives in one place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.io import atomic_path

ACTION_UNITS_TYPE = pa.list_(pa.struct([("au", pa.int16()), ("intensity", pa.string())]))
_ARKIT = [(name, pa.float32()) for name in ARKIT_NAMES]


class TableError(ValueError):
    """A table file does not follow its contract; the message names the file."""


@dataclass(frozen=True)
class TableSpec:
    """A table's name and its contracted `(column, Arrow type)` pairs, in order. Files may carry
    more columns (e.g. the corpus' `provenance`); readers only require these."""

    name: str
    fields: tuple[tuple[str, pa.DataType], ...]

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.fields]


CORPUS = TableSpec("corpus", (
    ("text_id", pa.string()), ("source", pa.string()), ("source_row", pa.string()),
    ("text", pa.string()), ("emotion", pa.string()), ("emotions", pa.list_(pa.string())),
    ("source_labels", pa.list_(pa.string())), ("intensity", pa.float64()), ("split", pa.string()),
))

DESCRIPTIONS = TableSpec("descriptions", (
    ("text_id", pa.string()), ("text", pa.string()), ("emotions", pa.list_(pa.string())),
    ("action_units", ACTION_UNITS_TYPE), ("description", pa.string()), ("status", pa.string()),
    ("problems", pa.list_(pa.string())), ("backend", pa.string()), ("model", pa.string()),
    ("prompt_version", pa.string()), ("attempts", pa.int32()), ("raw", pa.string()),
))

#: A shard of the descriptions table also carries the accounting its merge turns into stats.
DESCRIPTION_SHARD = TableSpec("description shard", DESCRIPTIONS.fields + (
    ("tokens_in", pa.int64()), ("tokens_out", pa.int64()), ("seconds", pa.float64()),
    ("cached", pa.bool_()),
))

EXPRESSIONS = TableSpec("expressions", (
    ("text_id", pa.string()), ("split", pa.string()), ("emotion", pa.string()),
    ("description", pa.string()), *_ARKIT,
))

UTTERANCES = TableSpec("utterances", (
    ("utt_id", pa.string()), ("text_id", pa.string()), ("text", pa.string()),
    ("style", pa.string()), ("emotion", pa.string()), ("voice", pa.string()),
    ("split", pa.string()), ("duration_s", pa.float64()), ("sample_rate", pa.int32()),
))

ALIGNMENT = TableSpec("alignment", (
    ("phone", pa.string()), ("start_s", pa.float64()), ("end_s", pa.float64()),
    ("word", pa.string()),
))

ANIMATION = TableSpec("animation", (("frame", pa.int32()), *_ARKIT))


def read(path: str | os.PathLike, spec: TableSpec, columns: Sequence[str] | None = None
         ) -> pd.DataFrame:
    """Read a Parquet table, checking that it has `columns` (default: all of `spec`'s).

    Raises TableError naming the file when it cannot be read as Parquet or lacks a column.
    """
    wanted = list(columns) if columns is not None else spec.columns
    try:
        present = pq.read_schema(path).names
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"{path}: not a readable {spec.name} table (Parquet): {exc}") from None
    missing = [c for c in wanted if c not in present]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise TableError(f"{path}: the {spec.name} table lacks column(s) {shown}")
    return pd.read_parquet(path, columns=wanted if columns is not None else None)


def write(df: pd.DataFrame, path: str | os.PathLike, spec: TableSpec) -> None:
    """Write `df` as zstd Parquet atomically, with `spec`'s Arrow types for its columns (any
    extra column keeps the type pyarrow infers), without the pandas index."""
    missing = [c for c in spec.columns if c not in df.columns]
    if missing:
        raise TableError(f"{path}: refusing to write a {spec.name} table without {missing}")
    types = dict(spec.fields)
    table = pa.Table.from_pandas(df, preserve_index=False)
    cast = pa.schema([pa.field(c, types.get(c, table.schema.field(c).type)) for c in table.column_names])
    table = pa.Table.from_pandas(df, schema=cast, preserve_index=False)
    if df.attrs:  # as pandas' to_parquet does, so read_parquet restores them (a source's qc)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"PANDAS_ATTRS": json.dumps(df.attrs)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
