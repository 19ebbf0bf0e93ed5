"""The expressions the workflow renders: a seeded, per-emotion sample of the expressions table
(`text_id, split, emotion, description` + 52 ARKit columns), and looking rows up by `text_id`.

Selection ranks rows by a hash of (seed, text_id), never by row order, so adding rows to the
table only changes the sample where a new row outranks an old one.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from blendtalk import tables
from blendtalk.arkit import ARKIT_NAMES
from blendtalk.emotions import EMOTIONS
from blendtalk.ids import seeded_rank

def read_expressions(path: str | os.PathLike) -> pd.DataFrame:
    """The expressions table, checked against its contract (TableError naming the file)."""
    return tables.read(path, tables.EXPRESSIONS)


def sample_text_ids(table: pd.DataFrame, per_emotion: int, seed: int) -> list[str]:
    """Up to `per_emotion` text_ids per emotion, emotions in `EMOTIONS` order (unknown labels
    after, alphabetically), each emotion's picks ordered by rank."""
    rank = seeded_rank(table["text_id"], seed)
    ranked = table.assign(_rank=rank).drop_duplicates("text_id").sort_values("_rank")
    order = {e: i for i, e in enumerate(EMOTIONS)}
    emotions = sorted(ranked["emotion"].unique(), key=lambda e: (order.get(e, len(order)), e))
    return [t for e in emotions for t in ranked.loc[ranked["emotion"] == e, "text_id"].head(per_emotion)]


def expression_row(table: pd.DataFrame, text_id: str, source: str | os.PathLike = "expressions") -> pd.Series:
    """The first row of `text_id` (KeyError naming `source` when absent)."""
    rows = table.loc[table["text_id"] == text_id]
    if rows.empty:
        raise KeyError(f"{source}: no expression with text_id {text_id}")
    return rows.iloc[0]


def weights_of(row: pd.Series) -> np.ndarray:
    """The `(52,)` float32 ARKit weights of one expressions row, clipped to [0, 1]."""
    return np.clip(row[list(ARKIT_NAMES)].to_numpy(dtype=np.float32), 0.0, 1.0)


def texts_by_id(descriptions_path: str | os.PathLike) -> dict[str, str]:
    """text_id → original sentence, from the descriptions table (`text_id, text, ...`)."""
    table = tables.read(descriptions_path, tables.DESCRIPTIONS, columns=["text_id", "text"])
    return dict(zip(table["text_id"], table["text"], strict=True))
