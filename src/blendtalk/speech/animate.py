"""The procedural animator: phone timings (+ the style's expression, prosody) → ARKit-52 curves.

`animate(alignment, duration_s, ...)` returns `(ceil(fps × duration_s), 52)` float32 in [0, 1],
canonical ARKit order; the same inputs give byte-identical output. Steps:

1. Speech: coarticulated viseme curves S(t) (`blendtalk.speech.visemes`); jawOpen and mouthClose
   are scaled together by the energy gain g(t) = GAIN_QUIET + (GAIN_LOUD − GAIN_QUIET) ·
   clip(energy / p90(energy), 0, 1) (louder speech opens the jaw wider; scaling both keeps a
   closure closed), then smoothed by a Savitzky–Golay filter (SMOOTH_FRAMES frames, order 2).
2. Expression: the style's static `(52,)` expression times an envelope e(t): onset (smoothstep
   from 0 to 1 over min(ONSET_S, D/3)), apex, offset (down to OFFSET_FLOOR over min(OFFSET_S,
   D/3) at the end), times 1 + EMPHASIS · (stressed-vowel mask, Gaussian-smoothed).
3. Combination, per channel (the documented rule, also in resources/speech/README_visemes.md):
       out = S + E · (1 − (1 − keep) · m(t)),
   m(t) in [0, 1] being the speech activity (the dominance blend of 1 for phones, 0 for `sil`).
   keep = 1 for every channel speech does not articulate: smile, dimple, mouthLeft/Right,
   cheeks, eyes, brows, nose (the smile survives speech; the upper face is the expression's);
   keep = KEEP_WHILE_TALKING for the articulation channels (the table's: jawOpen, mouthClose,
   funnel, pucker, stretch, roll, press, lowerDown, upperUp, shrug, tongueOut), mouthFrown and
   jawForward/Left/Right: while the mouth moves, jawOpen = speech jaw + a small share of the
   expression's, and frown/press/upper-lip raise are scaled down; in pauses the expression has
   them all.
4. Prosody: F0 peaks above the voiced median raise browInnerUp and browOuterUp*; blinks
   (eyeBlink L/R together) are seeded. Both combine with the expression by probabilistic OR
   (1 − (1 − a)(1 − b)) and max respectively.
5. Clip to [0, 1], mouthClose ≤ jawOpen (ARKit: the lips close against the open jaw), then
   re-enforce the closure targets (`visemes.enforce_targets`), so smoothing, gain and the
   expression's jaw never open a /P B M/ or /F V/.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from blendtalk.arkit import INDEX, N_BLENDSHAPES
from blendtalk.seeding import rng
from blendtalk.speech.phones import SIL
from blendtalk.speech.visemes import (FPS, Segments, VisemeTable, coarticulate, enforce_targets,
                                      frame_times, load_visemes, n_frames, segments)

GAIN_QUIET, GAIN_LOUD = 0.75, 1.15  # jaw amplitude scale at silent and p90 energy
SMOOTH_FRAMES = 5  # Savitzky–Golay window of the speech curves (frames; 167 ms at 30 fps)
ONSET_S, OFFSET_S, OFFSET_FLOOR = 0.4, 0.5, 0.3  # expression envelope (s, s, share of apex)
EMPHASIS = 0.25  # extra expression on stressed vowels (share of apex)
EMPHASIS_SIGMA_S = 0.08  # Gaussian smoothing of the stressed-vowel mask (s)
KEEP_WHILE_TALKING = 0.25  # share of the expression's articulation channels kept while talking
F0_LOW_ST, F0_HIGH_ST = 1.0, 5.0  # semitones above the voiced median where brows start / peak
F0_SIGMA_S = 0.07  # Gaussian smoothing of the brow raise (s)
BROWS = {"browInnerUp": 0.35, "browOuterUpLeft": 0.25, "browOuterUpRight": 0.25}  # at full raise
BLINK_GAP_S, BLINK_DURATION_S, BLINK_FIRST_S = (2.0, 6.0), (0.15, 0.25), (0.5, 3.0)  # uniform ranges
BLINK_CLOSING = 0.4  # share of a blink spent closing (the rest opening)
BLINK_CLOSED = 1.6  # the triangular lid profile times this, clipped: fully shut mid-blink
#: Expression channels besides the table's that yield to speech while talking.
_YIELDING = tuple(INDEX[n] for n in ("mouthFrownLeft", "mouthFrownRight", "jawForward", "jawLeft", "jawRight"))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _series(values: np.ndarray | None, count: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.shape != (count,):
        raise ValueError(f"{name} must have one value per frame ({count},), got {values.shape}")
    return values


def jaw_gain(energy: np.ndarray) -> np.ndarray:
    """Energy `(T,)` (any non-negative unit, e.g. RMS) → jaw amplitude scale `(T,)` in
    [GAIN_QUIET, GAIN_LOUD], relative to the utterance's 90th energy percentile."""
    ref = float(np.percentile(energy, 90))
    level = np.clip(energy / ref, 0.0, 1.0) if ref > 0 else np.ones_like(energy)
    return GAIN_QUIET + (GAIN_LOUD - GAIN_QUIET) * level


