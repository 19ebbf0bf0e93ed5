"""The one phone set of blendtalk: the 39 ARPAbet phones (uppercase, no stress digits) plus
``sil`` for silence, and the conversions into it.

Tables (documented in ``resources/speech/README.md``):

- ``resources/speech/phones.csv``: ``phone, kind (vowel/consonant/silence), viseme, example,
  openness`` (typical jaw opening in [0, 1]).
- ``resources/speech/ipa_to_arpabet.csv``: espeak-ng IPA phoneme names → one or more ARPAbet
  phones (space separated, e.g. syllabic ``n̩`` → ``AH N``).

Phone tables (alignments, synthesiser timings) are DataFrames with the columns
``phone, start_s, end_s, word``: times in seconds, contiguous, covering the whole audio, silence
as explicit ``sil`` rows with an empty word.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.paths import resource

log = logging.getLogger(__name__)

SIL = "sil"
VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH",
          "UW")
CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R",
              "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH")
#: The phone set: ``sil`` plus the 39 ARPAbet phones.
PHONES: tuple[str, ...] = (SIL, *VOWELS, *CONSONANTS)
PHONE_COLUMNS = ("phone", "start_s", "end_s", "word")

# Marks that espeak-ng adds to IPA names which carry no phone identity for us.
_STRIP = str.maketrans("", "", "ˈˌ'ˑ‿͜͡-")
# ARPAbet symbols outside the 39 (TIMIT / CMU extensions) and pocketsphinx fillers.
_ARPABET_EXTRA = {
    "AX": ("AH",), "AXR": ("ER",), "IX": ("IH",), "UX": ("UW",), "DX": ("D",), "NX": ("N",),
    "EL": ("AH", "L"), "EM": ("AH", "M"), "EN": ("AH", "N"), "ENG": ("AH", "NG"), "Q": ("T",),
    "WH": ("W",), "H": ("HH",), "HV": ("HH",), "SIL": (SIL,), "SP": (SIL,), "SPN": (SIL,),
    "NSN": (SIL,), "PAU": (SIL,), "H#": (SIL,), "EPI": (SIL,),
}


def resource_dir() -> Path:
    """The folder of the speech tables (``resources/speech`` of the repository)."""
    return resource("resources/speech")


@functools.lru_cache(maxsize=1)
def phone_table() -> pd.DataFrame:
    """``phones.csv`` as a DataFrame indexed by phone (``kind, viseme, example, openness``)."""
    df = pd.read_csv(resource_dir() / "phones.csv", keep_default_na=False)
    df["openness"] = df["openness"].astype(float)
    if tuple(df["phone"]) != PHONES:
        raise ValueError(f"{resource_dir() / 'phones.csv'} does not list exactly the phone set "
                         f"{PHONES}")
    return df.set_index("phone")


@functools.lru_cache(maxsize=1)
def ipa_table() -> dict[str, tuple[str, ...]]:
    """``ipa_to_arpabet.csv`` as ``{ipa name: (ARPAbet phones...)}`` (NFC-normalised keys)."""
    df = pd.read_csv(resource_dir() / "ipa_to_arpabet.csv", keep_default_na=False, dtype=str)
    table: dict[str, tuple[str, ...]] = {}
    for ipa, arpa in zip(df["ipa"], df["arpabet"]):
        phones = tuple(arpa.split())
        bad = [p for p in phones if p not in PHONES]
        if bad:
            raise ValueError(f"ipa_to_arpabet.csv: {ipa!r} maps to unknown phones {bad}")
        table[unicodedata.normalize("NFC", ipa)] = phones
    return table


def ipa_to_arpabet(name: str) -> tuple[str, ...]:
    """Convert one espeak-ng IPA phoneme name (e.g. ``"ˈoʊ"``, ``"n̩"``, ``""`` for a pause) to
    phones of the phone set.

    Stress, tie and secondary length marks are stripped. A name that is not in the table is
    split greedily into the longest known pieces (unknown characters are dropped with a logged
    warning), so any input gives a (possibly empty) tuple and never raises.
    """
    table = ipa_table()
    key = unicodedata.normalize("NFC", name).translate(_STRIP).strip()
    if key in table:
        return table[key]
    out: list[str] = []
    i = 0
    while i < len(key):
        for j in range(len(key), i, -1):
            if key[i:j] in table:
                out.extend(table[key[i:j]])
                i = j
                break
        else:
            ch = key[i]
            if ch.isspace():
                pass
            elif unicodedata.category(ch).startswith("M") or ch in "ːʲʰˤ̩̃":
                pass  # a diacritic or modifier of the previous sound
            else:
                log.warning("IPA phoneme %r: %r has no ARPAbet equivalent; dropped", name, ch)
            i += 1
    return tuple(out)


def normalize_arpabet(symbol: str) -> tuple[str, ...]:
    """Map an ARPAbet-style symbol (any case, stress digits, ``+NSN+``-style fillers, TIMIT
    extensions such as ``DX`` or ``AXR``) to phones of the phone set. Raises ``ValueError`` for
    an unknown symbol."""
    s = re.sub(r"[0-2]$", "", symbol.strip().strip("+").upper())
    if s in PHONES:
        return (s,)
    if s == "":
        return (SIL,)
    if s in _ARPABET_EXTRA:
        return _ARPABET_EXTRA[s]
    raise ValueError(f"{symbol!r} is not an ARPAbet phone (phone set: {' '.join(PHONES)})")


def empty_phone_table() -> pd.DataFrame:
    """A phone table with no rows and the right dtypes."""
    return pd.DataFrame({"phone": pd.Series([], dtype=str), "start_s": pd.Series([], dtype=float),
                         "end_s": pd.Series([], dtype=float), "word": pd.Series([], dtype=str)})


def make_phone_table(rows: list[tuple[str, float, float, str]], duration_s: float,
                     min_gap_s: float = 1e-3) -> pd.DataFrame:
    """Build a phone table from ``(phone, start_s, end_s, word)`` rows that covers exactly
    ``[0, duration_s]``: rows are sorted and clipped to the audio, overlaps are cut at the later
    start, gaps longer than ``min_gap_s`` become ``sil`` rows (shorter ones are closed by
    extending the previous row), neighbouring ``sil`` rows are merged and ``sil`` has an empty
    word. Times in seconds."""
    clean = []
    for phone, start, end, word in sorted(rows, key=lambda r: (r[1], r[2])):
        if phone not in PHONES:
            raise ValueError(f"phone {phone!r} is not in the phone set")
        start, end = max(0.0, float(start)), min(float(duration_s), float(end))
        if end - start <= 0:
            continue
        clean.append([phone, start, end, "" if phone == SIL else str(word)])
    out: list[list] = []
    t = 0.0
    for row in clean:
        phone, start, end, word = row
        start = max(start, t)
        if end <= start:
            continue
        if start - t > min_gap_s:
            out.append([SIL, t, start, ""])
        elif out:
            out[-1][2] = start
        else:
            start = 0.0
        out.append([phone, start, end, word])
        t = end
    if duration_s - t > min_gap_s or not out:
        out.append([SIL, t, float(duration_s), ""])
    else:
        out[-1][2] = float(duration_s)
    merged: list[list] = []
    for row in out:
        if merged and row[0] == SIL and merged[-1][0] == SIL:
            merged[-1][2] = row[2]
        else:
            merged.append(row)
    df = pd.DataFrame(merged, columns=list(PHONE_COLUMNS))
    df["start_s"] = df["start_s"].astype(float)
    df["end_s"] = df["end_s"].astype(float)
    return df


def validate_phone_table(df: pd.DataFrame, duration_s: float | None = None,
                         tol_s: float = 1e-6) -> None:
    """Raise ``ValueError`` unless ``df`` is a phone table: the columns ``phone, start_s, end_s,
    word``, phones of the phone set, contiguous positive-length rows from 0 (and to
    ``duration_s`` when given)."""
    if list(df.columns[:4]) != list(PHONE_COLUMNS):
        raise ValueError(f"phone table columns are {list(df.columns)}, expected {PHONE_COLUMNS}")
    if len(df) == 0:
        raise ValueError("phone table is empty")
    bad = sorted(set(df["phone"]) - set(PHONES))
    if bad:
        raise ValueError(f"phones {bad} are not in the phone set")
    start, end = df["start_s"].to_numpy(float), df["end_s"].to_numpy(float)
    if np.any(end - start <= 0):
        raise ValueError("phone table has rows of zero or negative length")
    if abs(start[0]) > tol_s or np.any(np.abs(start[1:] - end[:-1]) > tol_s):
        raise ValueError("phone table rows are not contiguous from 0")
    if duration_s is not None and abs(end[-1] - duration_s) > tol_s:
        raise ValueError(f"phone table ends at {end[-1]:.4f} s, the audio at {duration_s:.4f} s")


def split_evenly(phones: tuple[str, ...], start_s: float, end_s: float
                 ) -> list[tuple[str, float, float]]:
    """Share ``[start_s, end_s]`` among ``phones`` (one IPA segment that maps to several
    ARPAbet phones, e.g. ``n̩`` → ``AH N``): equal parts, in order."""
    n = len(phones)
    edges = np.linspace(start_s, end_s, n + 1)
    return [(p, float(edges[i]), float(edges[i + 1])) for i, p in enumerate(phones)]
