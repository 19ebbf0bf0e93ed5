"""The AU → ARKit mapping, the FACS intensity scale and the rule that combines AUs.

Mapping file (`resources/facs/au_to_arkit.csv`), one row per (AU, blendshape):
    au          FACS action unit number
    blendshape  an ARKit name (`jawOpen`, `eyeLookOutLeft`) or a bilateral stem (`mouthSmile`)
                meaning both `<stem>Left` and `<stem>Right` with the same weight
    weight      in [0, 1]: the channel's value when the AU is at maximum intensity (E) alone
    reasoning   why the AU drives that channel (anatomy), for review

Intensity scale: FACS scores intensity with the letters A (trace), B (slight), C (marked or
pronounced), D (severe or extreme), E (maximum). By default letter k of 5 maps to k/5 (A=0.2 …
E=1.0): an ordinal scale, evenly spaced, with E the full shape and A still visible. The scale is
configurable (`blendshapes.intensity_scale`); it must be increasing and within (0, 1].

Combination rule: an AU at intensity s contributes c = weight × s to each channel it drives.
Several AUs on one channel combine by probabilistic OR, v = 1 − Π(1 − c_i): bounded in [0, 1],
order-independent, equal to c for a single AU, never below the largest contribution, and reaching
1 only when some contribution is 1 (an unbounded sum would push stacked AUs past 1). An AU listed
twice in one annotation counts once, at its highest intensity.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blendtalk.arkit import INDEX, N_BLENDSHAPES
from blendtalk.paths import resource

MAPPING_CSV = resource("resources/facs/au_to_arkit.csv")
INTENSITY_LETTERS = "ABCDE"
DEFAULT_INTENSITY_SCALE: dict[str, float] = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
_COLUMNS = ["au", "blendshape", "weight", "reasoning"]


@dataclass(frozen=True)
class AuMapping:
    """AU numbers `aus` (ascending) and `weights` `(len(aus), 52)` float64 in [0, 1], canonical
    ARKit columns; `reasoning[(au, blendshape)]` is the file's text for each row."""

    aus: tuple[int, ...]
    weights: np.ndarray
    reasoning: dict[tuple[int, str], str]
    source: Path

    def row_of(self, au: int) -> int:
        """Row of `weights` for AU `au`; KeyError when the mapping lacks it."""
        try:
            return self.aus.index(int(au))
        except ValueError:
            raise KeyError(f"AU {au} is not in the mapping {self.source}") from None

    def lookup_table(self) -> np.ndarray:
        """int array `lut` with `lut[au]` = row of AU `au`, -1 for unmapped numbers below len."""
        lut = np.full(max(self.aus) + 1, -1, dtype=np.int64)
        lut[list(self.aus)] = np.arange(len(self.aus))
        return lut


def channels_of(name: str) -> tuple[int, ...]:
    """Canonical columns named by `name`: an ARKit name, or a bilateral stem (both sides)."""
    if name in INDEX:
        return (INDEX[name],)
    if name + "Left" in INDEX and name + "Right" in INDEX:
        return (INDEX[name + "Left"], INDEX[name + "Right"])
    raise KeyError(name)


