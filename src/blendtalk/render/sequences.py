"""Blendshape sequences for rendering: `(T, 52)` float32 weights in [0, 1] at 30 fps, ARKit order.

`load_sequence` reads `.npy` (a `(T, 52)` or `(52,)` array), Parquet (one row per frame, the 52
ARKit-named columns; other columns ignored) and Live Link Face CSV (`blendtalk.livelink`).
`expression_envelope` turns one expression into the
neutral → expression → neutral clip of the expression videos.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.livelink import read_livelink_csv

#: Values this far outside [0, 1] are rounding noise (clipped); further out is an error.
TOLERANCE = 1e-3


def load_sequence(path: str | os.PathLike) -> np.ndarray:
    """`(T, 52)` float32 weights from a `.npy`, `.parquet` or `.csv` file.

    Raises ValueError naming the file and the first bad row/column for missing ARKit columns,
    non-numeric or non-finite values, or values outside [0, 1]."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        weights = np.load(path, allow_pickle=False)
        if weights.ndim == 1:
            weights = weights[None]
        if weights.ndim != 2 or weights.shape[1] != len(ARKIT_NAMES):
            raise ValueError(f"{path}: expected a (T, 52) array, got shape {weights.shape}")
        return _validated(np.asarray(weights, dtype=np.float64), path, list(ARKIT_NAMES))
    if suffix == ".parquet":
        return _from_table(pd.read_parquet(path), path)
    if suffix == ".csv":
        weights = read_livelink_csv(path).weights
        if len(weights) == 0:
            raise ValueError(f"{path}: no frames")
        return weights
    raise ValueError(f"{path}: unsupported sequence format {suffix!r} (use .npy, .parquet or .csv)")


def _from_table(table: pd.DataFrame, path: Path) -> np.ndarray:
    columns = {str(c).strip(): c for c in table.columns}
    missing = [n for n in ARKIT_NAMES if n not in columns]
    if missing:
        raise ValueError(f"{path}: missing {len(missing)} ARKit column(s): {', '.join(missing[:8])}"
                         + (" …" if len(missing) > 8 else ""))
    if table.empty:
        raise ValueError(f"{path}: no rows")
    picked = table[[columns[n] for n in ARKIT_NAMES]]
    numeric = picked.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & picked.notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(f"{path}: row {row}, column {ARKIT_NAMES[col]}: not a number "
                         f"({picked.iat[row, col]!r})")
    return _validated(numeric.to_numpy(dtype=np.float64), path, list(ARKIT_NAMES))


def _validated(weights: np.ndarray, path: Path, names: list[str]) -> np.ndarray:
    finite = np.isfinite(weights)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"{path}: row {row}, column {names[col]}: value is {weights[row, col]}")
    outside = (weights < -TOLERANCE) | (weights > 1 + TOLERANCE)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(f"{path}: row {row}, column {names[col]}: {weights[row, col]:g} is outside [0, 1]")
    return np.clip(weights, 0.0, 1.0).astype(np.float32)


def expression_envelope(weights: np.ndarray, duration_s: float = 2.0, fps: int = 30,
                        rest_s: float = 0.2, ramp_s: float = 0.4) -> np.ndarray:
    """Neutral → expression → neutral: `(52,)` weights → `(round(duration_s * fps), 52)` float32.

    The clip rests at neutral for `rest_s`, eases in over `ramp_s` (smoothstep), holds the
    expression, eases out over `ramp_s` and rests at neutral again; the first and last frames
    are exactly neutral and the middle frame is exactly the expression."""
    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape != (len(ARKIT_NAMES),):
        raise ValueError(f"expected (52,) weights, got {weights.shape}")
    n_frames = int(round(duration_s * fps))
    if n_frames < 3 or 2 * (rest_s + ramp_s) > duration_s:
        raise ValueError(f"duration {duration_s}s is too short for rests of {rest_s}s and ramps of {ramp_s}s")
    t = np.arange(n_frames) / fps
    t_mirror = np.minimum(t, t[-1] - t)  # time from the nearer end
    x = np.clip((t_mirror - rest_s) / ramp_s, 0.0, 1.0)
    envelope = x * x * (3 - 2 * x)
    return (envelope[:, None] * weights[None]).astype(np.float32)