def brow_raise(f0: np.ndarray, fps: int = FPS) -> np.ndarray:
    """F0 `(T,)` in Hz (0 = unvoiced) → brow raise `(T,)` in [0, 1]: 0 below F0_LOW_ST semitones
    over the voiced median, 1 from F0_HIGH_ST, linear between, Gaussian-smoothed; 0 unvoiced."""
    voiced = f0 > 0
    if not voiced.any():
        return np.zeros_like(f0)
    semitones = 12.0 * np.log2(np.where(voiced, f0, 1.0) / np.median(f0[voiced]))
    raise_ = np.where(voiced, np.clip((semitones - F0_LOW_ST) / (F0_HIGH_ST - F0_LOW_ST), 0, 1), 0.0)
    return np.clip(gaussian_filter1d(raise_, F0_SIGMA_S * fps, mode="nearest"), 0.0, 1.0)


def blink_curve(count: int, seed: int, fps: int = FPS) -> np.ndarray:
    """Seeded eyelid closure `(count,)` in [0, 1]: blinks every BLINK_GAP_S seconds, each lasting
    BLINK_DURATION_S (uniform draws from `seeding.rng(seed, "speech.blinks")`), closing over
    BLINK_CLOSING of it and fully shut in the middle. Same seed → same blinks."""
    duration = count / fps
    draws = int(duration / BLINK_GAP_S[0]) + 2
    g = rng(seed, "speech.blinks")
    first = g.uniform(*BLINK_FIRST_S)
    starts = first + np.concatenate([[0.0], np.cumsum(g.uniform(*BLINK_GAP_S, draws - 1))])
    lengths = g.uniform(*BLINK_DURATION_S, draws)
    t = frame_times(count, fps)
    j = np.searchsorted(starts, t, side="right") - 1
    phase = (t - starts[np.maximum(j, 0)]) / lengths[np.maximum(j, 0)]
    lid = np.minimum(phase / BLINK_CLOSING, (1.0 - phase) / (1.0 - BLINK_CLOSING))
    return np.where((j >= 0) & (phase < 1.0), np.clip(BLINK_CLOSED * lid, 0.0, 1.0), 0.0)


def _stress_mask(alignment: pd.DataFrame, stressed: np.ndarray, count: int, fps: int) -> np.ndarray:
    """1 on frames inside stressed phones, else 0, Gaussian-smoothed `(count,)`."""
    if stressed.shape != (len(alignment),):
        raise ValueError(f"stressed needs one flag per alignment row ({len(alignment)},), got {stressed.shape}")
    t = frame_times(count, fps)
    start = alignment["start_s"].to_numpy(dtype=float)[stressed]
    end = alignment["end_s"].to_numpy(dtype=float)[stressed]
    # +1 on entering a stressed phone, -1 on leaving it: a cumulative sum gives the inside mask.
    steps = np.zeros(count + 1)
    np.add.at(steps, np.searchsorted(t, start), 1.0)
    np.add.at(steps, np.searchsorted(t, end), -1.0)
    inside = np.cumsum(steps)[:count] > 0
    return gaussian_filter1d(inside.astype(float), EMPHASIS_SIGMA_S * fps, mode="constant")


