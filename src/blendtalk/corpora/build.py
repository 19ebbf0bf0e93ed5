"""From raw frames to the per-source tables and the combined corpus (DESIGN.md, "corpus").

Per source: read → clean → drop (counted per reason) → map labels → `text_id` → merge duplicates
within the source → assign splits. Across sources: merge duplicates by `text_id` (the first
source in config order keeps `source`/`source_row`/`text`; emotions and source labels are the
union; `provenance` lists every "source:file:line" merged in) → per-source/per-emotion cap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..ids import seeded_rank, split_of, text_ids
from .clean import CleanOptions, clean_texts, mojibake_rows
from .labels import identity_map, load_label_map, map_labels, normalise_emotions
from .readers import read_source

CORPUS_COLUMNS = ["text_id", "source", "source_row", "text", "emotion", "emotions",
                  "source_labels", "intensity", "split", "provenance"]
LIST_COLUMNS = ("emotions", "source_labels", "provenance")

log = logging.getLogger(__name__)


def build_source(name: str, spec: Mapping[str, Any], clean: CleanOptions,
                 ratios: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One source → `(table, rejected, qc)`.

    `table` has CORPUS_COLUMNS, one row per unique text; `rejected` has `source_row, text,
    cleaned, drop_reason` for every row not kept; `qc` is `{format, files, empty_files,
    rows_read, rows_kept, dropped: {reason: n}, repaired: {mojibake: n}}` with rows_read =
    rows_kept + Σ dropped; `empty_files` lists the files that gave no row (each also a logged
    warning) and `repaired.mojibake` counts the rows the reader passed on to cleaning whose text
    the mojibake repair changed (whether or not they are kept later).
    A source whose files give no row at all is a ValueError naming the source and its files.
    """
    raw = read_source(name, spec)
    files = [str(f) for f in spec["files"]]
    if raw.empty:
        raise ValueError(f"corpora.sources.{name}: no rows in its files {files} (each is empty "
                         "or holds only a header)")
    empty = _empty_files(raw["source_row"], files)
    for path in empty:
        log.warning("corpora.sources.%s: %s is empty or holds only a header", name, path)
    reason = raw["drop_reason"].copy()
    live = reason.isna()
    repaired = int(mojibake_rows(raw.loc[live, "text"]).sum()) if clean.fix_mojibake else 0
    cleaned, clean_reason = clean_texts(raw.loc[live, "text"], clean)
    text = pd.Series(pd.NA, index=raw.index, dtype="string")
    text[live] = cleaned
    reason[live] = clean_reason
    reason[reason.isna() & (raw["source_labels"].map(len) == 0)] = "no_label"

    table_path = spec.get("label_map")
    table = load_label_map(table_path) if table_path else identity_map()
    live = reason.isna()
    emotion, emotions = map_labels(raw.loc[live, "source_labels"], table,
                                   table_path or f"corpora.sources.{name} (common label set)")
    df = pd.DataFrame({
        "text_id": text_ids(text[live]).to_numpy(),
        "source": name,
        "source_row": raw.loc[live, "source_row"].to_numpy(),
        "text": text[live].to_numpy(),
        "emotion": emotion.to_numpy(),
        "emotions": emotions.to_numpy(),
        "source_labels": raw.loc[live, "source_labels"].to_numpy(),
        "intensity": raw.loc[live, "intensity"].to_numpy(),
    }, index=raw.index[live])
    df["provenance"] = (name + ":" + df["source_row"]).map(lambda p: [p])
    reason[df.index[df["text_id"].duplicated()]] = "duplicate_in_source"
    df = merge_duplicates(df)
    df["split"] = split_of(df["text_id"], ratios).to_numpy()
    df = _typed(df[CORPUS_COLUMNS])

    dropped = reason.dropna().value_counts()
    qc = {"format": spec["format"], "files": files, "empty_files": empty,
          "rows_read": len(raw), "rows_kept": len(df),
          "dropped": {str(k): int(v) for k, v in sorted(dropped.items())},
          "repaired": {"mojibake": repaired}}
    rejected = pd.DataFrame({"source_row": raw["source_row"], "text": raw["text"],
                             "cleaned": text, "drop_reason": reason})[reason.notna()]
    return df, rejected.reset_index(drop=True), qc


