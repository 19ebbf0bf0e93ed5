"""Stable text identifiers and hash-based splits (see DESIGN.md, "Identifiers and splits")."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
_WS = re.compile(r"\s+")


def normalise_for_id(text: str) -> str:
    """Unicode NFC, casefolded, whitespace collapsed and stripped: the form `text_id` hashes."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def text_id(text: str) -> str:
    """First 16 hex digits of SHA-1 of the normalised text; equal for texts that differ only in
    case, Unicode composition or whitespace."""
    return hashlib.sha1(normalise_for_id(text).encode("utf-8")).hexdigest()[:16]


def text_ids(texts: Iterable[str]) -> pd.Series:
    """`text_id` for each text, as a string Series aligned with the input."""
    texts = pd.Series(list(texts) if not isinstance(texts, pd.Series) else texts, dtype=object)
    return texts.map(text_id).astype("string")


def split_of(ids: Iterable[str], ratios: Mapping[str, float]) -> pd.Series:
    """Assign each `text_id` to train/val/test from its own hash, never from row order.

    The last 8 hex digits of the id give a uniform number u in [0, 1); the split is the first
    whose cumulative ratio exceeds u. Adding or removing rows never moves an existing text.
    `ratios` maps each of SPLITS to a fraction; they must sum to 1.
    """
    missing = [s for s in SPLITS if s not in ratios]
    if missing:
        raise ValueError(f"split ratios lack {missing}")
    total = sum(float(ratios[s]) for s in SPLITS)
    if not np.isclose(total, 1.0):
        raise ValueError(f"split ratios must sum to 1, got {total}")
    ids = pd.Series(list(ids) if not isinstance(ids, pd.Series) else ids, dtype=object)
    u = ids.map(lambda t: int(t[-8:], 16) / 2**32).to_numpy(dtype=np.float64)
    edges = np.cumsum([float(ratios[s]) for s in SPLITS])
    edges[-1] = np.inf
    idx = np.searchsorted(edges, u, side="right")
    return pd.Series(np.asarray(SPLITS, dtype=object)[idx], index=ids.index, dtype="string")


def seeded_rank(ids: pd.Series, seed: int | str) -> np.ndarray:
    """A uint64 sort key per `text_id`, from a hash seeded by `seed`: ordering by it picks texts
    at random but reproducibly, independent of row order (the corpus cap, the render sample).
    Its bits also serve as per-row random draws (blendshape augmentation)."""
    hash_key = hashlib.sha1(str(seed).encode()).hexdigest()[:16]
    return pd.util.hash_pandas_object(pd.Series(ids, dtype=object), index=False,
                                      hash_key=hash_key).to_numpy()


def short_hash(parts: Iterable[str]) -> str:
    """12 hex digits of SHA-256 over `parts` joined by a record separator: the version stamp of
    a prompt or a resource set, part of cache keys."""
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()[:12]
