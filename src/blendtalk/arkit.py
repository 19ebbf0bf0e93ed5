"""ARKit-52 blendshapes: names in the canonical (Apple / Live Link Face) order of DESIGN.md.

Animation arrays are `(T, 52)` float32 in [0, 1] at 30 fps, columns in `ARKIT_NAMES` order.
"""

from __future__ import annotations

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