def merge_duplicates(df: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of each `text_id`, folding later rows in: emotions and source labels
    become the ordered union, `provenance` the concatenation, `intensity` the first non-null."""
    df = df.assign(**{col: [list(v) for v in df[col]] for col in LIST_COLUMNS})
    first = df.drop_duplicates("text_id", keep="first").reset_index(drop=True)
    dup = df["text_id"].duplicated(keep=False)
    if not dup.any():
        return first
    groups = df[dup].groupby("text_id", sort=False)
    merged = pd.DataFrame({
        "emotions": groups["emotions"].agg(lambda s: normalise_emotions(_concat(s))),
        "source_labels": groups["source_labels"].agg(lambda s: list(dict.fromkeys(_concat(s)))),
        "provenance": groups["provenance"].agg(_concat),
        "intensity": groups["intensity"].first(),
    })
    at = first.index[first["text_id"].isin(merged.index)]
    rows = merged.loc[first.loc[at, "text_id"]]
    for col in LIST_COLUMNS:
        first.loc[at, col] = pd.Series(list(rows[col]), index=at, dtype=object)
    first.loc[at, "intensity"] = rows["intensity"].to_numpy(dtype="float64")
    first.loc[at, "emotion"] = rows["emotions"].map(lambda es: es[0]).to_numpy()
    return first


def combine(tables: Sequence[pd.DataFrame], per_source: int | None, per_emotion: int | None,
            seed: int) -> tuple[pd.DataFrame, dict]:
    """Merge the per-source tables (in config order) and apply the cap. Returns the corpus and
    its qc: rows_in = cross_source_duplicates + capped + rows_out."""
    stacked = pd.concat(tables, ignore_index=True) if tables else _typed(
        pd.DataFrame(columns=CORPUS_COLUMNS))
    merged = merge_duplicates(stacked)
    keep = cap_mask(merged, per_source, per_emotion, seed)
    corpus = _typed(merged[keep].reset_index(drop=True))
    capped = merged.loc[~keep, "source"].value_counts()
    qc = {
        "rows_in": len(stacked),
        "cross_source_duplicates": len(stacked) - len(merged),
        "capped": int((~keep).sum()),
        "capped_by_source": {str(k): int(v) for k, v in sorted(capped.items())},
        "rows_out": len(corpus),
        "by_source": _counts(corpus["source"]),
        "by_emotion": _counts(corpus["emotion"]),
        "by_split": _counts(corpus["split"]),
    }
    return corpus, qc


def cap_mask(df: pd.DataFrame, per_source: int | None, per_emotion: int | None,
             seed: int) -> np.ndarray:
    """Boolean mask of the rows kept by the cap, balanced and seeded.

    Within each (source, primary emotion) rows are ranked by a seeded hash of their `text_id`;
    at most `per_emotion` of each are kept. Then at most `per_source` rows per source are kept,
    taken round-robin over emotions by that rank, so rare emotions are not crowded out. The
    choice of a text depends only on the seed and the texts competing with it, not on row order.
    """
    work = pd.DataFrame({"source": df["source"], "emotion": df["emotion"],
                         "key": seeded_rank(df["text_id"], seed)}, index=df.index)
    work = work.sort_values(["source", "emotion", "key"])
    work["rank"] = work.groupby(["source", "emotion"]).cumcount()
    keep = pd.Series(True, index=df.index)
    if per_emotion is not None:
        keep[work.index[work["rank"] >= per_emotion]] = False
    if per_source is not None:
        order = work[keep[work.index].to_numpy()].sort_values(["source", "rank", "key"])
        over = order.groupby("source").cumcount() >= per_source
        keep[order.index[over.to_numpy()]] = False
    return keep.to_numpy()


def _empty_files(source_rows: pd.Series, files: list[str]) -> list[str]:
    """The `files` no row of `source_rows` ("file name:line") comes from."""
    named = set(source_rows.str.rsplit(":", n=1).str[0])
    return [f for f in files if Path(f).name not in named]


def _concat(lists: pd.Series) -> list:
    return [x for items in lists for x in items]


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(values.value_counts().items())}


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes, so every table has the same Parquet schema whatever its content."""
    df = df.copy()
    for col in ("text_id", "source", "source_row", "text", "emotion", "split"):
        df[col] = df[col].astype("string")
    for col in LIST_COLUMNS:
        df[col] = pd.Series([list(v) for v in df[col]], index=df.index, dtype=object)
    df["intensity"] = pd.to_numeric(df["intensity"]).astype("float64")
    return df
