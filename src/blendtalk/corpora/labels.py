"""Mapping source labels onto the common emotion set (blendtalk.emotions.EMOTIONS) through the
tables in resources/labels/ (TSV: source_label, emotion, rationale)."""

from __future__ import annotations

import os

import pandas as pd

from ..emotions import EMOTIONS
from .records import CorpusFormatError, iter_records

COLUMNS = ["source_label", "emotion", "rationale"]


def load_label_map(path: str | os.PathLike) -> dict[str, str]:
    """Read a mapping table; every row needs a known emotion and a non-empty rationale."""
    records = iter_records(path, delimiter="\t", n_fields=3)
    try:
        _, header = next(records)
    except StopIteration:
        raise CorpusFormatError(path, 1, f"empty file, expected the header {COLUMNS}") from None
    if header != COLUMNS:
        raise CorpusFormatError(path, 1, f"header must be {COLUMNS}, got {header}")
    table: dict[str, str] = {}
    for line, (label, emotion, rationale) in records:
        if emotion not in EMOTIONS:
            raise CorpusFormatError(path, line, f"emotion {emotion!r} is not one of {EMOTIONS}")
        if not rationale.strip():
            raise CorpusFormatError(path, line, f"label {label!r} has no rationale")
        if label in table:
            raise CorpusFormatError(path, line, f"label {label!r} is mapped twice")
        table[label] = emotion
    return table


def identity_map() -> dict[str, str]:
    """For sources already labelled with the common set."""
    return {e: e for e in EMOTIONS}


def normalise_emotions(emotions: list[str]) -> list[str]:
    """Ordered unique emotions; `neutral` only when nothing else is present."""
    unique = list(dict.fromkeys(emotions))
    emotional = [e for e in unique if e != "neutral"]
    return emotional or unique


def map_labels(source_labels: pd.Series, table: dict[str, str], where: str
               ) -> tuple[pd.Series, pd.Series]:
    """Map each row's list of source labels. Returns `(emotion, emotions)`: the primary emotion
    (the first mapped label, labels being ordered by the reader; NA without labels) and the list
    of all. A label missing from `table` is an error naming it and `where` (the mapping file)."""
    known = set(table)
    unknown = sorted({lab for labs in source_labels for lab in labs} - known)
    if unknown:
        raise ValueError(f"{where}: no mapping for source label(s) {unknown}")
    emotions = source_labels.map(lambda labs: normalise_emotions([table[x] for x in labs]))
    primary = emotions.map(lambda es: es[0] if es else None).astype("string")
    return primary, emotions
