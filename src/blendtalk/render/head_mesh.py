"""Geometry of the procedural reference head (centimetres, facing +Z, Y up, origin at the head centre).

The skin is a latitude/longitude grid whose rays from the origin are cast onto a smooth signed-distance
model of the head (skull, face, neck, nose, brows, cheekbones, lips, ears, eye sockets with a lid
sphere round each eyeball). Two grid rows are split into an upper and a lower copy over part of their
columns: the eye row (the lid edges, opened in the neutral by rotating the lids about the eye centre)
and the mouth row (the lips). Separate meshes add eyeballs, teeth, tongue and a dark mouth cavity.
The subject's left is +X (the image's right when the face looks at the camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_ROWS, N_COLS = 86, 116  # skin grid (rings below the top pole × columns round the head)
THETA_MAX = np.radians(163.0)  # polar angle of the neck ring (closed by a flat cap)
COLUMN_FRONT_DENSITY = 0.45  # column spacing at the front relative to a uniform grid (smaller: denser)

EYE_CENTRE = np.array([3.15, 0.75, 6.85])  # left eye; the right eye mirrors it in x
EYE_RADIUS = 1.2
LID_RADIUS = 1.33  # radius of the lid sphere, just outside the eyeball
EYE_HALF_WIDTH = 1.08  # half-width in x of the lid opening (corner to eye centre)
LID_UPPER_OPEN, LID_LOWER_OPEN = np.radians(27.0), np.radians(16.0)  # neutral lid opening at its middle
LID_UPPER_ROWS, LID_LOWER_ROWS = 11, 7  # rows over which the lid rotation fades out
MOUTH_Y, MOUTH_Z = -7.0, 8.95  # lip line height and front of the lips on the midline
MOUTH_HALF_WIDTH = 2.35  # half-width of the lip opening (corner x)
LIP_GAP = 0.06  # half the neutral gap between the lips on the midline
JAW_HINGE = np.array([0.0, -2.2, -0.6])  # jaw rotation axis (parallel to X) passes here
LIP_UPPER = ((0.0, MOUTH_Y + 0.42, MOUTH_Z - 0.55), (2.45, 0.55, 0.95))  # lip ellipsoids: centre, radii
LIP_LOWER = ((0.0, MOUTH_Y - 0.5, MOUTH_Z - 0.6), (2.2, 0.62, 0.95))


def _ellipsoid(p: np.ndarray, centre, radii) -> np.ndarray:
    """Approximate signed distance (cm) to an ellipsoid; `p` (..., 3)."""
    radii = np.asarray(radii, dtype=float)
    q = (p - np.asarray(centre)) / radii
    k0 = np.sqrt(np.einsum("...i,...i->...", q, q))
    q /= radii
    k1 = np.sqrt(np.einsum("...i,...i->...", q, q))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def _capsule(p: np.ndarray, a, b, radius: float) -> np.ndarray:
    """Signed distance (cm) to a capsule from `a` to `b`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pa, ba = p - a, b - a
    h = np.clip((pa @ ba) / (ba @ ba), 0.0, 1.0)
    return np.linalg.norm(pa - h[..., None] * ba, axis=-1) - radius


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth union of two distances with blend radius `k` (cm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def head_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance (cm, negative inside) of the head surface at points `p` (..., 3)."""
    m = p * np.array([1.0, 1.0, 1.0])
    m[..., 0] = np.abs(p[..., 0])  # bilateral features are modelled on the left and mirrored
    d = _ellipsoid(p, (0.0, 1.7, -0.9), (7.5, 9.6, 9.7))  # cranium
    d = _smin(d, _ellipsoid(p, (0.0, -4.3, 1.7), (5.9, 7.2, 7.3)), 2.0)  # face and jaw
    d = _smin(d, np.maximum(np.hypot(p[..., 0], p[..., 2] + 1.3) - 5.0, p[..., 1] + 2.0), 1.6)  # neck
    d = _smin(d, _ellipsoid(p, (0.0, -10.1, 6.6), (2.3, 1.4, 1.5)), 1.0)  # chin
    d = _smin(d, _ellipsoid(m, (4.2, -1.3, 5.6), (1.6, 1.1, 1.9)), 1.4)  # cheekbones
    d = _smin(d, _ellipsoid(m, (3.0, 2.55, 7.2), (2.4, 0.7, 1.0)), 0.9)  # brow ridge
    d = _smin(d, _ellipsoid(m, (7.3, -0.2, -1.0), (0.9, 3.0, 1.7)), 0.6)  # ears
    socket = _ellipsoid(m, EYE_CENTRE + (0.0, -0.1, 0.75), (1.7, 1.15, 1.2))
    d = -_smin(-d, socket, 0.7)  # carve the eye sockets
    d = _smin(d, np.linalg.norm(m - EYE_CENTRE, axis=-1) - LID_RADIUS, 0.3)  # eyelids round the eyeballs
    d = _smin(d, _capsule(p, (0.0, EYE_CENTRE[1] + 0.6, 8.4), (0.0, -3.3, 10.4), 0.6), 0.7)  # bridge
    d = _smin(d, np.linalg.norm(p - (0.0, -3.75, 10.2), axis=-1) - 0.95, 0.5)  # nose tip
    d = _smin(d, _ellipsoid(m, (1.2, -4.05, 8.85), (0.75, 0.62, 0.8)), 0.4)  # nostril wings
    d = _smin(d, _ellipsoid(p, *LIP_UPPER), 0.45)
    d = _smin(d, _ellipsoid(p, *LIP_LOWER), 0.45)
    return d


def lip_distance(p: np.ndarray) -> np.ndarray:
    """Approximate distance (cm, negative inside) from `p` (..., 3) to the nearer lip ellipsoid."""
    return np.minimum(_ellipsoid(p, *LIP_UPPER), _ellipsoid(p, *LIP_LOWER))


def _cast(dirs: np.ndarray, r_max: float = 22.0, step: float = 0.4, chunk: int = 2048) -> np.ndarray:
    """Distance along unit rays `dirs` (N, 3) from the origin to the outermost head surface (N,)."""
    radii = np.arange(r_max, 0.3, -step)
    out = np.empty(len(dirs))
    for s in range(0, len(dirs), chunk):
        d = dirs[s:s + chunk]
        inside = head_sdf(d[:, None, :] * radii[None, :, None]) < 0.0
        first = np.argmax(inside, axis=1)
        if not inside[np.arange(len(d)), first].all():
            raise RuntimeError("a ray missed the head surface")
        lo, hi = radii[first], radii[first - 1]  # inside at lo, outside at hi
        for _ in range(20):
            mid = 0.5 * (lo + hi)
            ins = head_sdf(d * mid[:, None]) < 0.0
            lo, hi = np.where(ins, mid, lo), np.where(ins, hi, mid)
        out[s:s + chunk] = 0.5 * (lo + hi)
    return out


def _row_angles() -> np.ndarray:
    """Polar angles (rad) of the grid rings, denser over the face, with the eye and mouth rows exact."""
    t = np.linspace(np.radians(1.6), THETA_MAX, 4001)
    density = 1.0 + 2.4 * np.exp(-((t - np.radians(103.0)) / np.radians(30.0)) ** 2)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(t))])
    theta = np.interp(np.linspace(0.0, cdf[-1], N_ROWS), cdf, t)
    for target in (eye_row_angle(), mouth_row_angle()):
        theta[np.argmin(np.abs(theta - target))] = target
    return theta


def eye_row_angle() -> float:
    """Polar angle (rad) of the eye row: the ray through the front of the left lid sphere."""
    front = EYE_CENTRE + (0.0, 0.0, LID_RADIUS)
    return float(np.arctan2(np.hypot(front[0], front[2]), front[1]))


def mouth_row_angle() -> float:
    """Polar angle (rad) of the mouth row: the ray through the lip line on the midline."""
    return float(np.arctan2(MOUTH_Z, MOUTH_Y))


def _column_angles() -> np.ndarray:
    """Azimuths (rad) of the grid columns, 0 at the front (+Z), exactly antisymmetric, denser at the front."""
    s = (2.0 * np.arange(N_COLS) - N_COLS) / N_COLS
    return np.pi * s * (COLUMN_FRONT_DENSITY + (1.0 - COLUMN_FRONT_DENSITY) * s * s)


def rotate_about_x(points: np.ndarray, centre: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate `points` (N, 3) about the X-parallel axis through `centre` by `angles` (N,) rad
    (positive turns +Z towards -Y, i.e. the front of the face downwards)."""
    q = points - centre
    c, s = np.cos(angles), np.sin(angles)
    y = q[:, 1] * c - q[:, 2] * s
    z = q[:, 1] * s + q[:, 2] * c
    return np.stack([q[:, 0], y, z], axis=1) + centre


@dataclass
class Part:
    """One mesh piece: vertices (N, 3) cm, triangles (M, 3) local indices, colours (N, 3)."""

    vertices: np.ndarray
    triangles: np.ndarray
    colors: np.ndarray


@dataclass
class Skin(Part):
    """The skin grid plus what the targets need: `row` (N,) float grid row of each vertex (the upper
    and lower copies of a split row sit at -0.5/+0.5 from it), `lid_upper`/`lid_lower` (side → (N,)
    neutral lid opening angle in rad per vertex, 0 away from that eye), `lid_edges` (side → (upper, lower)
    vertex indices of the lid opening), `lip_edges` ((upper, lower) vertex indices of the lip seam)."""

    row: np.ndarray
    lid_upper: dict
    lid_lower: dict
    lid_edges: dict
    lip_edges: tuple


def _taper(s: np.ndarray, power: float) -> np.ndarray:
    """Opening profile across a seam: 1 at its middle (s = 0), 0 at the corners (|s| = 1)."""
    return np.clip(1.0 - s * s, 0.0, 1.0) ** power


def _falloff(t: np.ndarray) -> np.ndarray:
    """Cosine fall-off: 1 at t <= 0, 0 at t >= 1, flat at both ends."""
    return 0.5 + 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))