def expression_envelope(count: int, fps: int = FPS, emphasis: np.ndarray | None = None) -> np.ndarray:
    """Onset–apex–offset envelope `(count,)` of the style expression (module doc, step 2), times
    1 + EMPHASIS · `emphasis` (a `(count,)` stressed-vowel mask in [0, 1]) when given."""
    t = frame_times(count, fps)
    duration = count / fps
    onset, offset = min(ONSET_S, duration / 3), min(OFFSET_S, duration / 3)
    rise = _smoothstep(t / onset) if onset > 0 else np.ones(count)
    fall = 1.0 - (1.0 - OFFSET_FLOOR) * _smoothstep((t - (duration - offset)) / offset)
    envelope = rise * fall
    return envelope if emphasis is None else envelope * (1.0 + EMPHASIS * emphasis)


def keep_while_talking(table: VisemeTable) -> np.ndarray:
    """`(52,)` share of the expression each channel keeps while the mouth moves: 1, or
    KEEP_WHILE_TALKING on the table's articulation channels, mouthFrown* and the jaw's."""
    keep = np.ones(N_BLENDSHAPES)
    keep[list(table.channels) + list(_YIELDING)] = KEEP_WHILE_TALKING
    return keep


def _speech(segs: Segments, table: VisemeTable, count: int, energy: np.ndarray | None,
            fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Speech curves `(T, 52)` (gain-scaled, smoothed) and speech activity `(T,)`."""
    values = np.concatenate([table.targets, (np.array(table.phones) != SIL)[:, None]], axis=1)
    blended = coarticulate(segs, table, values.astype(float), count, fps)
    curves, activity = blended[:, :N_BLENDSHAPES], blended[:, N_BLENDSHAPES]
    if energy is not None:
        curves[:, [INDEX["jawOpen"], INDEX["mouthClose"]]] *= jaw_gain(energy)[:, None]
    if count >= SMOOTH_FRAMES:
        curves = savgol_filter(curves, SMOOTH_FRAMES, 2, axis=0, mode="interp")
    return curves, activity


def animate(alignment: pd.DataFrame, duration_s: float, *, expression: np.ndarray | None = None,
            energy: np.ndarray | None = None, f0: np.ndarray | None = None,
            stressed: np.ndarray | None = None, seed: int = 0, fps: int = FPS,
            blinks: bool = True, table: VisemeTable | None = None) -> np.ndarray:
    """Animate one utterance → `(ceil(fps × duration_s), 52)` float32 in [0, 1], canonical order.

    `alignment`: `phone, start_s, end_s[, word]` (seconds; ARPAbet + `sil`); `expression`: the
    style's static `(52,)` weights in [0, 1] (None: neutral); `energy`: `(T,)` per-frame speech
    energy (None: constant gain 1); `f0`: `(T,)` Hz, 0 unvoiced (None: no brow prosody);
    `stressed`: bool per alignment row, True on primary-stressed vowels (None: no emphasis);
    `seed`: the blinks' seed (pass one per utterance); `blinks`: False for none; `table`: the
    viseme table (default `visemes.load_visemes()`). See the module doc for the rule.
    """
    table = table or load_visemes()
    count = n_frames(duration_s, fps)
    energy, f0 = _series(energy, count, "energy"), _series(f0, count, "f0")
    segs = segments(alignment, duration_s, table)
    speech, activity = _speech(segs, table, count, energy, fps)
    face = speech
    if expression is not None:
        expression = np.asarray(expression, dtype=float).reshape(-1)
        if expression.shape != (N_BLENDSHAPES,):
            raise ValueError(f"expression must be (52,) weights, got {expression.shape}")
        emphasis = None if stressed is None else _stress_mask(
            alignment, np.asarray(stressed, dtype=bool).reshape(-1), count, fps)
        share = 1.0 - (1.0 - keep_while_talking(table)) * activity[:, None]
        face = face + expression_envelope(count, fps, emphasis)[:, None] * expression * share
    face = np.clip(face, 0.0, 1.0)
    if f0 is not None:
        raise_ = brow_raise(f0, fps)
        for name, amount in BROWS.items():
            face[:, INDEX[name]] = 1.0 - (1.0 - face[:, INDEX[name]]) * (1.0 - amount * raise_)
    if blinks:
        lids = blink_curve(count, seed, fps)
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            face[:, INDEX[name]] = np.maximum(face[:, INDEX[name]], lids)
    face[:, INDEX["mouthClose"]] = np.minimum(face[:, INDEX["mouthClose"]], face[:, INDEX["jawOpen"]])
    face = enforce_targets(face, segs, table, fps)
    return np.clip(face, 0.0, 1.0).astype(np.float32)
