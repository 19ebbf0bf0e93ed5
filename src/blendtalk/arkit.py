"""ARKit-52 blendshapes: names in the canonical (Apple / Live Link Face) order of DESIGN.md.

Animation arrays are `(T, 52)` float32 in [0, 1] at 30 fps, columns in `ARKIT_NAMES` order.
Also: left/right mirroring and conversions by name to and from the other layouts in use
(`LAYOUTS`: alphabetical, MediaPipe, the reference dataset's 51-D vectors, Live Link Face).
"""

from __future__ import annotations

import numpy as np

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
N_BLENDSHAPES = len(ARKIT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}
assert N_BLENDSHAPES == 52

#: Contiguous regions of the canonical order (DESIGN.md groups the 52 names by region).
REGION_SLICES: dict[str, slice] = {
    "eyes": slice(0, 14),
    "jaw": slice(14, 18),
    "mouth": slice(18, 41),
    "brows": slice(41, 46),
    "cheeks": slice(46, 49),
    "nose": slice(49, 51),
    "tongue": slice(51, 52),
}
#: Column indices per region, plus the upper face (eyes, brows, cheeks, nose).
REGIONS: dict[str, tuple[int, ...]] = {k: tuple(range(52)[s]) for k, s in REGION_SLICES.items()}
REGIONS["upper_face"] = REGIONS["eyes"] + REGIONS["brows"] + REGIONS["cheeks"] + REGIONS["nose"]


# --- Checking weights ------------------------------------------------------------------------

#: The shape `check_weights` asks for, by number of axes (None: any number of leading axes).
_SHAPE_NAMES = {None: "(..., 52)", 1: "(52,)", 2: "(T, 52)"}


def check_weights(weights: np.ndarray, ndim: int | None = None, what: str = "blendshape weights"
                  ) -> np.ndarray:
    """`weights` as a float32 array of canonical ARKit weights: `(52,)` for `ndim=1`, `(T, 52)`
    (or `(N, 52)`) for `ndim=2`, `(..., 52)` for None. Does not copy float32 input.

    Raises ValueError starting with `what` (a file name, an argument) that states the expected
    shape and the shape given, or the first non-finite value (NaN or infinity) with its row and
    channel. The range is not checked: [0, 1] is the callers' contract.
    """
    try:
        array = np.asarray(weights, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected numeric {_SHAPE_NAMES[ndim]} weights, "
                         f"got {type(weights).__name__}") from None
    if array.ndim == 0 or array.shape[-1] != N_BLENDSHAPES or ndim not in (None, array.ndim):
        raise ValueError(f"{what}: expected {_SHAPE_NAMES[ndim]} weights, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        *rows, channel = (int(i) for i in np.argwhere(bad)[0])
        where = "".join(f"{axis} {i}, " for axis, i in zip(("index",) * (len(rows) - 1) + ("row",), rows))
        raise ValueError(f"{what}: {where}column {ARKIT_NAMES[channel]}: {array[(*rows, channel)]} "
                         "is not finite (NaN and infinity are not weights)")
    return array


# --- Mirroring -------------------------------------------------------------------------------

def _mirror_name(name: str) -> str:
    if name.endswith("Left"):
        return name[: -len("Left")] + "Right"
    if name.endswith("Right"):
        return name[: -len("Right")] + "Left"
    return name


#: For each canonical column, the column that holds its left/right mirror (itself for midline
#: channels such as jawOpen or browInnerUp). `x[..., MIRROR_INDEX]` mirrors an expression.
MIRROR_INDEX: tuple[int, ...] = tuple(INDEX[_mirror_name(n)] for n in ARKIT_NAMES)
#: (left, right) column pairs of the canonical order, e.g. (INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]).
LR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, j) for i, j in enumerate(MIRROR_INDEX) if ARKIT_NAMES[i].endswith("Left"))


def mirror(weights: np.ndarray) -> np.ndarray:
    """Swap every Left/Right channel pair of `(..., 52)` weights (a horizontally flipped face).

    Midline channels are unchanged; `mirror(mirror(x)) == x` exactly. Returns a new array of
    the input's dtype.
    """
    weights = np.asarray(weights)
    _check_width(weights, N_BLENDSHAPES, "canonical")
    return weights[..., list(MIRROR_INDEX)]


# --- Layouts: conversions by name ------------------------------------------------------------

MEDIAPIPE_NEUTRAL = "_neutral"

