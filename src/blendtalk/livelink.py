"""Live Link Face CSV: the take format of Epic's Live Link Face app, written and read by name.

Columns: `Timecode` (HH:MM:SS:FF.mmm: hours, minutes, seconds, frame within the second at the
take's fps, and the sub-frame fraction in thousandths), `BlendShapeCount` (61 in the app: 52
curves + 9 pose values), the 52 ARKit curves with a capital first letter in canonical (Live Link)
order, then HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw,
RightEyePitch, RightEyeRoll. Curves are float32 in [0, 1]; `(T, 52)` frames at the take's fps.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from blendtalk.arkit import ARKIT_NAMES, LAYOUTS, N_BLENDSHAPES, check_weights
from blendtalk.io import atomic_path

CURVE_COLUMNS: tuple[str, ...] = LAYOUTS["livelink"]
POSE_COLUMNS: tuple[str, ...] = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                                 "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount") + CURVE_COLUMNS + POSE_COLUMNS
#: Curves a real file may lack (older app versions write 51 curves, without TongueOut).
OPTIONAL_CURVES = ("TongueOut",)
_TIMECODE = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d):(\d{2,})(?:\.(\d{1,3}))?$")


@dataclass(frozen=True)
class LiveLinkClip:
    """A Live Link Face take: `weights` `(T, 52)` float32 canonical order, `pose` `(T, 9)`
    float32 (`POSE_COLUMNS`), `timecodes` as written, `blendshape_count` `(T,)` int.
    `missing` names columns the file lacked (filled with 0); `extra` names columns ignored."""

    weights: np.ndarray
    pose: np.ndarray
    timecodes: tuple[str, ...]
    blendshape_count: np.ndarray
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


def _fps(fps: float) -> Fraction:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def timecode(frame: int, fps: float = 30) -> str:
    """Timecode `HH:MM:SS:FF.mmm` of frame `frame` (0 = 00:00:00:00.000) at `fps`.

    For integer fps the sub-frame part is always .000; for NTSC rates such as 29.97 frames do
    not fall on whole-second boundaries and the fraction of the frame is kept in thousandths.
    """
    rate = _fps(fps)
    seconds = math.floor(frame / rate)
    in_second = frame - seconds * rate  # frames since the whole second, a Fraction
    ff = math.floor(in_second)
    milli = min(math.floor((in_second - ff) * 1000), 999)
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{milli:03d}"


def parse_timecode(text: str, fps: float = 30) -> float:
    """Seconds since 00:00:00:00 of a `HH:MM:SS:FF[.mmm]` timecode at `fps`; ValueError if
    malformed or the frame number is not below fps."""
    m = _TIMECODE.match(text.strip())
    if not m:
        raise ValueError(f"timecode {text!r} is not HH:MM:SS:FF.mmm")
    hh, mm, ss, ff = (int(g) for g in m.groups()[:4])
    sub = int((m.group(5) or "0").ljust(3, "0")) / 1000
    if ff >= math.ceil(float(_fps(fps))):
        raise ValueError(f"timecode {text!r}: frame {ff} is not below {fps} fps")
    return hh * 3600 + mm * 60 + ss + (ff + sub) / float(_fps(fps))


def _fmt(value: np.float32) -> str:
    return np.format_float_positional(value, unique=True, trim="-")


def write_livelink_csv(path: str | os.PathLike, weights: np.ndarray, fps: float = 30,
                       pose: np.ndarray | None = None, start_frame: int = 0) -> None:
    """Write `(T, 52)` (or one `(52,)` frame) canonical weights in [0, 1], and an optional
    `(T, 9)` pose in `POSE_COLUMNS` order (else zeros), frame 0 at `start_frame`, as a
    Live Link Face CSV at `fps`, atomically. Values are written as the shortest decimal that reads
    back as the same float32, so a round trip through `read_livelink_csv` is exact."""
    weights = np.asarray(weights)
    weights = check_weights(weights[None] if weights.ndim == 1 else weights, ndim=2, what=f"{path}: weights")
    if not np.all((weights >= 0) & (weights <= 1)):
        raise ValueError(f"{path}: blendshape weights must be within [0, 1]")
    pose = np.zeros((len(weights), len(POSE_COLUMNS)), np.float32) if pose is None \
        else np.asarray(pose, dtype=np.float32)
    if pose.shape != (len(weights), len(POSE_COLUMNS)) or not np.all(np.isfinite(pose)):
        raise ValueError(f"expected finite pose of shape {(len(weights), len(POSE_COLUMNS))}, got {pose.shape}")
    count = str(N_BLENDSHAPES + len(POSE_COLUMNS))
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(HEADER)
        for t, (w, p) in enumerate(zip(weights, pose)):
            out.writerow([timecode(start_frame + t, fps), count, *map(_fmt, w), *map(_fmt, p)])


def _header_positions(header: list[str], path: Path) -> tuple[dict[str, int], tuple[str, ...], tuple[str, ...]]:
    known = {name.lower(): name for name in HEADER}
    positions: dict[str, int] = {}
    extra = []
    for i, raw in enumerate(header):
        name = known.get(raw.strip().lower())
        if name is None:
            extra.append(raw.strip())
        elif name in positions:
            raise ValueError(f"{path} line 1: column {raw.strip()!r} appears twice")
        else:
            positions[name] = i
    if "Timecode" not in positions:
        raise ValueError(f"{path} line 1: no Timecode column, so not a Live Link Face CSV (expected the "
                         f"header Timecode, BlendShapeCount, EyeBlinkLeft, …); header starts {header[:4]}")
    lacking = [c for c in CURVE_COLUMNS if c not in positions and c not in OPTIONAL_CURVES]
    if lacking:
        raise ValueError(f"{path} line 1: missing blendshape column(s) {lacking}")
    missing = tuple(c for c in HEADER if c not in positions)
    return positions, missing, tuple(extra)


def read_livelink_csv(path: str | os.PathLike) -> LiveLinkClip:
    """Read a Live Link Face CSV by header name (case-insensitive).

    Tolerates: 51 curves (no TongueOut), missing pose or BlendShapeCount columns (0, listed in
    `missing`), extra columns (ignored, listed in `extra`), blank lines. Raises ValueError naming
    the file, the first bad line and its column for a wrong field count, a malformed timecode, a
    non-number, or a curve outside [0, 1], and naming the file for one that is not UTF-8 text.
    """
    path = Path(path)
    try:
        return _read_livelink(path)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); expected a Live Link "
                         "Face CSV") from None


def _read_livelink(path: Path) -> LiveLinkClip:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} line 1: empty file, expected a Live Link Face header")
        positions, missing, extra = _header_positions(header, path)
        curve_cols = [(ARKIT_NAMES.index(c[0].lower() + c[1:]), positions[c])
                      for c in CURVE_COLUMNS if c in positions]
        pose_cols = [(j, positions[c]) for j, c in enumerate(POSE_COLUMNS) if c in positions]
        count_col = positions.get("BlendShapeCount")
        weights, pose, codes, counts = [], [], [], []
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise ValueError(f"{path} line {line}: expected {len(header)} fields like the header, "
                                 f"got {len(fields)}")
            code = fields[positions["Timecode"]].strip()
            if not _TIMECODE.match(code):
                raise ValueError(f"{path} line {line}, column Timecode: {code!r} is not HH:MM:SS:FF.mmm")
            w = np.zeros(N_BLENDSHAPES, np.float32)
            p = np.zeros(len(POSE_COLUMNS), np.float32)
            for target, cols, bounded in ((w, curve_cols, True), (p, pose_cols, False)):
                for j, col in cols:
                    try:
                        value = np.float32(fields[col])
                    except ValueError:
                        value = np.float32("nan")
                    if not np.isfinite(value) or (bounded and not 0 <= value <= 1):
                        raise ValueError(f"{path} line {line}, column {header[col].strip()}: "
                                         f"{fields[col]!r} is not a number{' in [0, 1]' if bounded else ''}")
                    target[j] = value
            if count_col is None:
                counts.append(len(curve_cols) + len(pose_cols))
            elif fields[count_col].strip().isdigit():
                counts.append(int(fields[count_col]))
            else:
                raise ValueError(f"{path} line {line}, column BlendShapeCount: "
                                 f"{fields[count_col]!r} is not a whole number")
            weights.append(w)
            pose.append(p)
            codes.append(code)
    return LiveLinkClip(np.array(weights, np.float32).reshape(-1, N_BLENDSHAPES),
                        np.array(pose, np.float32).reshape(-1, len(POSE_COLUMNS)),
                        tuple(codes), np.array(counts, dtype=np.int64), missing, extra)
