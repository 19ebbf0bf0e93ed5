"""WASSA-2017 Shared Task on Emotion Intensity (EmoInt) reader."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .records import iter_records, parse_float, raw_frame


def read_tweet_intensity(files: Sequence[str | os.PathLike], encoding: str = "utf-8"
                         ) -> pd.DataFrame:
    """The `{anger,fear,joy,sadness}_dataset_{train,dev,test}.csv` files: TSV despite the name,
    no header, `id, tweet, emotion, intensity in [0,1]`, unquoted (a tweet may start with a
    quote). Returns the raw frame of `records.raw_frame`."""
    rows = []
    for path in files:
        name = Path(path).name
        for line, (_id, tweet, emotion, score) in iter_records(
                path, delimiter="\t", quoting=csv.QUOTE_NONE, n_fields=4,
                encoding=encoding):
            intensity = parse_float(score, path, line, "intensity")
            rows.append((f"{name}:{line}", tweet, [emotion.strip()], intensity, None))
    return raw_frame(rows)