def load_mapping(path: str | os.PathLike = MAPPING_CSV) -> AuMapping:
    """Read and validate the mapping CSV.

    Raises ValueError naming the file, the line and the column for: a wrong header, a non-integer
    AU, an unknown blendshape, a weight outside [0, 1], an empty reasoning, or a channel given
    twice for one AU.
    """
    path = Path(path)
    weights: dict[int, np.ndarray] = {}
    reasoning: dict[tuple[int, str], str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != _COLUMNS:
            raise ValueError(f"{path} line 1: header must be {','.join(_COLUMNS)}, got {header}")
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) != len(_COLUMNS):
                raise ValueError(f"{path} line {line_no}: expected {len(_COLUMNS)} fields, got {len(fields)}")
            au_s, name, weight_s, why = (f.strip() for f in fields)
            where = f"{path} line {line_no}"
            try:
                au = int(au_s)
            except ValueError:
                raise ValueError(f"{where}, column au: {au_s!r} is not an integer") from None
            try:
                cols = channels_of(name)
            except KeyError:
                raise ValueError(f"{where}, column blendshape: {name!r} is neither an ARKit name nor "
                                 "a stem with Left and Right variants") from None
            try:
                weight = float(weight_s)
            except ValueError:
                weight = float("nan")
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"{where}, column weight: {weight_s!r} is not a number in [0, 1]")
            if not why:
                raise ValueError(f"{where}, column reasoning: empty; say why AU {au} drives {name}")
            row = weights.setdefault(au, np.zeros(N_BLENDSHAPES))
            if np.any(row[list(cols)] != 0):
                raise ValueError(f"{where}, column blendshape: AU {au} already drives {name}")
            row[list(cols)] = weight
            reasoning[(au, name)] = why
    if not weights:
        raise ValueError(f"{path}: no mapping rows")
    aus = tuple(sorted(weights))
    return AuMapping(aus, np.stack([weights[a] for a in aus]), reasoning, path)


def check_scale(scale: Mapping[str, float]) -> np.ndarray:
    """Intensity values for A…E as a float64 array `(5,)`; ValueError unless every letter is
    given, values are increasing and within (0, 1]."""
    missing = [k for k in INTENSITY_LETTERS if k not in scale]
    extra = sorted(set(scale) - set(INTENSITY_LETTERS))
    if missing or extra:
        raise ValueError(f"intensity scale needs exactly the keys {list(INTENSITY_LETTERS)}; "
                         f"missing {missing}, unknown {extra}")
    values = np.array([float(scale[k]) for k in INTENSITY_LETTERS])
    if not (np.all(values > 0) and np.all(values <= 1) and np.all(np.diff(values) > 0)):
        raise ValueError(f"intensity scale must increase within (0, 1], got {dict(scale)}")
    return values


def combine(contributions: Iterable[np.ndarray]) -> np.ndarray:
    """Probabilistic OR of per-AU contributions, each `(52,)` in [0, 1]: 1 − Π(1 − c)."""
    remaining = np.ones(N_BLENDSHAPES)
    for c in contributions:
        remaining *= 1.0 - np.clip(c, 0.0, 1.0)
    return 1.0 - remaining


def expression(action_units: Mapping[int, str], mapping: AuMapping,
               scale: Mapping[str, float] = DEFAULT_INTENSITY_SCALE) -> np.ndarray:
    """One annotation `{au: letter}` → `(52,)` float32 weights in [0, 1], canonical order.

    The readable definition of the conversion (one AU at a time); `convert.aus_to_arkit` does the
    same for millions of annotations at once. KeyError for an unmapped AU or an unknown letter.
    """
    values = dict(zip(INTENSITY_LETTERS, check_scale(scale)))
    parts = []
    for au, letter in action_units.items():
        if letter not in values:
            raise KeyError(f"intensity {letter!r} of AU {au} is not one of {INTENSITY_LETTERS}")
        parts.append(mapping.weights[mapping.row_of(au)] * values[letter])
    return combine(parts).astype(np.float32)


def parse_aus(spec: str) -> dict[int, str]:
    """`"6C 12D"` (or `"AU6C, AU12D"`) → `{6: "C", 12: "D"}`; a missing letter means C.

    ValueError naming the bad token; an AU given twice keeps its highest intensity.
    """
    out: dict[int, str] = {}
    for token in spec.replace(",", " ").split():
        body = token.upper().removeprefix("AU")
        digits = body.rstrip(INTENSITY_LETTERS)
        letter = body[len(digits):] or "C"
        if not digits.isdigit() or len(letter) != 1:
            raise ValueError(f"bad AU token {token!r}: expected a number and one letter A-E, like 12D")
        au = int(digits)
        out[au] = max(out.get(au, letter), letter)
    return out

