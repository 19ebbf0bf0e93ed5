"""Lip-sync metrics of an animation against its phone timings: pure functions over arrays.

Inputs are a per-frame mouth opening `(T,)` (or curves `(T, 52)`, canonical ARKit order), the
frame rate, and phone segments as `start_s`, `end_s` `(S,)` arrays in seconds. The frames of a
segment are those whose instant t / fps lies in [start, end], or, for a segment shorter than a
frame that contains none, the frame nearest its centre (`segment_frames`).

The opening comes from either
- a rig: the mean distance between paired upper and lower inner-lip vertices in the rig's units
  (`Rig.mouth_opening(vertices)` with the rig's "mouth_upper" / "mouth_lower" vertex sets; the
  reference head's relaxed neutral mouth is parted 0.116 cm, a /b/ pose about 0.03 cm;
  `REFERENCE_HEAD_CLOSED_CM` is the threshold for it), or
- the curves alone: `opening_from_curves`, a linear proxy in jawOpen units (`PROXY_CLOSED`).

Metrics:
- `closure_rate`: share of segments (give /P B M/) whose opening reaches <= a closed threshold
  at some frame of the segment.
- `rounding_rate`: share of segments (give /UW OW W/) where max(mouthPucker, mouthFunnel)
  reaches >= a threshold at some frame (`rounding_from_curves`).
- `openness_correlation`: Pearson correlation over vowel segments of the segment's peak
  opening with the vowel's openness (e.g. `phones.csv`'s).
- `av_offset`: the lag in frames in [−max_lag, max_lag] that maximises the cross-correlation of
  the z-scored opening with the z-scored speech envelope; positive = the mouth lags the audio.
- `jitter`: mean absolute second difference of curves (units per frame²).
- `mouth_opening_distance` (MOD): mean absolute difference to a reference opening (units).
`metrics.mesh.mouth_opening_difference` is MOD on vertex sequences.
"""

from __future__ import annotations

import numpy as np

from blendtalk.arkit import INDEX

FPS = 30
PROXY_CLOSED = 0.02  # `opening_from_curves` at or below this is a closed mouth (jawOpen units)
REFERENCE_HEAD_CLOSED_CM = 0.06  # reference-head opening (cm) at or below this is closed
ROUNDED_THRESHOLD = 0.3  # max(pucker, funnel) from which a vowel counts as rounded
#: The curve proxy: opening = max(Σ weight · channel, 0). Each side of a Left/Right pair weighs
#: half, e.g. mouthLowerDown at w on both sides adds 0.5 w.
OPENING_WEIGHTS: dict[str, float] = {
    "jawOpen": 1.0, "mouthClose": -1.0, "mouthFunnel": 0.3,
    "mouthLowerDownLeft": 0.25, "mouthLowerDownRight": 0.25,
    "mouthUpperUpLeft": 0.25, "mouthUpperUpRight": 0.25,
    "mouthPressLeft": -0.15, "mouthPressRight": -0.15,
}
_OPENING = np.zeros(len(INDEX))
_OPENING[[INDEX[n] for n in OPENING_WEIGHTS]] = list(OPENING_WEIGHTS.values())


def opening_from_curves(curves: np.ndarray) -> np.ndarray:
    """Curve-only mouth opening `(T,)` ≥ 0 from `(T, 52)` curves (`OPENING_WEIGHTS`): jaw drop
    and lip pulls open the mouth, mouthClose and lip press close it; 0 at the neutral face."""
    return np.maximum(np.asarray(curves, dtype=float) @ _OPENING, 0.0)


def rounding_from_curves(curves: np.ndarray) -> np.ndarray:
    """Lip rounding `(T,)`: max(mouthPucker, mouthFunnel) of `(T, 52)` curves."""
    curves = np.asarray(curves, dtype=float)
    return np.maximum(curves[:, INDEX["mouthPucker"]], curves[:, INDEX["mouthFunnel"]])


