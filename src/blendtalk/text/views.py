"""The three text views of one row, as in the reference: the sentence itself, its emotion words
and its FACS description."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

VIEWS = ("sentence", "emotions", "description")


def _emotion_words(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return ", ".join(str(v) for v in value)


def text_views(df: pd.DataFrame, views: Sequence[str] = VIEWS) -> dict[str, list[str]]:
    """Map each view name to one string per row of `df`.

    `df` needs `text` for `sentence`, `emotions` (list of labels, or else `emotion`) for
    `emotions`, and `description` for `description`; missing values become "".
    """
    out: dict[str, list[str]] = {}
    for view in views:
        if view == "sentence":
            col = df["text"]
        elif view == "emotions":
            col = df["emotions"] if "emotions" in df else df["emotion"]
            col = col.map(_emotion_words)
        elif view == "description":
            col = df["description"]
        else:
            raise ValueError(f"unknown text view {view!r}; choose from {VIEWS}")
        out[view] = ["" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)
                     for v in col]
    return out
