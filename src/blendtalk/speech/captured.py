"""Readers for captured speech + ARKit-52 data a user may own (issue 11): BEAT's facial JSON,
EmoTalk's 3D-ETF `.npy` and folders of Live Link Face takes, each paired with its audio.

Every reader returns `(T, 52)` float32 weights in the canonical order of `blendtalk.arkit`, in
[0, 1], at 30 fps (`FPS`). Channels are matched by NAME (via `blendtalk.arkit`), never by position.

Formats (as the public code that reads them shows):

* **BEAT** (PantoMatrix/BEAT, `beat_english_v0.2.1/<speaker>/<id>.json` beside `<id>.wav`):
  ``{"names": [52 lowerCamel ARKit names, alphabetical], "frames": [{"weights": [52 floats],
  "time": seconds}, ...]}`` at 60 fps. BEAT's own loaders keep every 2nd (or 4th) frame.
* **3D-ETF** (EmoTalk, psyai-net/EmoTalk_release): `(T, 52)` `.npy` in alphabetical ARKit order
  (EmoTalk's `render.py` list) at 30 fps (its renderer and ffmpeg use 30), values may stray
  slightly outside [0, 1]. Layout: `<subset>/blendshape/<stem>.npy` with `<subset>/audio/<stem>.wav`
  (subsets RAVDESS and HDTF); `<stem>.wav` beside the `.npy` is accepted too.
* **Live Link Face** takes: `<take>.csv` (read with `blendtalk.livelink.read_livelink_csv`) and
  `<take>.wav` or the take's `<take>.mov` (whose audio track `load_audio` cannot read: extract it
  first, e.g. with ffmpeg); `<take>_cal.csv` calibration files are skipped.

Resampling (`resample_frames`, the only place frames change rate) is linear interpolation of
each channel at the output frame times ``k / fps_out`` from the input samples' own times (frame
stamps when the file has them). For 60 → 30 fps on a regular clock this is exactly "every other
frame", as BEAT's loaders do; no low-pass filter is applied. A clip of duration ``d`` (input
frames × input frame period) gives ``ceil(30 d)`` frames; times past the last input sample hold
its value.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blendtalk.arkit import ARKIT_NAMES, INDEX, LAYOUTS, N_BLENDSHAPES, from_layout
from blendtalk.livelink import parse_timecode, read_livelink_csv

log = logging.getLogger(__name__)

FPS = 30
#: BEAT's facial capture rate, used when a JSON file has no per-frame "time" stamps.
BEAT_FPS = 60.0
#: 3D-ETF's frame rate (EmoTalk renders and muxes its `.npy` at 30 fps).
ETF_FPS = 30.0
FORMATS = ("beat", "3detf", "livelink")
#: Channels a file may lack (older ARKit / Live Link versions have 51, without tongueOut).
OPTIONAL_CHANNELS = ("tongueOut",)
#: Timecode rates tried when inferring a Live Link take's timecode rate from its frame numbers.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60, 100, 120)
#: Folder names that hold 3D-ETF animations, and the sibling folders searched for their audio.
ETF_ANIMATION_DIRS = ("blendshape", "blendshapes")
ETF_AUDIO_DIRS = ("audio", "wav", "wavs")
#: CSV files in a Live Link Face export that are not takes.
LIVELINK_NON_TAKE_CSV = ("frame_log.csv",)

_ANIMATION_SUFFIX = {"beat": (".json",), "3detf": (".npy",), "livelink": (".csv",)}
_AUDIO_SUFFIXES = {"beat": (".wav",), "3detf": (".wav",), "livelink": (".wav", ".mov")}


@dataclass(frozen=True)
class CapturedTake:
    """One captured clip: `weights` `(T, 52)` float32 in [0, 1], canonical order, at 30 fps;
    `audio_path` its recording (None when unpaired), `source` the format ("beat", "3detf",
    "livelink"), `fps_in` the file's own frame rate, `path` the animation file."""

    name: str
    weights: np.ndarray
    audio_path: Path | None
    source: str
    fps_in: float
    path: Path | None = None

    @property
    def duration_s(self) -> float:
        return len(self.weights) / FPS