def build_skin() -> Skin:
    """Cast the grid onto the head, split the eye and mouth rows and open the lids and lips."""
    theta, phi = _row_angles(), _column_angles()
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    dirs = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], axis=-1).reshape(-1, 3)
    top = np.array([[0.0, 1.0, 0.0]])
    all_dirs = np.concatenate([top, dirs])
    verts = all_dirs * _cast(all_dirs)[:, None]
    grid = 1 + np.arange(N_ROWS * N_COLS).reshape(N_ROWS, N_COLS)
    row = np.concatenate([[-1.0], np.repeat(np.arange(N_ROWS, dtype=float), N_COLS)])

    r_eye = int(np.argmin(np.abs(theta - eye_row_angle())))
    r_mouth = int(np.argmin(np.abs(theta - mouth_row_angle())))
    lower_copy = grid.copy()  # index used by the quads below a row
    extra, lid_edges, lip_edges = [], {}, None
    n = len(verts)
    mouth_row = verts[grid[r_mouth]]
    seams = {"mouth": (r_mouth, (np.abs(mouth_row[:, 0]) < MOUTH_HALF_WIDTH) & (mouth_row[:, 2] > 0.0))}
    for side in (1, -1):
        eye_row = verts[grid[r_eye]]
        seams[side] = (r_eye, (np.abs(eye_row[:, 0] - side * EYE_CENTRE[0]) < EYE_HALF_WIDTH)
                       & (eye_row[:, 2] > EYE_CENTRE[2]))
    for key, (r, cols) in seams.items():
        idx = grid[r, cols]
        new = n + np.arange(len(idx))
        lower_copy[r, cols] = new
        extra.append(verts[idx])
        row = np.concatenate([row, np.full(len(idx), r + 0.5)])
        row[idx] = r - 0.5
        n += len(idx)
        if key == "mouth":
            lip_edges = (idx, new)
        else:
            lid_edges[key] = (idx, new)
    # close the neck with a flat cap (its centre is the last vertex), so no inside ever shows
    neck = verts[grid[-1]].mean(axis=0, keepdims=True)
    verts = np.concatenate([verts] + extra + [neck])
    row = np.concatenate([row, [float(N_ROWS)]])

    c0, c1 = np.arange(N_COLS), (np.arange(N_COLS) + 1) % N_COLS
    tris = [np.stack([np.zeros(N_COLS, int), grid[0, c0], grid[0, c1]], axis=1)]
    for r in range(N_ROWS - 1):
        a, b = lower_copy[r, c0], lower_copy[r, c1]
        c, d = grid[r + 1, c0], grid[r + 1, c1]
        tris += [np.stack([a, c, b], axis=1), np.stack([b, c, d], axis=1)]
    tris.append(np.stack([np.full(N_COLS, len(verts) - 1), grid[-1, c1], grid[-1, c0]], axis=1))
    triangles = np.concatenate(tris).astype(np.int32)

    # open the lids: rotate rows above/below each eye seam about the eye centre
    lid_upper, lid_lower = {}, {}
    rows = row
    for side in (1, -1):
        centre = EYE_CENTRE * (side, 1, 1)
        near = (verts[:, 2] > 0.0) & (np.abs(verts[:, 1] - centre[1]) < 3.0)
        prof = _taper((verts[:, 0] - centre[0]) / EYE_HALF_WIDTH, 1.0) * near
        up = _falloff((r_eye - 0.5 - rows) / LID_UPPER_ROWS) * (rows < r_eye)
        low = _falloff((rows - r_eye - 0.5) / LID_LOWER_ROWS) * (rows > r_eye)
        lid_upper[side] = LID_UPPER_OPEN * prof * up
        lid_lower[side] = LID_LOWER_OPEN * prof * low
        verts = rotate_about_x(verts, centre, lid_lower[side] - lid_upper[side])

    # part the lips slightly so the upper and lower seam copies never coincide
    up_idx, low_idx = lip_edges
    gap = LIP_GAP * _taper(verts[up_idx, 0] / MOUTH_HALF_WIDTH, 1.0)
    verts[up_idx, 1] += gap
    verts[low_idx, 1] -= gap
    return Skin(verts, triangles, np.zeros_like(verts), row, lid_upper, lid_lower, lid_edges, lip_edges)


