"""Phones → coarticulated ARKit mouth/jaw curves (Cohen–Massaro dominance blending).

Table (`resources/speech/visemes.csv`, documented in `resources/speech/README_visemes.md`), one
row per phone of `blendtalk.speech.phones.PHONES`:
    phone, viseme   the phone and its viseme class (the classes of `phones.csv`)
    dominance       α in (0, 1]: how strongly the segment imposes its target on its neighbours
                    (bilabials and labiodentals ~1, schwa-like and velar phones low)
    must_reach      1: the target is a hard constraint at the segment's centre frame (P B M F V)
    <channels>      ARKit targets in [0, 1]: ARKit names or bilateral stems (`mouthPress` =
                    both `mouthPressLeft` and `mouthPressRight`), the same columns for every row
    rationale       why, for review

Coarticulation (Cohen & Massaro 1993): segment s with centre c_s, duration d_s has dominance
    D_s(t) = α_s · exp(−max(|t − c_s| − h_s, 0) / τ),   h_s = max(d_s / 2 − EDGE_S, 0),
with τ = ANTICIPATION_S before the centre and CARRYOVER_S after it (ANTICIPATION_S > CARRYOVER_S:
a segment's dominance rises before its onset, so the next viseme is anticipated). The plateau
h_s lets long segments (pauses) hold their own target; short ones are peaked at their centre.
Each frame's curves are the dominance-weighted mean of the segments' targets,
    F(t) = Σ_s D_s(t) T_s / Σ_s D_s(t),
over the BAND segments either side of the frame's own (a truncation: farther segments weigh
under ~e⁻⁴ of the nearest). Weights are normalised in the log domain, so long pauses never
underflow.

Blending alone does not reach short closures (a 50 ms /b/ between two vowels gets ~60 % of its
target), so `enforce_targets` then pulls every `must_reach` segment to its target: weight 1 at
its centre frame, falling linearly to 0 over d_s / 2 + 1 frame on each side. It sets the
channels the viseme drives plus every channel that parts or closes the lips (`LIP_CHANNELS`, to
their target, usually 0); other channels (e.g. the anticipated rounding during the /m/ of
"moon", a smile) keep their value.

Times are seconds; frame t is the instant t / fps; an utterance of D seconds has ceil(fps × D)
frames (`n_frames`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.arkit import INDEX, N_BLENDSHAPES
from blendtalk.blendshapes.mapping import channels_of
from blendtalk.paths import resource
from blendtalk.speech.audio import n_frames
from blendtalk.speech.phones import PHONES, SIL

VISEMES_CSV = resource("resources/speech/visemes.csv")
FPS = 30
ANTICIPATION_S = 0.07  # dominance decay constant before a segment's centre (s)
CARRYOVER_S = 0.045  # ... and after it (s)
EDGE_S = 0.03  # a segment's dominance is flat up to this far (s) from its edges
BAND = 4  # segments either side of a frame's own that take part in its blend
#: Channels that move the lips apart or together; `enforce_targets` sets them all for a
#: `must_reach` phone (on the reference head each of them at 0.5 moves a /b/ pose's lips apart).
LIP_CHANNELS: tuple[int, ...] = tuple(c for n in (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthPress", "mouthLowerDown", "mouthUpperUp") for c in channels_of(n))
_META = ("phone", "viseme", "dominance", "must_reach", "rationale")


@dataclass(frozen=True)
class VisemeTable:
    """`phones` (P,) in `PHONES` order, `visemes` (P,) class names, `targets` (P, 52) float64 in
    [0, 1] (canonical ARKit order), `dominance` (P,) float64 in (0, 1], `must_reach` (P,) bool,
    `channels`: the canonical columns the table drives (its articulation channels)."""

    phones: tuple[str, ...]
    visemes: tuple[str, ...]
    targets: np.ndarray
    dominance: np.ndarray
    must_reach: np.ndarray
    channels: tuple[int, ...]
    rationale: tuple[str, ...]
    source: Path

    def rows(self, phones: list[str] | np.ndarray) -> np.ndarray:
        """Table rows `(n,)` int of `phones`; ValueError naming the phones the table lacks."""
        index = {p: i for i, p in enumerate(self.phones)}
        unknown = sorted({str(p) for p in phones} - set(index))
        if unknown:
            raise ValueError(f"phones {unknown} are not in the phone set of {self.source} "
                             "(ARPAbet without stress digits, plus 'sil')")
        return np.array([index[p] for p in phones], dtype=np.intp)

    @property
    def enforced_mask(self) -> np.ndarray:
        """`(P, 52)` bool: the channels `enforce_targets` sets for each phone (none unless
        `must_reach`): the channels its target drives plus `LIP_CHANNELS`."""
        mask = self.targets > 0
        mask[:, list(LIP_CHANNELS)] = True
        return mask & self.must_reach[:, None]


def _check_table(df: pd.DataFrame, source: Path) -> None:
    missing = [c for c in _META if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing columns {missing}")
    if sorted(df["phone"]) != sorted(PHONES) or df["phone"].duplicated().any():
        raise ValueError(f"{source}: phones must be exactly the phone set {PHONES}, once each")
    values = df.drop(columns=list(_META)).to_numpy(dtype=float)
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(f"{source}: targets must lie in [0, 1]")
    if not np.all((df["dominance"] > 0) & (df["dominance"] <= 1)):
        raise ValueError(f"{source}: dominance must lie in (0, 1]")
    if df["rationale"].str.strip().eq("").any():
        raise ValueError(f"{source}: every row needs a rationale")


@functools.lru_cache(maxsize=4)
def load_visemes(path: str | os.PathLike = VISEMES_CSV) -> VisemeTable:
    """Read and validate the viseme table (cached per path; treat the result as read-only).

    ValueError naming the file for: missing columns, a phone set other than `PHONES`, an
    unknown channel, a target outside [0, 1], a dominance outside (0, 1], an empty rationale, or a
    mouthClose above jawOpen (ARKit's mouthClose closes the lips against an open jaw; above it
    the lips pass through each other).
    """
    source = Path(path)
    df = pd.read_csv(source, keep_default_na=False)
    _check_table(df, source)
    df = df.set_index("phone").loc[list(PHONES)].reset_index()
    targets = np.zeros((len(df), N_BLENDSHAPES))
    for name in df.columns.drop(list(_META)):
        try:
            columns = list(channels_of(name))
        except KeyError:
            raise ValueError(f"{source}: column {name!r} is not an ARKit name or bilateral stem") from None
        targets[:, columns] = df[name].to_numpy(dtype=float)[:, None]
    if np.any(targets[:, INDEX["mouthClose"]] > targets[:, INDEX["jawOpen"]]):
        raise ValueError(f"{source}: mouthClose must not exceed jawOpen")
    return VisemeTable(
        phones=tuple(df["phone"]), visemes=tuple(df["viseme"]), targets=targets,
        dominance=df["dominance"].to_numpy(dtype=float),
        must_reach=df["must_reach"].to_numpy(dtype=int).astype(bool),
        channels=tuple(int(c) for c in np.flatnonzero(targets.any(axis=0))),
        rationale=tuple(df["rationale"]), source=source)


@dataclass(frozen=True)
class Segments:
    """Phone segments covering [0, duration]: `rows` (S,) int rows of a `VisemeTable`,
    `start_s`, `end_s` (S,) float64 seconds, sorted and contiguous."""

    rows: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray

    @property
    def centre_s(self) -> np.ndarray:
        return 0.5 * (self.start_s + self.end_s)

    @property
    def duration_s(self) -> np.ndarray:
        return self.end_s - self.start_s


def check_alignment(alignment: pd.DataFrame) -> None:
    """ValueError unless `alignment` has `phone, start_s, end_s` with 0 <= start <= end,
    sorted by start and without overlaps."""
    missing = {"phone", "start_s", "end_s"} - set(alignment.columns)
    if missing:
        raise ValueError(f"alignment lacks columns {sorted(missing)}")
    start = alignment["start_s"].to_numpy(dtype=float)
    end = alignment["end_s"].to_numpy(dtype=float)
    if np.any(start < 0) or np.any(end < start) or np.any(start[1:] < end[:-1] - 1e-9):
        raise ValueError("alignment times must satisfy 0 <= start_s <= end_s, sorted, not overlapping")


def segments(alignment: pd.DataFrame, duration_s: float, table: VisemeTable) -> Segments:
    """The alignment's phones as `Segments`, with `sil` filling any time it leaves uncovered
    (before its first phone, between phones, after its last phone up to `duration_s`)."""
    check_alignment(alignment)
    start = alignment["start_s"].to_numpy(dtype=float)
    end = alignment["end_s"].to_numpy(dtype=float)
    rows = table.rows(alignment["phone"].astype(str).to_numpy())
    gap_start = np.concatenate([[0.0], end])
    gap_end = np.concatenate([start, [max(float(duration_s), end[-1] if end.size else 0.0)]])
    gaps = gap_end - gap_start > 1e-9
    sil = table.rows([SIL])[0]
    all_start = np.concatenate([start, gap_start[gaps]])
    order = np.argsort(all_start, kind="stable")
    return Segments(rows=np.concatenate([rows, np.full(gaps.sum(), sil)])[order],
                    start_s=all_start[order],
                    end_s=np.concatenate([end, gap_end[gaps]])[order])


def frame_times(count: int, fps: int = FPS) -> np.ndarray:
    """`(count,)` float64: the instants t / fps of frames 0 … count − 1 (s)."""
    return np.arange(count, dtype=float) / fps


def _neighbours(segs: Segments, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the candidate segments `(T, 2·BAND+1)` and whether each is real (not clipped)."""
    own = np.clip(np.searchsorted(segs.start_s, times, side="right") - 1, 0, len(segs.rows) - 1)
    cand = own[:, None] + np.arange(-BAND, BAND + 1)
    valid = (cand >= 0) & (cand < len(segs.rows))
    return np.clip(cand, 0, len(segs.rows) - 1), valid


