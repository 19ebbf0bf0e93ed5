"""Stable assignment of corpus rows to annotation shards, from the text_id hash."""

from __future__ import annotations

import pandas as pd


def shard_of(text_id: str, n_shards: int) -> int:
    """Shard index in [0, n_shards) of a text_id (16 hex digits); never depends on row order."""
    return int(text_id[:8], 16) % n_shards


def shard_names(n_shards: int) -> list[str]:
    """Shard names used in file names: "000", "001", ..."""
    return [f"{i:03d}" for i in range(n_shards)]


def select_shard(corpus: pd.DataFrame, shard: str, n_shards: int,
                 limit: int | None = None) -> pd.DataFrame:
    """The corpus rows of one shard, one per text_id (the first in text_id, source, source_row
    order), sorted by text_id; `limit` first restricts the corpus to its first N text_ids."""
    ordered = corpus.sort_values(["text_id", "source", "source_row"], kind="stable")
    ordered = ordered.drop_duplicates("text_id", keep="first")
    if limit is not None:
        ordered = ordered.head(limit)
    index = int(shard)
    if not 0 <= index < n_shards:
        raise ValueError(f"shard {shard!r} out of range for {n_shards} shards")
    mask = ordered["text_id"].map(lambda t: shard_of(t, n_shards) == index)
    return ordered[mask.to_numpy(dtype=bool)].reset_index(drop=True)