def uv_sphere(n_lat: int, n_lon: int, polar_start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere with its pole on +Z: vertices (N, 3) and outward triangles (M, 3). With
    `polar_start` > 0 (rad) the front cap is left open (a bowl) instead of closing on the +Z pole."""
    lon = 2.0 * np.pi * np.arange(n_lon) / n_lon
    lat = np.linspace(polar_start, np.pi, n_lat + 1)[0 if polar_start > 0 else 1:-1]
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    ring = np.stack([np.sin(la) * np.cos(lo), np.sin(la) * np.sin(lo), np.cos(la)], axis=-1).reshape(-1, 3)
    verts = np.concatenate([ring, [[0.0, 0.0, -1.0]]] + ([] if polar_start > 0 else [[[0.0, 0.0, 1.0]]]))
    idx = np.arange(len(lat) * n_lon).reshape(len(lat), n_lon)
    c0, c1 = np.arange(n_lon), (np.arange(n_lon) + 1) % n_lon
    tris = []
    for r in range(len(lat) - 1):
        a, b, c, d = idx[r, c0], idx[r, c1], idx[r + 1, c0], idx[r + 1, c1]
        tris += [np.stack([a, c, b], axis=1), np.stack([b, c, d], axis=1)]
    back = len(ring)
    tris.append(np.stack([idx[-1, c0], np.full(n_lon, back), idx[-1, c1]], axis=1))
    if polar_start == 0:
        tris.append(np.stack([np.full(n_lon, back + 1), idx[0, c0], idx[0, c1]], axis=1))
    return verts, np.concatenate(tris)


def eyeball(side: int) -> Part:
    """Eyeball of `side` (+1 subject's left, -1 right): white sphere with an iris and pupil round +Z."""
    verts, tris = uv_sphere(18, 28)
    polar = np.degrees(np.arccos(np.clip(verts[:, 2], -1.0, 1.0)))
    colors = np.where((polar < 9.0)[:, None], (0.04, 0.03, 0.03),
                      np.where((polar < 25.0)[:, None], (0.22, 0.36, 0.52), (0.95, 0.94, 0.91)))
    return Part(verts * EYE_RADIUS + EYE_CENTRE * (side, 1, 1), tris, colors)


def teeth(upper: bool) -> Part:
    """A row of teeth as a closed curved band behind the lips (white, darker between teeth)."""
    n, half_angle = 28, np.radians(64.0)
    psi = np.linspace(-half_angle, half_angle, n + 1)
    r_out, r_in = (2.5, 2.1) if upper else (2.38, 1.98)
    centre_z = MOUTH_Z - 3.25
    y_edge, y_root = (MOUTH_Y + 0.08, MOUTH_Y + 0.95) if upper else (MOUTH_Y - 0.08, MOUTH_Y - 0.9)
    lo, hi = min(y_edge, y_root), max(y_edge, y_root)
    corners = [(r_out, lo), (r_out, hi), (r_in, hi), (r_in, lo)]  # cross-section, in order round the band
    verts = np.array([[r * np.sin(p), y, centre_z + r * np.cos(p)] for p in psi for r, y in corners])
    idx = np.arange(len(verts)).reshape(n + 1, 4)
    tris = []
    for j in range(n):
        for k in range(4):
            a, b = idx[j, k], idx[j, (k + 1) % 4]
            c, d = idx[j + 1, k], idx[j + 1, (k + 1) % 4]
            tris += [(a, c, b), (b, c, d)]
    tris += [(idx[0, 0], idx[0, 1], idx[0, 2]), (idx[0, 0], idx[0, 2], idx[0, 3]),
             (idx[n, 0], idx[n, 2], idx[n, 1]), (idx[n, 0], idx[n, 3], idx[n, 2])]
    tooth = np.abs(np.sin(psi * 5.2 / half_angle * np.pi / 2.0)).repeat(4)  # 0 between teeth
    colors = np.array([0.97, 0.95, 0.88]) * (0.72 + 0.28 * np.clip(tooth * 4.0, 0.0, 1.0))[:, None]
    return Part(verts, np.array(tris), colors)


def tongue() -> Part:
    """Flattened ellipsoid on the floor of the mouth (reddish pink)."""
    verts, tris = uv_sphere(12, 20)
    verts = verts * (1.55, 0.5, 1.9) + (0.0, MOUTH_Y - 1.05, MOUTH_Z - 3.1)
    return Part(verts, tris, np.tile([0.78, 0.33, 0.36], (len(verts), 1)))


def mouth_cavity() -> Part:
    """Dark bowl behind the lips, open at the front, triangles facing inwards."""
    verts, tris = uv_sphere(14, 28, polar_start=np.radians(58.0))
    verts = verts * (2.85, 1.8, 2.9) + (0.0, MOUTH_Y - 0.3, MOUTH_Z - 3.25)
    return Part(verts, tris[:, ::-1], np.tile([0.22, 0.05, 0.06], (len(verts), 1)))
