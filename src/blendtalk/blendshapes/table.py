"""The expressions table: descriptions (+ corpus split and emotion) → 52 ARKit columns per text.

Output columns (DESIGN.md): `text_id, split, emotion, description` then the 52 ARKit names in
canonical order, float32 in [0, 1]; one row per text, sorted by `text_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.blendshapes.augment import augment
from blendtalk.blendshapes.convert import ACTION_UNITS_TYPE, aus_to_arkit, entry_problems, flatten_action_units
from blendtalk.blendshapes.mapping import DEFAULT_INTENSITY_SCALE, AuMapping

DESCRIPTION_COLUMNS = ("text_id", "action_units", "description", "status")
CORPUS_COLUMNS = ("text_id", "emotion", "split")
STATUSES = ("ok", "repaired", "invalid")
#: Why a description row is left out, in the order the checks run (a row counts once, first reason).
EXCLUSION_REASONS = ("status_invalid", "unknown_status", "duplicate_text_id", "not_in_corpus",
                     "missing_action_units", "unmapped_au", "bad_intensity")


@dataclass
class BuildResult:
    """The table, the number of input rows, exclusions per reason (every reason listed, 0 when
    none), and corpus rows whose `text_id` repeats (first kept for split/emotion)."""

    table: pd.DataFrame
    n_descriptions: int
    exclusions: dict[str, int] = field(default_factory=dict)
    corpus_duplicates: int = 0


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {list(df.columns)}")


def build_expressions(descriptions: pd.DataFrame, corpus: pd.DataFrame, mapping: AuMapping, *,
                      scale: Mapping[str, float] = DEFAULT_INTENSITY_SCALE, seed: int = 0,
                      asymmetry: float = 0.0, jitter: float = 0.0,
                      descriptions_name: str = "descriptions", corpus_name: str = "corpus") -> BuildResult:
    """Build the expressions table.

    `descriptions` follows DESIGN.md (text_id, action_units list<struct{au, intensity}>,
    description, status, …); `corpus` gives `split` and the primary `emotion` per `text_id`.
    Rows are excluded, each counted under the first reason of `EXCLUSION_REASONS` that applies.
    `asymmetry`/`jitter` (0: off) augment with `seed` (see `augment.augment`). The `*_name`
    arguments name the inputs (their paths) in error messages.
    """
    _require(descriptions, DESCRIPTION_COLUMNS, descriptions_name)
    _require(corpus, CORPUS_COLUMNS, corpus_name)
    n = len(descriptions)
    corpus_dup = corpus["text_id"].duplicated(keep="first")
    meta = corpus.loc[~corpus_dup, list(CORPUS_COLUMNS)].set_index("text_id")

    status = descriptions["status"].astype("string")
    ids = descriptions["text_id"].astype("string")
    column = pa.array(descriptions["action_units"], type=ACTION_UNITS_TYPE, from_pandas=True)
    flat = flatten_action_units(column)
    problems = entry_problems(flat, mapping)
    checks = {
        "status_invalid": (status == "invalid").fillna(False).to_numpy(bool),
        "unknown_status": (~status.isin(STATUSES)).fillna(True).to_numpy(bool),
        "duplicate_text_id": ids.duplicated(keep="first").to_numpy(bool),
        "not_in_corpus": (~ids.isin(meta.index)).to_numpy(bool),
        "missing_action_units": column.is_null().to_numpy(zero_copy_only=False),
        "unmapped_au": problems["unmapped_au"] > 0,
        "bad_intensity": problems["bad_intensity"] > 0,
    }
    excluded = np.zeros(n, dtype=bool)
    exclusions: dict[str, int] = {}
    for reason in EXCLUSION_REASONS:
        hit = checks[reason] & ~excluded
        exclusions[reason] = int(hit.sum())
        excluded |= hit

    keep = np.flatnonzero(~excluded)
    kept_flat = flatten_action_units(column.take(pa.array(keep)))
    weights = aus_to_arkit(kept_flat, mapping, scale)
    kept_ids = ids.iloc[keep].reset_index(drop=True)
    order = np.argsort(kept_ids.to_numpy(str), kind="stable")
    kept_ids = kept_ids.iloc[order].reset_index(drop=True)
    weights = augment(weights[order], kept_ids, seed, asymmetry=asymmetry, jitter=jitter)
    keys = pd.DataFrame({
        "text_id": kept_ids,
        "split": meta["split"].reindex(kept_ids).astype("string").to_numpy(),
        "emotion": meta["emotion"].reindex(kept_ids).astype("string").to_numpy(),
        "description": descriptions["description"].iloc[keep].iloc[order].astype("string").to_numpy(),
    })
    values = pd.DataFrame(weights, columns=list(ARKIT_NAMES))
    table = pd.concat([keys, values], axis=1)
    return BuildResult(table, n, exclusions, int(corpus_dup.sum()))