@dataclass(frozen=True)
class Scan:
    """What `scan` found under a dataset root, before reading anything: `pairs` (animation
    file, its audio or None), animations without audio, audio without animation, and files
    skipped on purpose (Live Link `_cal.csv` calibrations)."""

    pairs: tuple[tuple[Path, Path | None], ...]
    unpaired_animations: tuple[Path, ...] = ()
    unpaired_audio: tuple[Path, ...] = ()
    ignored: tuple[Path, ...] = field(default=())


# --- Resampling ------------------------------------------------------------------------------

def resample_frames(weights: np.ndarray, times_or_fps_in: float | Sequence[float] | np.ndarray,
                    fps_out: float = FPS, *, what: str = "frames") -> np.ndarray:
    """Resample `(T, C)` frames to `fps_out` by linear interpolation per channel.

    `times_or_fps_in` is either the input frame rate (frames at ``i / fps_in``) or the `(T,)`
    time stamps in seconds (finite, strictly increasing; shifted so the first is 0; gaps such as
    dropped frames are bridged). The clip lasts ``last stamp + one frame period`` (the median
    stamp step), so ``ceil(fps_out × duration)`` frames come back, frame ``k`` at ``k / fps_out``
    (held at the last input value past the last stamp). Equal rates return a float32 copy.
    Raises ValueError starting with `what` for bad shapes, rates or stamps.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"{what}: expected (T, channels) frames, got shape {w.shape}")
    if not fps_out > 0:
        raise ValueError(f"{what}: output fps must be positive, got {fps_out}")
    n_in = len(w)
    if np.ndim(times_or_fps_in) == 0:
        fps_in = float(times_or_fps_in)
        if not (math.isfinite(fps_in) and fps_in > 0):
            raise ValueError(f"{what}: input fps must be positive, got {times_or_fps_in}")
        if fps_in == fps_out or n_in == 0:
            return w.astype(np.float32)
        times = np.arange(n_in) / fps_in
        step = 1.0 / fps_in
    else:
        times = np.asarray(times_or_fps_in, dtype=np.float64)
        if times.shape != (n_in,):
            raise ValueError(f"{what}: {times.shape[0] if times.ndim == 1 else times.shape} time "
                             f"stamps for {n_in} frames")
        if n_in == 0:
            return w.astype(np.float32)
        if not np.all(np.isfinite(times)):
            bad = int(np.flatnonzero(~np.isfinite(times))[0])
            raise ValueError(f"{what}: frame {bad}: time stamp {times[bad]} is not finite")
        steps = np.diff(times)
        if np.any(steps <= 0):
            bad = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise ValueError(f"{what}: frame {bad}: time {times[bad]:.6f} s is not after the "
                             f"previous frame's {times[bad - 1]:.6f} s (stamps must increase)")
        times = times - times[0]
        step = float(np.median(steps)) if n_in > 1 else 1.0 / fps_out
    duration = times[-1] + step
    n_out = max(1, math.ceil(duration * fps_out - 1e-6))
    t_out = np.arange(n_out) / fps_out
    right = np.clip(np.searchsorted(times, t_out, side="right"), 1, max(n_in - 1, 1))
    left = right - 1
    if n_in == 1:
        return np.repeat(w, n_out, axis=0).astype(np.float32)
    span = times[right] - times[left]
    frac = np.clip((t_out - times[left]) / span, 0.0, 1.0)[:, None]
    out = w[left] * (1.0 - frac) + w[right] * frac
    return out.astype(np.float32)


# --- Shared checks ---------------------------------------------------------------------------

def _check_finite(values: np.ndarray, names: Sequence[str], path: Path, row: str = "frame") -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{path}: {row} {i}, channel {names[j]}: {values[i, j]} is not finite "
                         f"({int(bad.sum())} non-finite value(s) in all)")


def _clip_unit(weights: np.ndarray, path: Path) -> np.ndarray:
    """Clip to [0, 1], logging how many values were outside (3D-ETF strays slightly)."""
    outside = (weights < 0) | (weights > 1)
    n = int(outside.sum())
    if n:
        log.info("%s: clipped %d of %d values to [0, 1] (range was %.4g to %.4g)", path, n,
                 weights.size, float(weights.min()), float(weights.max()))
    return np.clip(weights, 0.0, 1.0).astype(np.float32)


def _canonical_name(name: str) -> str:
    """ARKit names as lowerCamel (`EyeBlinkLeft` → `eyeBlinkLeft`)."""
    return name[:1].lower() + name[1:]


def _column_map(names: Sequence[object], path: Path) -> np.ndarray:
    """For each canonical channel, its column in a file with column `names` (-1: absent,
    allowed only for `OPTIONAL_CHANNELS`). Raises naming the file and the missing channels."""
    if not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: channel names must be strings, got {list(names)[:5]}…")
    positions: dict[str, int] = {}
    unknown = []
    for i, raw in enumerate(names):
        name = _canonical_name(raw.strip())
        if name not in INDEX:
            unknown.append(raw)
        elif name in positions:
            raise ValueError(f"{path}: channel {raw!r} appears twice (columns {positions[name]} and {i})")
        else:
            positions[name] = i
    missing = [n for n in ARKIT_NAMES if n not in positions]
    required = [n for n in missing if n not in OPTIONAL_CHANNELS]
    if required:
        hint = f"; unknown names in the file: {unknown}" if unknown else ""
        raise ValueError(f"{path}: missing ARKit channel(s) {required}{hint}")
    if unknown:
        log.warning("%s: ignoring %d non-ARKit channel(s) %s", path, len(unknown), unknown)
    if missing:
        log.warning("%s: no %s channel; filled with zeros", path, ", ".join(missing))
    return np.array([positions.get(n, -1) for n in ARKIT_NAMES], dtype=np.intp)


def _by_name(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    out = np.zeros((len(values), N_BLENDSHAPES), dtype=np.float64)
    keep = columns >= 0
    out[:, keep] = values[:, columns[keep]]
    return out


# --- BEAT ------------------------------------------------------------------------------------

def _read_beat(path: Path) -> tuple[np.ndarray, float]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a BEAT facial JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("names"), list) \
            or not isinstance(data.get("frames"), list):
        raise ValueError(f"{path}: expected a BEAT facial JSON object "
                         '{"names": [...], "frames": [{"weights": [...], "time": t}, ...]}')
    names, frames = data["names"], data["frames"]
    columns = _column_map(names, path)
    if not frames:
        raise ValueError(f"{path}: no frames")
    rows, times = [], []
    for i, frame in enumerate(frames):
        weights = frame.get("weights") if isinstance(frame, dict) else None
        if not isinstance(weights, list):
            raise ValueError(f"{path}: frame {i} has no \"weights\" list")
        if len(weights) != len(names):
            raise ValueError(f"{path}: frame {i} has {len(weights)} weights but \"names\" has "
                             f"{len(names)} (ragged frames)")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights):
            raise ValueError(f"{path}: frame {i}: weights must be numbers")
        rows.append(weights)
        times.append(frame.get("time"))
    values = np.array(rows, dtype=np.float64)
    _check_finite(values, names, path)
    has_time = [t is not None for t in times]
    if all(has_time):
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
            raise ValueError(f"{path}: \"time\" stamps must be numbers (seconds)")
        stamps: float | np.ndarray = np.array(times, dtype=np.float64)
        steps = np.diff(stamps)
        fps_in = float(1.0 / np.median(steps)) if len(steps) and np.median(steps) > 0 else BEAT_FPS
    elif any(has_time):
        first = has_time.index(not has_time[0])
        raise ValueError(f"{path}: frame {first} {'lacks' if has_time[0] else 'has'} a \"time\" "
                         "stamp unlike frame 0 (stamps must be on all frames or none)")
    else:
        log.debug("%s: no time stamps; assuming BEAT's %g fps", path, BEAT_FPS)
        stamps = fps_in = BEAT_FPS
    weights = resample_frames(_by_name(values, columns), stamps, FPS, what=str(path))
    return _clip_unit(weights, path), round(fps_in, 3)


def read_beat_json(path: str | os.PathLike) -> np.ndarray:
    """A BEAT facial JSON file as `(T, 52)` float32 canonical weights at 30 fps.

    Channels are mapped by the file's `names`; a missing tongueOut is zeros (warning), any
    other missing channel, a duplicate name, ragged or non-numeric frames, NaN, or
    non-increasing `time` stamps raise ValueError naming the file. Resampled by the stamps (or
    60 fps when absent) with `resample_frames`; values clipped to [0, 1] (count logged).
    """
    return _read_beat(Path(path))[0]


# --- 3D-ETF ----------------------------------------------------------------------------------

def read_3detf_npy(path: str | os.PathLike, fps: float = ETF_FPS) -> np.ndarray:
    """A 3D-ETF `.npy` (`(T, 52)` alphabetical ARKit order at `fps`) as `(T, 52)` float32
    canonical weights at 30 fps. Values are clipped to [0, 1] and the count logged. Raises
    ValueError naming the file for a non-`.npy`, wrong shape, non-numeric data or NaN."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu":
        raise ValueError(f"{path}: expected a numeric (T, 52) array, got dtype "
                         f"{getattr(array, 'dtype', type(array).__name__)}")
    if array.ndim != 2 or array.shape[1] != N_BLENDSHAPES or array.shape[0] == 0:
        raise ValueError(f"{path}: expected (T, 52) blendshape weights in alphabetical ARKit "
                         f"order, got shape {array.shape}")
    values = array.astype(np.float64)
    _check_finite(values, LAYOUTS["alphabetical"], path, row="row")
    weights = resample_frames(from_layout(values, "alphabetical"), fps, FPS, what=str(path))
    return _clip_unit(weights, path)


