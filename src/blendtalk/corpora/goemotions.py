"""GoEmotions (Demszky et al., 2020) readers: the "simplified" TSV release and the "raw" per-rater
CSV release."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .records import CorpusFormatError, iter_records, raw_frame

RAW_META = ("text", "id", "author", "subreddit", "link_id", "parent_id", "created_utc",
            "rater_id", "example_very_unclear")


def read_labels_txt(path: str | os.PathLike) -> list[str]:
    """GoEmotions `labels.txt`/`emotions.txt`: one label per line, id = 0-based line number."""
    labels = Path(path).read_text(encoding="utf-8").splitlines()
    for line, label in enumerate(labels, 1):
        if not label.strip() or label != label.strip():
            raise CorpusFormatError(path, line, f"empty or padded label {label!r}")
    if len(set(labels)) != len(labels):
        raise CorpusFormatError(path, None, "labels are not unique")
    return labels


def read_simplified(files: Sequence[str | os.PathLike], labels_file: str | os.PathLike
                    ) -> pd.DataFrame:
    """The simplified release: TSV without header `text, comma-separated label ids, comment id`
    (quoted CSV-style where the text holds quotes). Returns the raw frame of `records.raw_frame`
    with the label ids resolved to names through `labels_file`."""
    labels = read_labels_txt(labels_file)
    rows = []
    for path in files:
        name = Path(path).name
        for line, (text, ids, _comment) in iter_records(path, delimiter="\t", n_fields=3):
            try:
                names = [labels[int(i)] for i in ids.split(",")]
            except (ValueError, IndexError):
                raise CorpusFormatError(path, line, f"label ids {ids!r} are not ids in "
                                        f"0..{len(labels) - 1} of {labels_file}") from None
            rows.append((f"{name}:{line}", text, names, None, None))
    return raw_frame(rows)


def read_raw(files: Sequence[str | os.PathLike], min_raters: int = 2,
             max_unclear_fraction: float = 0.5) -> pd.DataFrame:
    """The raw release: one CSV row per comment and rater, columns RAW_META then one 0/1 column
    per label. Raters are aggregated per comment id: a label holds when at least `min_raters`
    raters chose it; labels are ordered by votes (most first). The aggregate sits on the comment's
    first rater row; its other rater rows are dropped as `rater_row_merged`. A comment is dropped
    as `very_unclear` when more than `max_unclear_fraction` of its raters marked it so, and as
    `no_agreed_label` when no label reaches `min_raters`."""
    where, texts, ids, unclear, votes = [], [], [], [], []
    label_names: list[str] | None = None
    for path in files:
        name = Path(path).name
        records = iter_records(path, delimiter=",")
        try:
            _, header = next(records)
        except StopIteration:
            raise CorpusFormatError(path, 1, "empty file, expected a header") from None
        if tuple(header[:len(RAW_META)]) != RAW_META or len(header) == len(RAW_META):
            raise CorpusFormatError(path, 1, f"header must start with {','.join(RAW_META)} "
                                    "followed by the label columns")
        if label_names is None:
            label_names = header[len(RAW_META):]
        elif header[len(RAW_META):] != label_names:
            raise CorpusFormatError(path, 1, "label columns differ from the first file's")
        for line, fields in records:
            if len(fields) != len(header):
                raise CorpusFormatError(path, line, f"expected {len(header)} comma-separated "
                                        f"fields, got {len(fields)}")
            flags = fields[len(RAW_META) - 1:]
            if any(f not in ("0", "1") for f in flags):
                bad = next(f for f in flags if f not in ("0", "1"))
                raise CorpusFormatError(path, line, f"label/unclear flag {bad!r} is not 0 or 1")
            where.append(f"{name}:{line}")
            texts.append(fields[0])
            ids.append(fields[1])
            unclear.append(flags[0] == "1")
            votes.append([f == "1" for f in flags[1:]])
    n_labels = len(label_names or [])
    votes_arr = np.asarray(votes, dtype=np.int32).reshape(len(votes), n_labels)
    frame = pd.DataFrame(votes_arr, columns=label_names or [])
    frame["_id"], frame["_unclear"] = ids, unclear
    grouped = frame.groupby("_id", sort=False)
    first = ~frame["_id"].duplicated()
    n_raters = grouped["_id"].transform("size")
    unclear_share = grouped["_unclear"].transform("mean")
    totals = grouped[label_names or []].transform("sum").to_numpy()

    agreed = totals >= min_raters
    order = np.argsort(-totals, axis=1, kind="stable")
    names = np.asarray(label_names or [], dtype=object)
    source_labels = [list(names[o][a[o]]) for o, a in zip(order, agreed)]

    reason = np.where(~first, "rater_row_merged",
             np.where(unclear_share > max_unclear_fraction, "very_unclear",
             np.where(~agreed.any(axis=1), "no_agreed_label", None)))
    rows = list(zip(where, texts, source_labels, [None] * len(where), reason))
    df = raw_frame(rows)
    df["raters"] = n_raters.to_numpy()
    return df
