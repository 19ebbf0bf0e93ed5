"""The procedural reference head: a stylised human head with all 52 ARKit targets.

Centimetres, facing +Z, Y up, origin near the head centre. ARKit's Left is the subject's left, i.e.
+X, which is on the image's right when the face looks at a camera on +Z. Deterministic: the same
arrays every build. Geometry lives in `head_mesh`, the targets in `head_targets`.
"""

from __future__ import annotations

import numpy as np

from blendtalk.render import head_mesh as hm
from blendtalk.render.head_targets import HeadFrame, bump, lower_side, smoothstep, target_deltas
from blendtalk.render.rig import Rig

SKIN = np.array([0.87, 0.68, 0.57])
LIPS = np.array([0.74, 0.36, 0.36])
BROWS = np.array([0.28, 0.19, 0.13])
HAIR = np.array([0.22, 0.15, 0.10])
NOSTRIL = np.array([0.40, 0.22, 0.20])
BROW_RAISE = 0.12  # cm the brow strips stand out from the skin


def _brow_weight(p: np.ndarray) -> np.ndarray:
    """1 on the brow strips (an arch above each eye), 0 elsewhere; `p` (N, 3) → (N,)."""
    u = (np.abs(p[:, 0]) - 3.0) / 2.1
    centre = hm.EYE_CENTRE[1] + 1.7 + 0.3 * (1.0 - u * u) - 0.12 * u
    half = 0.3 * (1.0 - 0.45 * u * u)
    return (smoothstep(half + 0.08, half - 0.04, np.abs(p[:, 1] - centre))
            * smoothstep(1.05, 0.9, np.abs(u)) * (p[:, 2] > 4.0))


def _hair_weight(p: np.ndarray) -> np.ndarray:
    """1 above the hairline (front at y = 6 cm, dropping behind the ears to the nape)."""
    angle = np.arctan2(np.abs(p[:, 0]), p[:, 2])  # 0 at the front, π at the back
    line = np.interp(angle, [0.0, 0.6, 1.25, 1.7, 2.2, np.pi], [6.3, 5.9, 4.2, 3.4, -1.5, -5.0])
    return smoothstep(line - 0.2, line + 0.3, p[:, 1])


def _skin_colors(p: np.ndarray) -> np.ndarray:
    """Per-vertex colour of the skin: skin tone, hair cap, brows, lips and nostrils; (N, 3) in [0, 1]."""
    lip_w = smoothstep(0.22, 0.06, hm.lip_distance(p))
    nostril_w = bump(np.abs(p) * (1, 0, 0) + p * (0, 1, 1), (0.55, -4.55, 9.55), (0.38, 0.35, 0.6))
    colors = SKIN + (HAIR - SKIN) * _hair_weight(p)[:, None]
    for color, weight in ((BROWS, _brow_weight(p)), (LIPS, lip_w), (NOSTRIL, np.clip(2 * nostril_w, 0, 1))):
        colors = colors + (color - colors) * weight[:, None]
    return colors


def _assemble() -> tuple[HeadFrame, np.ndarray, np.ndarray, hm.Skin, dict[str, np.ndarray]]:
    """All parts in one vertex array: frame, triangles, colours, the skin, and part → vertex indices."""
    skin = hm.build_skin()
    normals_out = skin.vertices / np.linalg.norm(skin.vertices, axis=1, keepdims=True)
    skin.vertices = skin.vertices + BROW_RAISE * _brow_weight(skin.vertices)[:, None] * normals_out
    skin.colors = _skin_colors(skin.vertices)
    parts = {"skin": skin, "eyeball_left": hm.eyeball(1), "eyeball_right": hm.eyeball(-1),
             "teeth_upper": hm.teeth(True), "teeth_lower": hm.teeth(False), "tongue": hm.tongue(),
             "mouth_cavity": hm.mouth_cavity()}
    verts, tris, colors, names, ranges, start = [], [], [], [], {}, 0
    for name, part in parts.items():
        n = len(part.vertices)
        verts.append(part.vertices)
        tris.append(part.triangles + start)
        colors.append(part.colors)
        names.append(np.full(n, name))
        ranges[name] = np.arange(start, start + n)
        start += n
    n_total = start

    def pad(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a, np.zeros(n_total - len(a))])

    row = np.concatenate([skin.row, np.full(n_total - len(skin.row), np.nan)])
    mouth_row = int(round(float(np.mean(skin.row[skin.lip_edges[0]])) + 0.5))
    frame = HeadFrame(np.concatenate(verts), np.concatenate(names), row,
                      {s: pad(a) for s, a in skin.lid_upper.items()},
                      {s: pad(a) for s, a in skin.lid_lower.items()}, mouth_row)
    return frame, np.concatenate(tris).astype(np.int32), np.concatenate(colors), skin, ranges


def _vertex_sets(frame: HeadFrame, skin: hm.Skin, ranges: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Named vertex sets for metrics and tests (see `build_reference_head`)."""
    p, on_skin = frame.vertices, frame.part == "skin"
    sets = dict(ranges)
    sets["lips"] = np.flatnonzero(on_skin & (hm.lip_distance(p) < 0.15))
    for side, label in ((1, "left"), (-1, "right")):
        lids = np.flatnonzero((frame.lid_upper[side] > 0) | (frame.lid_lower[side] > 0))
        sets[f"eye_{label}"] = np.union1d(ranges[f"eyeball_{label}"], lids)
        sets[f"eyelid_upper_edge_{label}"], sets[f"eyelid_lower_edge_{label}"] = skin.lid_edges[side]
    sets["eyes"] = np.union1d(sets["eye_left"], sets["eye_right"])
    centre = np.abs(p[skin.lip_edges[0], 0]) < 0.8
    sets["mouth_upper"], sets["mouth_lower"] = skin.lip_edges[0][centre], skin.lip_edges[1][centre]
    sets["brows"] = np.flatnonzero(on_skin & (_brow_weight(p) > 0.5))
    sets["upper_face"] = np.union1d(np.flatnonzero(on_skin & (p[:, 1] > -3.0) & (p[:, 2] > 3.0)), sets["eyes"])
    sets["jaw"] = np.flatnonzero(on_skin & (lower_side(frame) > 0.5) & (p[:, 2] > 0.0) & (p[:, 1] > -12.0))
    return sets


def build_reference_head() -> Rig:
    """Build the reference head rig (name "reference_head").

    Parts (each also a vertex set): "skin", "eyeball_left", "eyeball_right", "teeth_upper",
    "teeth_lower", "tongue", "mouth_cavity". Other vertex sets: "lips", "eyes", "eye_left",
    "eye_right" (eyeball and lids), "eyelid_upper_edge_*" / "eyelid_lower_edge_*" (the lid margins,
    paired index by index), "mouth_upper" / "mouth_lower" (inner-lip centre vertices, paired; their
    mean distance is the mouth opening), "brows", "upper_face" (skin above the nose tip plus eyes),
    "jaw". Colours per vertex in [0, 1]. Skin (closed at the neck) and parts face outwards; the
    mouth cavity is an open bowl whose triangles face inwards, so it shows dark through the parted
    lips. Back faces are never seen, so the rig is marked `cull_back_faces`.
    """
    frame, triangles, colors, skin, ranges = _assemble()
    return Rig(name="reference_head", neutral=frame.vertices.astype(np.float32), triangles=triangles,
               deltas=target_deltas(frame), vertex_sets=_vertex_sets(frame, skin, ranges),
               colors=colors.astype(np.float32), cull_back_faces=True)