# --- Live Link Face --------------------------------------------------------------------------

def _timecode_rate(codes: Sequence[str], path: Path) -> int:
    """The take's timecode rate: the smallest standard rate above its largest frame number,
    reliable once the take crosses a whole second; a shorter take is taken as 30 fps when its
    frame numbers allow, else 60 (logged)."""
    parts = [c.strip().split(":") for c in codes]
    top = max(int(p[3].split(".")[0]) for p in parts)
    crosses = len({tuple(p[:3]) for p in parts}) > 1
    if crosses:
        rate = next((r for r in TIMECODE_RATES if r > top), None)
        if rate is None:
            raise ValueError(f"{path}: timecode frame number {top} is above every known rate "
                             f"{TIMECODE_RATES}")
        return rate
    rate = 30 if top < 30 else 60
    log.warning("%s: the take does not cross a whole second, so its timecode rate is unknown; "
                "assuming %d fps (pass timecode_fps to say otherwise)", path, rate)
    return rate


def _read_livelink(path: Path, timecode_fps: float | None = None) -> tuple[np.ndarray, float]:
    clip = read_livelink_csv(path)
    if len(clip.weights) == 0:
        raise ValueError(f"{path}: no frames")
    if clip.missing and "TongueOut" in clip.missing:
        log.warning("%s: no TongueOut column; filled with zeros", path)
    rate = timecode_fps or _timecode_rate(clip.timecodes, path)
    try:
        times = np.array([parse_timecode(c, rate) for c in clip.timecodes], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    steps = np.diff(times)
    times[1:] += 86400.0 * np.cumsum(steps < -43200)  # a take across midnight
    steps = np.diff(times)
    fps_in = float(1.0 / np.median(steps)) if len(steps) and np.median(steps) > 0 else float(rate)
    _check_finite(clip.weights, ARKIT_NAMES, path)
    weights = resample_frames(clip.weights, times, FPS, what=f"{path} (timecodes at {rate} fps)")
    return _clip_unit(weights, path), round(fps_in, 3)


def read_livelink_folder(folder: str | os.PathLike, *, require_audio: bool = True,
                         timecode_fps: float | None = None, skip_bad: bool = False
                         ) -> list[CapturedTake]:
    """Every Live Link Face take under `folder` (recursively): `<take>.csv` (not `_cal.csv`)
    with `<take>.wav`, else `<take>.mov`, beside it; see `discover`. Takes are resampled to
    30 fps by their timecodes (their rate inferred from the frame numbers unless
    `timecode_fps` is given)."""
    return discover(folder, "livelink", require_audio=require_audio,
                    timecode_fps=timecode_fps, skip_bad=skip_bad)


# --- Discovery -------------------------------------------------------------------------------

def _audio_candidates(anim: Path, fmt: str) -> list[Path]:
    folders = [anim.parent]
    if fmt == "3detf" and anim.parent.name.lower() in ETF_ANIMATION_DIRS:
        folders += [anim.parent.parent / d for d in ETF_AUDIO_DIRS]
    return [d / (anim.stem + s) for d in folders for s in _AUDIO_SUFFIXES[fmt]]


def _files_by_lower_name(root: Path) -> dict[Path, Path]:
    """Every file under `root`, keyed by its path with a lower-case suffix (`.WAV` → `.wav`)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[p.with_suffix(p.suffix.lower())] = p
    return out


def scan(root: str | os.PathLike, format: str) -> Scan:
    """Pair every animation file under `root` (recursively, sorted) with its audio by stem,
    reading nothing: BEAT `<id>.json` with `<id>.wav` beside it; 3D-ETF `<stem>.npy` with
    `<stem>.wav` beside it or, for `…/blendshape/<stem>.npy`, in the sibling `audio/` (or
    `wav/`); Live Link `<take>.csv` with `<take>.wav`, else `<take>.mov`, beside it
    (`*_cal.csv` and `frame_log.csv` are listed in `ignored`)."""
    if format not in FORMATS:
        raise ValueError(f"unknown capture format {format!r}; known: {list(FORMATS)}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    files = _files_by_lower_name(root)
    anims, ignored = [], []
    for key, real in sorted(files.items()):
        if key.suffix not in _ANIMATION_SUFFIX[format]:
            continue
        if format == "livelink" and (key.name.lower().endswith("_cal.csv")
                                     or key.name.lower() in LIVELINK_NON_TAKE_CSV):
            ignored.append(real)
            continue
        anims.append((key, real))
    pairs, unpaired, claimed = [], [], set()
    for key, real in anims:
        present = [files[c] for c in _audio_candidates(key, format) if c in files]
        audio = present[0] if present else None  # the first candidate: .wav before .mov
        pairs.append((real, audio))
        if audio is None:
            unpaired.append(real)
        claimed.update(present)  # a take's .mov beside its .wav is not an orphan
    orphans = [real for key, real in sorted(files.items())
               if key.suffix in _AUDIO_SUFFIXES[format] and real not in claimed]
    return Scan(tuple(pairs), tuple(unpaired), tuple(orphans), tuple(ignored))


def _read_one(path: Path, fmt: str, timecode_fps: float | None) -> tuple[np.ndarray, float]:
    if fmt == "beat":
        return _read_beat(path)
    if fmt == "3detf":
        return read_3detf_npy(path), ETF_FPS
    return _read_livelink(path, timecode_fps)


def discover(root: str | os.PathLike, format: str, *, require_audio: bool = True,
             skip_bad: bool = False, timecode_fps: float | None = None) -> list[CapturedTake]:
    """Read every take of a dataset folder in `format` ("beat", "3detf", "livelink"), paired
    with its audio as `scan` describes, sorted by path.

    Animations without audio are logged (count and names) and, with `require_audio` (the
    default), left out; otherwise returned with `audio_path=None`. Audio without animation
    is counted and logged. A malformed file raises ValueError naming it, or with `skip_bad`
    is logged and counted instead.
    """
    found = scan(root, format)
    if found.ignored:
        log.info("%s: skipped %d non-take file(s) (calibration/frame logs)", root, len(found.ignored))
    if found.unpaired_animations:
        log.warning("%s: %d %s animation(s) without audio%s: %s", root,
                    len(found.unpaired_animations), format,
                    " left out" if require_audio else " (audio_path=None)",
                    ", ".join(p.name for p in found.unpaired_animations[:20]))
    if found.unpaired_audio:
        log.warning("%s: %d audio file(s) without %s animation: %s", root,
                    len(found.unpaired_audio), format,
                    ", ".join(p.name for p in found.unpaired_audio[:20]))
    takes, bad = [], []
    for anim, audio in found.pairs:
        if audio is None and require_audio:
            continue
        try:
            weights, fps_in = _read_one(anim, format, timecode_fps)
        except ValueError as exc:
            if not skip_bad:
                raise
            bad.append(anim)
            log.warning("skipping %s", exc)
            continue
        takes.append(CapturedTake(anim.stem, weights, audio, format, fps_in, anim))
    if bad:
        log.warning("%s: skipped %d malformed %s file(s)", root, len(bad), format)
    names = [t.name for t in takes]
    if len(set(names)) != len(names):
        log.warning("%s: take names repeat across folders; use CapturedTake.path to tell them apart", root)
    log.info("%s: %d %s take(s) read", root, len(takes), format)
    return takes