def segment_frames(start_s: np.ndarray, end_s: np.ndarray, n_frames: int,
                   fps: int = FPS) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive frame ranges `(first, last)`, each `(S,)` int, of segments in seconds (see the
    module doc), clipped to [0, n_frames − 1]."""
    start = np.asarray(start_s, dtype=float) * fps
    end = np.asarray(end_s, dtype=float) * fps
    first, last = np.ceil(start - 1e-9).astype(np.intp), np.floor(end + 1e-9).astype(np.intp)
    centre = np.rint((start + end) / 2).astype(np.intp)
    empty = last < first
    first, last = np.where(empty, centre, first), np.where(empty, centre, last)
    return np.clip(first, 0, n_frames - 1), np.clip(last, 0, n_frames - 1)


def _segment_reduce(values: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, fps: int,
                    ufunc: np.ufunc) -> np.ndarray:
    """`ufunc.reduce` of `values` `(T,)` over each segment's frames → `(S,)`."""
    values = np.asarray(values, dtype=float).reshape(-1)
    first, last = segment_frames(start_s, end_s, len(values), fps)
    lengths = last - first + 1
    offsets = np.cumsum(lengths) - lengths
    frames = first.repeat(lengths) + np.arange(lengths.sum()) - offsets.repeat(lengths)
    return ufunc.reduceat(values[frames], offsets) if len(first) else np.zeros(0)


def closure_rate(opening: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, *,
                 threshold: float, fps: int = FPS) -> float:
    """Share of segments whose `opening` `(T,)` is <= `threshold` (its units) at some frame of
    the segment; NaN without segments."""
    if len(start_s) == 0:
        return float("nan")
    return float(np.mean(_segment_reduce(opening, start_s, end_s, fps, np.minimum) <= threshold))


def rounding_rate(rounding: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, *,
                  threshold: float = ROUNDED_THRESHOLD, fps: int = FPS) -> float:
    """Share of segments whose `rounding` `(T,)` is >= `threshold` at some frame of the
    segment; NaN without segments."""
    if len(start_s) == 0:
        return float("nan")
    return float(np.mean(_segment_reduce(rounding, start_s, end_s, fps, np.maximum) >= threshold))


def openness_correlation(opening: np.ndarray, start_s: np.ndarray, end_s: np.ndarray,
                         openness: np.ndarray, fps: int = FPS) -> float:
    """Pearson correlation of each (vowel) segment's peak `opening` with its `openness` `(S,)`;
    NaN with fewer than 2 segments or a constant side."""
    peaks = _segment_reduce(opening, start_s, end_s, fps, np.maximum)
    openness = np.asarray(openness, dtype=float)
    if len(peaks) < 2 or np.ptp(peaks) == 0 or np.ptp(openness) == 0:
        return float("nan")
    return float(np.corrcoef(peaks, openness)[0, 1])


def _zscore(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float).reshape(-1)
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def av_offset(opening: np.ndarray, envelope: np.ndarray, max_lag: int = 15) -> int:
    """Audio–visual offset in frames: the lag L in [−max_lag, max_lag] maximising the mean over
    the overlap of z(opening)[t] · z(envelope)[t − L]; positive L = the mouth follows the audio
    L frames late. Both `(T,)` at the same frame rate; ties go to the smaller |L|."""
    a, b = _zscore(opening), _zscore(envelope)
    if a.shape != b.shape:
        raise ValueError(f"opening {a.shape} and envelope {b.shape} must have one length")
    n = len(a)
    max_lag = min(int(max_lag), n - 1)
    full = np.correlate(a, b, mode="full")  # index n − 1 + L holds Σ_t a[t] b[t − L]
    lags = np.arange(-max_lag, max_lag + 1)
    score = full[n - 1 + lags] / (n - np.abs(lags))
    best = np.flatnonzero(np.isclose(score, score.max()))
    return int(lags[best[np.argmin(np.abs(lags[best]))]])


def jitter(curves: np.ndarray) -> float:
    """Mean absolute second difference of `(T,)` or `(T, C)` curves over frames (and
    channels): units per frame²; 0 for fewer than 3 frames."""
    curves = np.asarray(curves, dtype=float)
    if len(curves) < 3:
        return 0.0
    return float(np.mean(np.abs(np.diff(curves, n=2, axis=0))))


def mouth_opening_distance(opening: np.ndarray, reference: np.ndarray) -> float:
    """MOD: mean over frames of |opening − reference|, both `(T,)` in one unit."""
    opening, reference = np.asarray(opening, dtype=float), np.asarray(reference, dtype=float)
    if opening.shape != reference.shape:
        raise ValueError(f"opening {opening.shape} and reference {reference.shape} differ in shape")
    return float(np.mean(np.abs(opening - reference)))
