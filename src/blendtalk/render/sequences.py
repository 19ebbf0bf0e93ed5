"""Blendshape sequences for rendering: `(T, 52)` float32 weights in [0, 1] at 30 fps, ARKit order.

`load_sequence` reads `.npy` (a `(T, 52)` or `(52,)` array), Parquet (one row per frame, the 52
ARKit-named columns; other columns ignored) and Live Link Face CSV (`blendtalk.livelink`).
`expression_envelope` turns one expression into the
neutral → expression → neutral clip of the expression videos.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.arkit import ARKIT_NAMES, check_weights
from blendtalk.livelink import read_livelink_csv

#: Values this far outside [0, 1] are rounding noise (clipped); further out is an error.
TOLERANCE = 1e-3


def load_sequence(path: str | os.PathLike) -> np.ndarray:
    """`(T, 52)` float32 weights in [0, 1] from a `.npy`, `.parquet` or `.csv` file (T ≥ 1).

    Raises ValueError naming the file and what it expected: for a file that is not of its
    suffix's format, a wrong shape, missing ARKit columns, and (with the first bad row and column)
    non-numeric or non-finite values or values outside [0, 1]."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: unsupported sequence format {path.suffix!r} (use .npy, .parquet or .csv)")
    weights = check_weights(reader(path), ndim=2, what=str(path))
    if len(weights) == 0:
        raise ValueError(f"{path}: no frames")
    outside = (weights < -TOLERANCE) | (weights > 1 + TOLERANCE)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise ValueError(f"{path}: row {row}, column {ARKIT_NAMES[col]}: {weights[row, col]:g} is outside [0, 1]")
    return np.clip(weights, 0.0, 1.0)


def _read_npy(path: Path) -> np.ndarray:
    """A `(T, 52)` or `(52,)` numeric array (one frame) from a `.npy` file, as `(T, 52)`."""
    try:
        with open(path, "rb") as fh:
            array = np.lib.format.read_array(fh, allow_pickle=False)
    except ValueError:
        raise ValueError(f"{path}: not a NumPy .npy array of numbers; expected a (T, 52) array") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {array.dtype} array; expected (T, 52) numbers")
    return array[None] if array.ndim == 1 else array


def _read_parquet(path: Path) -> np.ndarray:
    """The 52 ARKit-named columns of a Parquet table (one row per frame; other columns ignored)."""
    try:
        table = pd.read_parquet(path)
    except ValueError as exc:  # pyarrow's ArrowInvalid, e.g. no Parquet magic bytes
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = {str(c).strip(): c for c in table.columns}
    missing = [n for n in ARKIT_NAMES if n not in columns]
    if missing:
        raise ValueError(f"{path}: missing {len(missing)} ARKit column(s): {', '.join(missing[:8])}"
                         + (" …" if len(missing) > 8 else "")
                         + "; expected one row per frame with the 52 ARKit-named columns")
    picked = table[[columns[n] for n in ARKIT_NAMES]]
    numeric = picked.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & picked.notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(f"{path}: row {row}, column {ARKIT_NAMES[col]}: not a number "
                         f"({picked.iat[row, col]!r})")
    return numeric.to_numpy(dtype=np.float64)


def _read_csv(path: Path) -> np.ndarray:
    """The curves of a Live Link Face CSV (`blendtalk.livelink`)."""
    return read_livelink_csv(path).weights


_READERS: dict[str, Callable[[Path], np.ndarray]] = {".npy": _read_npy, ".parquet": _read_parquet,
                                                      ".csv": _read_csv}


def expression_envelope(weights: np.ndarray, duration_s: float = 2.0, fps: int = 30,
                        rest_s: float = 0.2, ramp_s: float = 0.4) -> np.ndarray:
    """Neutral → expression → neutral: `(52,)` weights → `(round(duration_s * fps), 52)` float32.

    The clip rests at neutral for `rest_s`, eases in over `ramp_s` (smoothstep), holds the
    expression, eases out over `ramp_s` and rests at neutral again; the first and last frames
    are exactly neutral and the middle frame is exactly the expression."""
    weights = check_weights(weights, ndim=1, what="expression")
    n_frames = int(round(duration_s * fps))
    if n_frames < 3 or 2 * (rest_s + ramp_s) > duration_s:
        raise ValueError(f"duration {duration_s}s is too short for rests of {rest_s}s and ramps of {ramp_s}s")
    t = np.arange(n_frames) / fps
    t_mirror = np.minimum(t, t[-1] - t)  # time from the nearer end
    x = np.clip((t_mirror - rest_s) / ramp_s, 0.0, 1.0)
    envelope = x * x * (3 - 2 * x)
    return (envelope[:, None] * weights[None]).astype(np.float32)
