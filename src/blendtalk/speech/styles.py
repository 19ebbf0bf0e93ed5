"""Speaking styles (resources/speech/styles.csv): a style text that steers the face and the
prosody it asks of the voice.

Columns: `style_id, emotion, intensity, text, rate, pitch_st, volume, source`. `rate`
multiplies the voice's speaking rate, `pitch_st` shifts its pitch in semitones, `volume`
multiplies its amplitude; `intensity` in [0, 1] scales the style's facial expression
(`face_scale`: half strength at 0, full at 1). The
values follow the vocal-affect literature cited per row (Murray & Arnott 1993; Banse & Scherer
1996; Scherer 2003).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from blendtalk.emotions import EMOTIONS

COLUMNS = ["style_id", "emotion", "intensity", "text", "rate", "pitch_st", "volume", "source"]
#: (low, high) bounds of each numeric column; a voice asked for more sounds broken.
BOUNDS = {"intensity": (0.0, 1.0), "rate": (0.5, 2.0), "pitch_st": (-12.0, 12.0),
          "volume": (0.1, 2.0)}


@dataclass(frozen=True)
class Prosody:
    """What a style asks of the voice (1.0 / 0 semitones = the voice's own)."""

    rate: float = 1.0
    pitch_st: float = 0.0
    volume: float = 1.0

    @property
    def pitch(self) -> float:
        """The pitch factor voices take (2 ** (semitones / 12))."""
        return 2.0 ** (self.pitch_st / 12.0)


def load_styles(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check the style table; errors name the file, the line and the column."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns) != COLUMNS:
        raise ValueError(f"{path} line 1: header must be {','.join(COLUMNS)}, got "
                         f"{','.join(table.columns)}")
    for i, row in table.iterrows():
        line = i + 2
        if row["emotion"] not in EMOTIONS:
            raise ValueError(f"{path} line {line}: emotion {row['emotion']!r} is not one of {EMOTIONS}")
        if not row["style_id"] or not row["text"].strip():
            raise ValueError(f"{path} line {line}: style_id and text must not be empty")
        for column, (low, high) in BOUNDS.items():
            try:
                value = float(row[column])
            except ValueError:
                raise ValueError(f"{path} line {line}: {column} {row[column]!r} is not a number") from None
            if not low <= value <= high:
                raise ValueError(f"{path} line {line}: {column} {value} is outside [{low}, {high}]")
    if table["style_id"].duplicated().any():
        dup = table.loc[table["style_id"].duplicated(), "style_id"].iloc[0]
        raise ValueError(f"{path}: style_id {dup!r} appears twice")
    table[list(BOUNDS)] = table[list(BOUNDS)].astype(float)
    return table


def face_scale(intensity: float) -> float:
    """The factor on a style's expression: 0.5 + 0.5 × intensity (a mild style still shows)."""
    return 0.5 + 0.5 * float(intensity)


def prosody_of(style: pd.Series) -> Prosody:
    """The Prosody of one style-table row."""
    return Prosody(*(float(style[c]) for c in ("rate", "pitch_st", "volume")))
