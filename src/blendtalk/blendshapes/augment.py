"""Optional seeded augmentation of expression rows: left/right asymmetry and per-row jitter.

Both are off (0) for the canonical table. Draws come from one generator seeded by `seed`, one
draw per row in the given row order (the table is sorted by `text_id`, so the same rows and seed
give the same values).
"""

from __future__ import annotations

import numpy as np

from blendtalk.arkit import LR_PAIRS

#: Mixed with the master seed so this stage's draws are independent of other stages' streams.
_STREAM = 0xB1E5


def augment(weights: np.ndarray, seed: int, asymmetry: float = 0.0, jitter: float = 0.0) -> np.ndarray:
    """Return augmented `(N, 52)` float32 weights in [0, 1]; the input is not modified.

    asymmetry: per row a ~ U(−asymmetry, asymmetry); every Left channel is scaled by (1 + a) and
        its Right partner by (1 − a), so one side of the face moves more.
    jitter: per row a gain g = exp(jitter × z), z ~ N(0, 1), scales every channel, varying the
        overall intensity while keeping the expression's shape (zeros stay zero).
    Results are clipped to [0, 1]. With both 0 the weights come back unchanged.
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 2 or weights.shape[1] != 52:
        raise ValueError(f"expected (N, 52) weights, got {weights.shape}")
    if asymmetry < 0 or jitter < 0:
        raise ValueError(f"asymmetry and jitter must be >= 0, got {asymmetry} and {jitter}")
    if asymmetry == 0 and jitter == 0:
        return weights.copy()
    rng = np.random.default_rng([seed, _STREAM])
    n = weights.shape[0]
    a = rng.uniform(-asymmetry, asymmetry, size=n) if asymmetry else np.zeros(n)
    g = np.exp(jitter * rng.standard_normal(n)) if jitter else np.ones(n)
    factors = np.repeat(g[:, None], 52, axis=1)
    left, right = (list(side) for side in zip(*LR_PAIRS))
    factors[:, left] *= (1 + a)[:, None]
    factors[:, right] *= (1 - a)[:, None]
    return np.clip(weights * factors, 0.0, 1.0).astype(np.float32)