#: Every supported layout: its column names in order. Conversions go by name, never position.
LAYOUTS: dict[str, tuple[str, ...]] = {
    # DESIGN.md's order: Apple's ARFaceAnchor order as Live Link Face writes it.
    "canonical": ARKIT_NAMES,
    # Alphabetical 52 (EmoTalk, BEAT), Python's code-point sort of the names.
    "alphabetical": tuple(sorted(ARKIT_NAMES)),
    # MediaPipe face blendshapes: `_neutral` then the 51 names without tongueOut, alphabetically.
    "mediapipe": (MEDIAPIPE_NEUTRAL,) + tuple(sorted(n for n in ARKIT_NAMES if n != "tongueOut")),
    # The SIBGRAPI 2025 reference dataset's "51-D" vectors: MediaPipe without `_neutral`.
    "reference51": tuple(sorted(n for n in ARKIT_NAMES if n != "tongueOut")),
    # Live Link Face CSV curve columns: canonical order, first letter capitalised.
    "livelink": tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES),
}

#: Layout name → for each canonical channel, its column in that layout (-1: the layout lacks it).
_TO_LAYOUT: dict[str, np.ndarray] = {}
#: Layout name → for each layout column, its canonical channel (-1: not an ARKit channel).
_FROM_LAYOUT: dict[str, np.ndarray] = {}
for _layout, _names in LAYOUTS.items():
    _canon = [n[0].lower() + n[1:] if _layout == "livelink" else n for n in _names]
    _pos = {n: i for i, n in enumerate(_canon)}
    _TO_LAYOUT[_layout] = np.array([_pos.get(n, -1) for n in ARKIT_NAMES], dtype=np.intp)
    _FROM_LAYOUT[_layout] = np.array([INDEX.get(n, -1) for n in _canon], dtype=np.intp)
del _layout, _names, _canon, _pos


def _check_width(x: np.ndarray, width: int, layout: str) -> None:
    if x.ndim == 0 or x.shape[-1] != width:
        raise ValueError(f"expected (..., {width}) weights in the {layout!r} layout, got shape {x.shape}")


def _layout_of(layout: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _TO_LAYOUT[layout], _FROM_LAYOUT[layout]
    except KeyError:
        raise ValueError(f"unknown layout {layout!r}; known: {sorted(LAYOUTS)}") from None


def missing_channels(layout: str) -> tuple[str, ...]:
    """Canonical channels a layout cannot hold (tongueOut for MediaPipe and the 51-D vectors)."""
    to, _ = _layout_of(layout)
    return tuple(ARKIT_NAMES[i] for i in np.flatnonzero(to < 0))


def to_layout(weights: np.ndarray, layout: str, *, drop_tongue: bool = False) -> np.ndarray:
    """Canonical `(..., 52)` weights → `(..., len(LAYOUTS[layout]))` in `layout`, by name.

    Columns the canonical order lacks (MediaPipe's `_neutral`) are 0. Converting to a layout
    without tongueOut raises when any tongueOut value is non-zero, unless `drop_tongue=True`
    says that losing it is intended. Keeps the input's floating dtype.
    """
    weights = np.asarray(weights)
    _check_width(weights, N_BLENDSHAPES, "canonical")
    to, frm = _layout_of(layout)
    lost = np.flatnonzero(to < 0)
    if lost.size and not drop_tongue and np.any(weights[..., lost] != 0):
        raise ValueError(f"layout {layout!r} has no {[ARKIT_NAMES[i] for i in lost]}; non-zero "
                         "values would be lost (pass drop_tongue=True to drop them)")
    out = np.zeros(weights.shape[:-1] + (len(frm),), dtype=weights.dtype)
    keep = frm >= 0
    out[..., keep] = weights[..., frm[keep]]
    return out


def from_layout(weights: np.ndarray, layout: str) -> np.ndarray:
    """`(..., len(LAYOUTS[layout]))` weights in `layout` → canonical `(..., 52)`, by name.

    Channels the layout lacks (tongueOut for MediaPipe and the 51-D vectors) are 0; MediaPipe's
    `_neutral` score is dropped. Keeps the input's floating dtype.
    """
    weights = np.asarray(weights)
    to, _ = _layout_of(layout)
    _check_width(weights, len(LAYOUTS[layout]), layout)
    out = np.zeros(weights.shape[:-1] + (N_BLENDSHAPES,), dtype=weights.dtype)
    keep = to >= 0
    out[..., keep] = weights[..., to[keep]]
    return out


def convert(weights: np.ndarray, src: str, dst: str, *, drop_tongue: bool = False) -> np.ndarray:
    """Convert `(..., n)` weights from layout `src` to layout `dst` by name (via canonical)."""
    return to_layout(from_layout(weights, src), dst, drop_tongue=drop_tongue)
