"""GoEmotions (Demszky et al., 2020) readers: the "simplified" TSV release and the "raw" per-rater
CSV release."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .records import CorpusFormatError, decode_text, iter_records, raw_frame

RAW_META = ("text", "id", "author", "subreddit", "link_id", "parent_id", "created_utc",
            "rater_id", "example_very_unclear")
_RATER, _FLAGS = RAW_META.index("rater_id"), RAW_META.index("example_very_unclear")
# The official raw CSVs write example_very_unclear as True/False (as pandas does) and the label
# columns as 0/1; every flag column accepts any of these.
FLAGS = {"0": False, "1": True, "False": False, "True": True, "false": False, "true": True}
RawRow = tuple[str, str, str, str, list[bool]]  # source_row, text, id, rater_id, flags


def read_labels_txt(path: str | os.PathLike) -> list[str]:
    """GoEmotions `labels.txt`/`emotions.txt`: one label per line, id = 0-based line number."""
    labels = decode_text(Path(path).read_bytes(), path, "utf-8")[0].splitlines()
    for line, label in enumerate(labels, 1):
        if not label.strip() or label != label.strip():
            raise CorpusFormatError(path, line, f"empty or padded label {label!r}")
    if len(set(labels)) != len(labels):
        raise CorpusFormatError(path, None, "labels are not unique")
    return labels


def read_simplified(files: Sequence[str | os.PathLike], labels_file: str | os.PathLike,
                    encoding: str = "utf-8") -> pd.DataFrame:
    """The simplified release: TSV without header `text, comma-separated label ids, comment id`
    (quoted CSV-style where the text holds quotes). Returns the raw frame of `records.raw_frame`
    with the label ids resolved to names through `labels_file`; an id that is not a plain
    decimal in 0..n-1 (e.g. -1, 99, abc) is a CorpusFormatError naming file and line."""
    labels = read_labels_txt(labels_file)
    rows = []
    for path in files:
        name = Path(path).name
        for line, (text, ids, _comment) in iter_records(path, delimiter="\t", n_fields=3,
                                                         encoding=encoding):
            parts = ids.split(",")
            if not all(p.isascii() and p.isdigit() and int(p) < len(labels) for p in parts):
                raise CorpusFormatError(path, line, f"label ids {ids[:60]!r} are not ids in "
                                        f"0..{len(labels) - 1} of {labels_file}")
            rows.append((f"{name}:{line}", text, [labels[int(p)] for p in parts], None, None))
    return raw_frame(rows)


def read_raw(files: Sequence[str | os.PathLike], min_raters: int = 2,
             max_unclear_fraction: float = 0.5, encoding: str = "utf-8") -> pd.DataFrame:
    """The raw release: one CSV row per comment and rater, columns RAW_META then one flag column
    per label (flags as in FLAGS). Raters are aggregated per comment id: a label holds when at
    least `min_raters` raters chose it; labels are ordered by votes (most first). A repeated
    (id, rater_id) row is no new vote: it is dropped as `duplicate_rater_row`. The aggregate sits
    on the comment's first rater row; its other rater rows are dropped as `rater_row_merged`. A
    comment is dropped as `very_unclear` when more than `max_unclear_fraction` of its raters
    marked it so, and as `no_agreed_label` when no label reaches `min_raters`. Empty and
    header-only files add no rows. Returns the raw frame of `records.raw_frame` plus `raters`."""
    label_names: list[str] | None = None
    parsed: list[RawRow] = []
    for path in files:
        records = iter_records(path, delimiter=",", encoding=encoding)
        header = next(records, None)  # (line, fields); None for an empty file
        if header is None:
            continue
        label_names = _raw_label_names(path, header[1], label_names)
        parsed.extend(_raw_rows(path, records, [RAW_META[-1], *label_names]))
    return _aggregate_raters(parsed, label_names or [], min_raters, max_unclear_fraction)


def _raw_label_names(path: str | os.PathLike, header: list[str], first: list[str] | None
                     ) -> list[str]:
    """The label columns of a raw file's header, checked against RAW_META and the first file's."""
    names = header[len(RAW_META):]
    if tuple(header[:len(RAW_META)]) != RAW_META or not names:
        raise CorpusFormatError(path, 1, f"header must start with {','.join(RAW_META)} "
                                "followed by the label columns")
    if len(set(names)) != len(names):
        raise CorpusFormatError(path, 1, "label columns are not unique")
    if first is not None and names != first:
        raise CorpusFormatError(path, 1, "label columns differ from the first file's")
    return names


def _raw_rows(path: str | os.PathLike, records: Iterator[tuple[int, list[str]]],
              flag_columns: list[str]) -> list[RawRow]:
    """One RawRow per record; its flags are example_very_unclear's, then the labels'."""
    name, width = Path(path).name, _FLAGS + len(flag_columns)
    rows = []
    for line, fields in records:
        if len(fields) != width:
            raise CorpusFormatError(path, line, f"expected {width} comma-separated fields, "
                                    f"got {len(fields)}")
        flags = fields[_FLAGS:]
        bad = next((i for i, f in enumerate(flags) if f not in FLAGS), None)
        if bad is not None:
            raise CorpusFormatError(path, line, f"{flag_columns[bad]} {flags[bad][:60]!r} is not "
                                    "a flag (0, 1, True, False, true, false)")
        rows.append((f"{name}:{line}", fields[0], fields[1], fields[_RATER],
                     [FLAGS[f] for f in flags]))
    return rows


def _aggregate_raters(parsed: list[RawRow], label_names: list[str], min_raters: int,
                      max_unclear_fraction: float) -> pd.DataFrame:
    """One raw frame row per rater row, the comment's aggregate on its first row (see read_raw)."""
    where, texts, ids, raters, flag_rows = map(list, zip(*parsed)) if parsed else ([],) * 5
    flags = np.asarray(flag_rows, dtype=np.int32).reshape(len(parsed), 1 + len(label_names))
    keys = pd.DataFrame({"id": ids, "rater": raters})
    duplicate = keys.duplicated().to_numpy()
    first = ~keys["id"].duplicated().to_numpy()
    per_comment = pd.DataFrame(flags[~duplicate]).groupby(keys["id"][~duplicate].to_numpy(),
                                                          sort=False)
    counts = per_comment.sum().loc[ids].to_numpy()         # row-aligned: unclear, then votes
    n_raters = per_comment.size().loc[ids].to_numpy()
    unclear_share, totals = counts[:, 0] / np.maximum(n_raters, 1), counts[:, 1:]

    agreed = totals >= min_raters
    order = np.argsort(-totals, axis=1, kind="stable")
    names = np.asarray(label_names, dtype=object)
    source_labels = [list(names[o][a[o]]) for o, a in zip(order, agreed)]
    reason = np.select(
        [duplicate, ~first, unclear_share > max_unclear_fraction,
         ~agreed.any(axis=1)],
        ["duplicate_rater_row", "rater_row_merged", "very_unclear", "no_agreed_label"],
        default="")
    rows = list(zip(where, texts, source_labels, [None] * len(where),
                    [r or None for r in reason]))
    df = raw_frame(rows)
    df["raters"] = n_raters
    return df