def dominance_weights(segs: Segments, table: VisemeTable, times: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Cohen–Massaro weights: candidate segments `(T, K)` int and weights `(T, K)`
    float64 summing to 1 per frame, for frame instants `times` (T,) in seconds."""
    cand, valid = _neighbours(segs, times)
    offset = times[:, None] - segs.centre_s[cand]  # > 0: after the centre
    plateau = np.maximum(segs.duration_s[cand] / 2 - EDGE_S, 0.0)
    tau = np.where(offset < 0, ANTICIPATION_S, CARRYOVER_S)
    log_d = np.log(table.dominance[segs.rows[cand]]) - np.maximum(np.abs(offset) - plateau, 0.0) / tau
    log_d = np.where(valid, log_d, -np.inf)
    weights = np.exp(log_d - log_d.max(axis=1, keepdims=True))
    return cand, weights / weights.sum(axis=1, keepdims=True)


def coarticulate(segs: Segments, table: VisemeTable, values: np.ndarray, count: int,
                 fps: int = FPS) -> np.ndarray:
    """Dominance-blend per-phone `values` `(P, C)` (rows of `table`) over `count` frames →
    `(count, C)` float64."""
    cand, weights = dominance_weights(segs, table, frame_times(count, fps))
    return np.einsum("tk,tkc->tc", weights, values[segs.rows[cand]])


def enforce_targets(curves: np.ndarray, segs: Segments, table: VisemeTable,
                    fps: int = FPS) -> np.ndarray:
    """Pull `(T, 52)` curves to the target of every `must_reach` segment (see the module doc):
    exactly the target at its centre frame round(c·fps), linearly less over d/2 + 1 frame either
    side; where two windows overlap the larger weight wins. Returns a new float64 array."""
    out = np.array(curves, dtype=float)
    hard = np.flatnonzero(table.must_reach[segs.rows])
    if hard.size == 0:
        return out
    centre = np.rint(segs.centre_s[hard] * fps).astype(np.intp)
    half = segs.duration_s[hard] * fps / 2 + 1.0  # window half-width (frames)
    reach = np.ceil(half).astype(np.intp)
    width = 2 * reach + 1
    owner = np.repeat(np.arange(hard.size), width)  # one entry per (segment, window frame)
    first = np.cumsum(width) - width
    frame = centre[owner] - reach[owner] + (np.arange(owner.size) - first[owner])
    weight = np.clip(1.0 - np.abs(frame - centre[owner]) / half[owner], 0.0, 1.0)
    keep = (frame >= 0) & (frame < len(out)) & (weight > 0)
    frame, owner, weight = frame[keep], owner[keep], weight[keep]
    order = np.lexsort((weight, frame))  # per frame, the largest weight last
    last = np.r_[frame[order][1:] != frame[order][:-1], True]
    frame, owner, weight = frame[order][last], owner[order][last], weight[order][last]
    rows = segs.rows[hard][owner]
    pull = weight[:, None] * table.enforced_mask[rows]
    out[frame] += pull * (table.targets[rows] - out[frame])
    return out


def viseme_curves(alignment: pd.DataFrame, duration_s: float, *, table: VisemeTable | None = None,
                  fps: int = FPS) -> np.ndarray:
    """Coarticulated, closure-enforced mouth/jaw curves `(n_frames(duration_s, fps), 52)`
    float64 in [0, 1] (only `table.channels` are non-zero) for an alignment DataFrame
    (`phone, start_s, end_s`, seconds)."""
    table = table or load_visemes()
    count = n_frames(duration_s, fps)
    segs = segments(alignment, duration_s, table)
    return enforce_targets(coarticulate(segs, table, table.targets, count, fps), segs, table, fps)
