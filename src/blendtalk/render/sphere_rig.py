"""A minimal synthetic rig: an icosphere "face" of radius 10 cm with a mouth region moved by jawOpen
and two eye patches pushed in by the blinks (all other targets are zero).

Used by tests (its regions are known exactly) and by the benchmark as a size-controlled mesh. It
follows the renderer's convention: +y up, the face looks along +z, the subject's left is +x.
"""

from __future__ import annotations

import numpy as np

from blendtalk.arkit import INDEX, N_BLENDSHAPES
from blendtalk.render.rig import Rig

RADIUS = 10.0
#: Eye patch centres on the sphere's front (subject's left eye at +x) and their radius, cm.
EYE_CENTRES = {"Left": (3.5, 3.0), "Right": (-3.5, 3.0)}
EYE_RADIUS = 1.8
#: The mouth region: front vertices below this height (cm) move with jawOpen.
MOUTH_TOP = -2.5


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: `(V, 3)` float64 vertices, `(F, 3)` int32 outward-wound triangles.
    V = 10 * 4**subdivisions + 2, F = 20 * 4**subdivisions."""
    p = (1 + 5 ** 0.5) / 2
    verts = np.array([[-1, p, 0], [1, p, 0], [-1, -p, 0], [1, -p, 0], [0, -1, p], [0, 1, p],
                      [0, -1, -p], [0, 1, -p], [p, 0, -1], [p, 0, 1], [-p, 0, -1], [-p, 0, 1]], float)
    faces = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
                      [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
                      [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], np.int64)
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    for _ in range(subdivisions):
        edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
        unique, inverse = np.unique(edges, axis=0, return_inverse=True)
        mids = verts[unique].mean(axis=1)
        mids /= np.linalg.norm(mids, axis=1, keepdims=True)
        m = inverse.reshape(3, -1) + len(verts)  # midpoint index of edges 01, 12, 20 per face
        a, b, c = faces.T
        faces = np.concatenate([np.stack([a, m[0], m[2]], 1), np.stack([b, m[1], m[0]], 1),
                                np.stack([c, m[2], m[1]], 1), np.stack([m[0], m[1], m[2]], 1)])
        verts = np.concatenate([verts, mids])
    return verts, faces.astype(np.int32)


def build_sphere_rig(subdivisions: int = 4) -> Rig:
    """The synthetic rig (subdivisions 4: 2,562 vertices / 5,120 triangles; 5: 10,242 / 20,480).

    jawOpen moves the front mouth region down 2.5 cm and back 1 cm (smoothly fading to zero at
    its top edge); eyeBlinkLeft/Right push their eye patch 1.2 cm into the sphere. Vertex sets:
    "lips" (mouth region), "mouth_upper"/"mouth_lower" (the rows just above/below the mouth line,
    only the lower one moves), "eyes", "eye_left", "eye_right", "upper_face" (front above y=1).
    """
    unit, triangles = icosphere(subdivisions)
    neutral = unit * RADIUS
    x, y, z = neutral.T
    front = z > 0.3 * RADIUS
    deltas = np.zeros((N_BLENDSHAPES, len(neutral), 3))
    colors = np.tile(np.array([0.85, 0.66, 0.55]), (len(neutral), 1))
    sets: dict[str, np.ndarray] = {}

    mouth = front & (y < MOUTH_TOP)
    fade = np.clip((MOUTH_TOP - y) / 1.5, 0.0, 1.0) * mouth
    deltas[INDEX["jawOpen"], :, 1] = -2.5 * fade
    deltas[INDEX["jawOpen"], :, 2] = -1.0 * fade
    sets["lips"] = np.flatnonzero(mouth)
    colors[mouth & (y > MOUTH_TOP - 2.0)] = (0.75, 0.35, 0.35)
    band = front & (np.abs(x) < 1.5)
    sets["mouth_upper"] = np.flatnonzero(band & (y >= MOUTH_TOP) & (y < MOUTH_TOP + 0.8))
    sets["mouth_lower"] = np.flatnonzero(band & (y < MOUTH_TOP - 1.2) & (y >= MOUTH_TOP - 2.0))

    for side, (cx, cy) in EYE_CENTRES.items():
        patch = front & ((x - cx) ** 2 + (y - cy) ** 2 < EYE_RADIUS ** 2)
        falloff = 1.0 - ((x - cx) ** 2 + (y - cy) ** 2) / EYE_RADIUS ** 2
        deltas[INDEX[f"eyeBlink{side}"]] = -1.2 * (falloff * patch)[:, None] * unit
        colors[patch] = (0.95, 0.95, 0.95)
        sets[f"eye_{side.lower()}"] = np.flatnonzero(patch)
    sets["eyes"] = np.concatenate([sets["eye_left"], sets["eye_right"]])
    sets["upper_face"] = np.flatnonzero(front & (y > 1.0))
    return Rig(name=f"sphere{subdivisions}", neutral=neutral, triangles=triangles, deltas=deltas,
               vertex_sets=sets, colors=colors)
