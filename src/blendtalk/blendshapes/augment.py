"""Optional seeded augmentation of expression rows: left/right asymmetry and per-row jitter.

Both are off (0) for the canonical table. Each row's draws come from a hash of its `text_id` and
the seed, so a row gets the same values whatever other rows the table holds, in any order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from blendtalk.arkit import LR_PAIRS, check_weights
from blendtalk.ids import seeded_rank


def _uniform(ids: pd.Series, seed: int, stream: str) -> np.ndarray:
    """(N,) float64 in (0, 1), one per id, from the hash of (id, seed, stream)."""
    bits = seeded_rank(ids, f"blendshapes.augment.{stream}:{seed}") >> np.uint64(11)  # 53 bits
    return (bits.astype(np.float64) + 0.5) / 2.0**53


def augment(weights: np.ndarray, ids: pd.Series, seed: int, asymmetry: float = 0.0,
            jitter: float = 0.0) -> np.ndarray:
    """Return augmented `(N, 52)` float32 weights in [0, 1] for rows with `text_id`s `ids`
    `(N,)`; the input is not modified.

    asymmetry: per row a ~ U(−asymmetry, asymmetry); every Left channel is scaled by (1 + a) and
        its Right partner by (1 − a), so one side of the face moves more.
    jitter: per row a gain g = exp(jitter × z), z ~ N(0, 1), scales every channel, varying the
        overall intensity while keeping the expression's shape (zeros stay zero).
    Results are clipped to [0, 1]. With both 0 the weights come back unchanged.
    """
    weights = check_weights(weights, ndim=2, what="augment weights")
    if asymmetry < 0 or jitter < 0:
        raise ValueError(f"asymmetry and jitter must be >= 0, got {asymmetry} and {jitter}")
    if asymmetry == 0 and jitter == 0:
        return weights.copy()
    ids = pd.Series(ids, dtype=object)
    if len(ids) != weights.shape[0]:
        raise ValueError(f"{len(ids)} ids for {weights.shape[0]} rows")
    a = asymmetry * (2 * _uniform(ids, seed, "asymmetry") - 1)
    g = np.exp(jitter * ndtri(_uniform(ids, seed, "jitter")))
    factors = np.repeat(g[:, None], 52, axis=1)
    left, right = (list(side) for side in zip(*LR_PAIRS))
    factors[:, left] *= (1 + a)[:, None]
    factors[:, right] *= (1 - a)[:, None]
    return np.clip(weights * factors, 0.0, 1.0).astype(np.float32)
