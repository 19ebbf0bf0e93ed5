"""Summary of an expressions table: counts, exclusions, per-emotion means, channel statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.emotions import EMOTIONS


def emotion_means(table: pd.DataFrame) -> pd.DataFrame:
    """Mean expression per emotion: `(n_emotions, 52)` float64, rows in `EMOTIONS` order (only
    emotions present; labels outside the common set follow, sorted), columns canonical."""
    means = table.groupby("emotion", observed=True)[list(ARKIT_NAMES)].mean()
    order = [e for e in EMOTIONS if e in means.index] + sorted(set(means.index) - set(EMOTIONS))
    return means.loc[order].astype(np.float64)


def channel_stats(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per ARKit channel: mean, std (population), min, max and the fraction of rows above 0."""
    values = table[list(ARKIT_NAMES)].to_numpy(np.float64)
    if len(values) == 0:
        return {name: {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "active_fraction": 0.0}
                for name in ARKIT_NAMES}
    stats = {"mean": values.mean(0), "std": values.std(0), "min": values.min(0),
             "max": values.max(0), "active_fraction": (values > 0).mean(0)}
    return {name: {k: round(float(v[i]), 6) for k, v in stats.items()}
            for i, name in enumerate(ARKIT_NAMES)}


def summarise(table: pd.DataFrame, n_descriptions: int, exclusions: dict[str, int],
              settings: dict[str, Any], corpus_duplicates: int = 0) -> dict[str, Any]:
    """The `summary.json` object: counts (input, kept, excluded, by split, by emotion),
    exclusions per reason, corpus duplicate ids, the settings used, per-emotion means rounded to
    6 decimals, and `channel_stats`."""
    means = emotion_means(table)
    return {
        "counts": {
            "descriptions": int(n_descriptions),
            "kept": int(len(table)),
            "excluded": int(sum(exclusions.values())),
            "by_split": {k: int(v) for k, v in table["split"].value_counts().sort_index().items()},
            "by_emotion": {k: int(v) for k, v in table["emotion"].value_counts().sort_index().items()},
        },
        "exclusions": {k: int(v) for k, v in exclusions.items()},
        "corpus_duplicate_text_ids": int(corpus_duplicates),
        "settings": settings,
        "per_emotion_means": {e: {c: round(float(v), 6) for c, v in row.items()}
                              for e, row in means.iterrows()},
        "channel_stats": channel_stats(table),
    }
