"""The 52 ARKit targets of the reference head, authored as displacement fields (centimetres).

A target is a sum of terms; each term is one kind of deformation (`Move`, `Turn`, `Scale`) applied with
a per-vertex weight field (smooth, compactly supported, so every target stays local). Fields and
parameters are written for the subject's LEFT side (+X); the Right target of a pair is the exact
mirror image (x negated), so pairs are symmetric by construction. ARKit's "Left" is the subject's
left, which appears on the image's right when the face looks at the camera.

Magnitudes and field sizes are set for legibility, the aim being that a face reader
(`blendtalk.models.facereader`) trained on random states of this head sees each target about as well
as one trained on ICT-FaceKit at the same camera range (`configs/legibility.yaml`: 96², 18,000
frames, 8 epochs). Measured 2026-12 against ICT-FaceKit, most mouth, brow, cheek and nose targets
changed 3-10x fewer pixel intensities than ICT-FaceKit's, and their reader R² was about 0; they were
strengthened and their fields widened until the change roughly doubled (1.5-2.7x), under two limits:
no target folds the surface, and those whose displacement was compared with ICT-FaceKit's
(tests/test_reference_head.py) move a vertex at most 1.5x as far. Of the targets ICT-FaceKit's
reader does not see either, the eye lids and gaze sideways, mouthRollUpper, mouthPress and
mouthLowerDown keep their sizes; mouthFrown, mouthStretch and cheekSquint (sadness, fear, joy) and
mouthShrugUpper were strengthened with their neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.render import head_mesh as hm

X_AXIS, Y_AXIS = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
MOUTH = (0.0, hm.MOUTH_Y, hm.MOUTH_Z)


@dataclass
class HeadFrame:
    """What the fields read: `vertices` (V, 3) cm, `part` (V,) part name per vertex, `row` (V,) skin
    grid row (NaN off the skin; seam copies at ±0.5), `lid_upper`/`lid_lower` side → (V,) neutral lid
    opening angle (rad), `mouth_row` (the grid row of the lips)."""

    vertices: np.ndarray
    part: np.ndarray
    row: np.ndarray
    lid_upper: dict
    lid_lower: dict
    mouth_row: int


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Cubic 0→1 ramp from `edge0` to `edge1` (either order)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(p: np.ndarray, centre, radii) -> np.ndarray:
    """Compact smooth weight (1 - d²)³ for the ellipsoidal distance d < 1 from `centre`, else 0; (V,)."""
    d2 = (((p - np.asarray(centre)) / np.asarray(radii)) ** 2).sum(axis=1)
    return np.clip(1.0 - d2, 0.0, 1.0) ** 3


def lower_side(f: HeadFrame) -> np.ndarray:
    """1 on the jaw side of the lip line, 0 above it; the transition widens beyond the mouth corners."""
    p = f.vertices
    h = 0.5 + 3.0 * np.clip(np.abs(p[:, 0]) - 2.0, 0.0, None)  # half-width of the transition in rows
    return np.nan_to_num(smoothstep(-h, h, f.row - f.mouth_row))


def _side(f: HeadFrame, side: int) -> np.ndarray:
    """Vertices with x multiplied by `side`, so left-side fields evaluate the right side by mirror."""
    return f.vertices * (side, 1.0, 1.0)


def _abs_x(f: HeadFrame) -> np.ndarray:
    """Vertices with |x|, for symmetric fields made of a left bump and its mirror."""
    return np.abs(f.vertices) * (1.0, 0.0, 0.0) + f.vertices * (0.0, 1.0, 1.0)


def _skin(f: HeadFrame) -> np.ndarray:
    return (f.part == "skin").astype(float)


def _jaw(f: HeadFrame, side: int) -> np.ndarray:
    """Jaw: the skin below the lip line (fading towards the ears and the neck), lower teeth, tongue,
    and the floor of the mouth cavity."""
    p = f.vertices
    skin = lower_side(f) * smoothstep(-3.0, 1.5, p[:, 2]) * (1.0 - smoothstep(-11.5, -15.0, p[:, 1]))
    cavity = smoothstep(hm.MOUTH_Y + 0.5, hm.MOUTH_Y - 0.8, p[:, 1])
    return np.select([f.part == "skin", np.isin(f.part, ("teeth_lower", "tongue")), f.part == "mouth_cavity"],
                     [skin, 1.0, cavity], 0.0)


def _lip_upper(f: HeadFrame, side: int) -> np.ndarray:
    return _skin(f) * (1.0 - lower_side(f)) * bump(f.vertices, (0.0, hm.MOUTH_Y + 0.3, hm.MOUTH_Z - 0.3),
                                                   (3.0, 1.4, 2.5))


def _lip_lower(f: HeadFrame, side: int) -> np.ndarray:
    return _skin(f) * lower_side(f) * bump(f.vertices, (0.0, hm.MOUTH_Y - 0.4, hm.MOUTH_Z - 0.3), (2.8, 1.5, 2.5))


def _half(f: HeadFrame, side: int) -> np.ndarray:
    """Weight of the `side` half of the mouth (1.3 cm off the midline, fading across it)."""
    return bump(_side(f, side), (1.3, hm.MOUTH_Y, hm.MOUTH_Z), (2.3, 4.0, 6.0))


FIELDS: dict[str, Callable[[HeadFrame, int], np.ndarray]] = {
    "jaw": _jaw,
    "lip_upper": _lip_upper,
    "lip_lower": _lip_lower,
    "lips": lambda f, s: _lip_upper(f, s) + _lip_lower(f, s),
    "lip_upper_side": lambda f, s: _lip_upper(f, s) * _half(f, s),
    "lip_lower_side": lambda f, s: _lip_lower(f, s) * _half(f, s),
    "mouth": lambda f, s: _skin(f) * bump(f.vertices, (0.0, hm.MOUTH_Y, hm.MOUTH_Z - 0.5), (6.1, 3.0, 4.8)),
    "corner": lambda f, s: _skin(f) * bump(_side(f, s), (hm.MOUTH_HALF_WIDTH, hm.MOUTH_Y + 0.05,
                                                         hm.MOUTH_Z - 1.0), (2.9, 2.3, 3.1)),
    "chin": lambda f, s: _skin(f) * lower_side(f) * bump(f.vertices, (0.0, -10.0, 7.5), (2.6, 1.8, 2.5)),
    "brow": lambda f, s: _skin(f) * bump(_side(f, s), (3.0, 2.45, 8.0), (2.5, 1.1, 2.0)),
    "brow_inner": lambda f, s: _skin(f) * bump(_abs_x(f), (1.4, 2.4, 8.4), (2.0, 1.3, 2.4)),
    "brow_outer": lambda f, s: _skin(f) * bump(_side(f, s), (4.4, 2.3, 7.2), (2.2, 1.3, 2.6)),
    "cheek": lambda f, s: _skin(f) * bump(_side(f, s), (3.7, -1.7, 7.0), (2.5, 1.7, 2.9)),
    "cheeks_puff": lambda f, s: _skin(f) * bump(_abs_x(f), (3.6, hm.MOUTH_Y + 1.2, 6.0), (2.5, 2.8, 3.4)),
    "nose_wing": lambda f, s: _skin(f) * bump(_side(f, s), (1.2, -3.9, 8.8), (2.1, 2.0, 2.1)),
    "eyeball": lambda f, s: (f.part == ("eyeball_left" if s > 0 else "eyeball_right")).astype(float),
    "lid_upper": lambda f, s: f.lid_upper[s],
    "lid_lower": lambda f, s: f.lid_lower[s],
    "tongue_tip": lambda f, s: (f.part == "tongue") * smoothstep(hm.MOUTH_Z - 5.0, hm.MOUTH_Z - 1.2,
                                                                 f.vertices[:, 2]),
}


@dataclass(frozen=True)
class Move:
    """Translate by `vector` (cm) × field weight."""

    field: str
    vector: tuple[float, float, float]

    def delta(self, f: HeadFrame, side: int) -> np.ndarray:
        w = FIELDS[self.field](f, side)
        return w[:, None] * (np.asarray(self.vector) * (side, 1.0, 1.0))


@dataclass(frozen=True)
class Turn:
    """Rotate about `axis` through `centre` (cm) by `angle` (rad per unit of field weight); positive
    angles follow the right-hand rule (about +X: the front moves down; about +Y: the front moves to +X)."""

    field: str
    centre: tuple[float, float, float]
    axis: tuple[float, float, float]
    angle: float

    def delta(self, f: HeadFrame, side: int) -> np.ndarray:
        w = FIELDS[self.field](f, side)
        mirror = np.array([side, 1.0, 1.0])
        centre = np.asarray(self.centre) * mirror
        axis = np.asarray(self.axis) * mirror  # a reflection maps R(a, t) to R(Ma, -t)
        theta = self.angle * w * side
        q = f.vertices - centre
        cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
        rotated = q * cos + np.cross(axis, q) * sin + axis * (q @ axis)[:, None] * (1.0 - cos)
        return rotated - q


@dataclass(frozen=True)
class Scale:
    """Scale about `centre` (cm) by 1 + `factors` (per axis) × field weight."""

    field: str
    centre: tuple[float, float, float]
    factors: tuple[float, float, float]

    def delta(self, f: HeadFrame, side: int) -> np.ndarray:
        w = FIELDS[self.field](f, side)
        return w[:, None] * (f.vertices - np.asarray(self.centre) * (side, 1.0, 1.0)) * self.factors


Term = Move | Turn | Scale
EYE = tuple(hm.EYE_CENTRE)
JAW_OPEN = 0.26  # rad of jaw rotation at jawOpen = 1
BLINK = 1.0 + hm.LID_LOWER_OPEN / hm.LID_UPPER_OPEN  # upper lid turns through both openings


def _pair(stem: str, doc: str, *terms: Term) -> dict[str, tuple[str, int, tuple[Term, ...]]]:
    """`stemLeft` (side +1) and `stemRight` (its mirror image, side -1)."""
    return {f"{stem}Left": (doc, 1, terms), f"{stem}Right": (doc, -1, terms)}


#: name → (one-line description, side, terms). Names in pairs take the left side's parameters.
TARGETS: dict[str, tuple[str, int, tuple[Term, ...]]] = {
    **_pair("eyeBlink", "upper lid turns down about the eye centre until it meets the lower lid",
            Turn("lid_upper", EYE, X_AXIS, BLINK)),
    **_pair("eyeLookDown", "eyeball turns 30° down, the lids follow a little",
            Turn("eyeball", EYE, X_AXIS, 0.525), Turn("lid_upper", EYE, X_AXIS, 0.3),
            Turn("lid_lower", EYE, X_AXIS, 0.3)),
    **_pair("eyeLookIn", "eyeball turns 23° towards the nose", Turn("eyeball", EYE, Y_AXIS, -0.4)),
    **_pair("eyeLookOut", "eyeball turns 23° away from the nose", Turn("eyeball", EYE, Y_AXIS, 0.4)),
    **_pair("eyeLookUp", "eyeball turns 30° up, the upper lid follows a little",
            Turn("eyeball", EYE, X_AXIS, -0.525), Turn("lid_upper", EYE, X_AXIS, -0.3)),
    **_pair("eyeSquint", "lower lid rises over the eyeball", Turn("lid_lower", EYE, X_AXIS, -0.6)),
    **_pair("eyeWide", "upper lid lifts above the iris", Turn("lid_upper", EYE, X_AXIS, -0.45)),
    "jawForward": ("jaw slides forward 0.7 cm", 1, (Move("jaw", (0.0, 0.0, 0.7)),)),
    **_pair("jaw", "jaw slides 0.9 cm sideways", Move("jaw", (0.9, 0.0, 0.0))),
    "jawOpen": ("jaw turns 15° down about the hinge", 1, (Turn("jaw", tuple(hm.JAW_HINGE), X_AXIS, JAW_OPEN),)),
    "mouthClose": ("lips close against an open jaw (lower lip back up, upper lip down)", 1,
                   (Turn("lip_lower", tuple(hm.JAW_HINGE), X_AXIS, -0.75 * JAW_OPEN),
                    Turn("lip_upper", tuple(hm.JAW_HINGE), X_AXIS, 0.67 * JAW_OPEN))),
    "mouthFunnel": ("lips push forward and open into a round funnel", 1,
                    (Move("lip_upper", (0.0, 1.0, 1.1)), Move("lip_lower", (0.0, -1.1, 1.1)),
                     Scale("lips", MOUTH, (-0.5, 0.0, 0.0)))),
    "mouthPucker": ("lips narrow towards the midline, pout and push forward", 1,
                    (Scale("lips", MOUTH, (-0.6, 0.5, 0.0)), Move("lips", (0.0, 0.0, 1.125)))),
    **_pair("mouth", "whole mouth and the skin around it shift 1.9 cm sideways",
            Move("mouth", (1.9, 0.1, -0.22))),
    **_pair("mouthSmile", "mouth corner pulls up, out and back", Move("corner", (0.5, 1.2, -1.2))),
    **_pair("mouthFrown", "mouth corner pulls down", Move("corner", (0.2, -1.2, 0.1))),
    **_pair("mouthDimple", "mouth corner pulls back into the cheek", Move("corner", (0.6, 0.2, -1.1))),
    **_pair("mouthStretch", "mouth corner stretches outwards and slightly down",
            Move("corner", (1.3, -0.6, -0.4))),
    "mouthRollLower": ("lower lip rolls in over the teeth: it turns in, thins and rises", 1,
                       (Turn("lip_lower", (0.0, hm.MOUTH_Y - 0.7, hm.MOUTH_Z - 0.9), X_AXIS, -1.02),
                        Scale("lip_lower", (0.0, hm.MOUTH_Y - 0.45, hm.MOUTH_Z), (0.0, -0.7, 0.0)),
                        Move("lip_lower", (0.0, 0.4, -0.3)))),
    "mouthRollUpper": ("upper lip rolls in over the teeth", 1,
                       (Turn("lip_upper", (0.0, hm.MOUTH_Y + 0.7, hm.MOUTH_Z - 0.9), X_AXIS, 0.6),)),
    "mouthShrugLower": ("lower lip and chin push up", 1,
                        (Move("lip_lower", (0.0, 1.05, 0.39)), Move("chin", (0.0, 0.795, 0.39)))),
    "mouthShrugUpper": ("upper lip pushes up", 1, (Move("lip_upper", (0.0, 0.56, 0.16)),)),
    **_pair("mouthPress", "lips press together on one side",
            Move("lip_upper_side", (0.0, -0.29, -0.12)), Move("lip_lower_side", (0.0, 0.43, -0.12))),
    **_pair("mouthLowerDown", "lower lip pulls down on one side", Move("lip_lower_side", (0.0, -0.55, 0.1))),
    **_pair("mouthUpperUp", "upper lip pulls up on one side", Move("lip_upper_side", (0.0, 1.53, 0.306))),
    **_pair("browDown", "brow lowers and draws towards the nose", Move("brow", (-0.2, -0.45, 0.1))),
    "browInnerUp": ("inner ends of both brows rise", 1, (Move("brow_inner", (0.0, 1.0, 0.4)),)),
    **_pair("browOuterUp", "outer end of the brow rises", Move("brow_outer", (0.0, 1.0, 0.0))),
    "cheekPuff": ("cheeks inflate outwards", 1, (Scale("cheeks_puff", (0.0, hm.MOUTH_Y + 1.0, 4.5),
                                                      (0.396, 0.0, 0.216)),)),
    **_pair("cheekSquint", "cheek rises under the eye", Move("cheek", (0.0, 0.9, 0.2))),
    **_pair("noseSneer", "nostril wing and the skin beside the nose rise", Move("nose_wing", (0.5, 1.1, 0.3))),
    "tongueOut": ("tongue slides forward out of the mouth", 1, (Move("tongue_tip", (0.0, -0.25, 2.4)),)),
}
assert set(TARGETS) == set(ARKIT_NAMES)

def target_deltas(frame: HeadFrame) -> np.ndarray:
    """All 52 displacement fields `(52, V, 3)` float32 cm, in ARKit order."""
    out = np.zeros((len(ARKIT_NAMES), len(frame.vertices), 3))
    for i, name in enumerate(ARKIT_NAMES):
        _, side, terms = TARGETS[name]
        for term in terms:
            out[i] += term.delta(frame, side)
    return out.astype(np.float32)
