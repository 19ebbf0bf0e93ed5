"""Headless OpenGL renderer of a blendshape `Rig`: moderngl on EGL (Mesa llvmpipe on a CPU, the
GPU's EGL on NVIDIA), smooth per-vertex normals, three-point lighting, per-vertex colours.

Conventions: the rig is modelled with +y up and the face looking along +z (towards the default
camera), so the subject's left (ARKit "Left") is +x and appears on the image's right. Frames are
`(H, W, 3)` uint8 RGB, top row first; sequences are `(T, 52)` float32 weights at 30 fps and give
`(T, H, W, 3)` frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import moderngl
import numpy as np

from blendtalk.render.rig import Rig

#: Default skin tone (linear-ish RGB in [0, 1]) when the rig has no per-vertex colours.
SKIN_TONE = (0.85, 0.66, 0.55)
#: Frames posed per matrix product.
_POSE_CHUNK = 16

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""

# Key light (warm, upper camera-left), fill (cool, dim, camera-right), rim (behind, above).
# Two-sided Lambert so the inside of an open mouth is lit, plus a small Blinn-Phong highlight.
_FRAGMENT_SHADER = """
#version 330
uniform vec3 eye;
uniform vec3 light_dir[3];
uniform vec3 light_rgb[3];
uniform float ambient;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    vec3 view = normalize(eye - v_pos);
    if (dot(n, view) < 0.0) n = -n;
    vec3 rgb = ambient * v_color;
    for (int i = 0; i < 3; ++i) {
        vec3 l = normalize(light_dir[i]);
        float diffuse = max(dot(n, l), 0.0);
        float spec = pow(max(dot(n, normalize(l + view)), 0.0), 32.0);
        rgb += light_rgb[i] * (diffuse * v_color + 0.15 * spec);
    }
    f_color = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
"""


@dataclass(frozen=True)
class RenderSettings:
    """Image and camera. `width`/`height` in pixels (even numbers for H.264 video); `fov_deg` the
    vertical field of view; the camera looks at the rig's neutral bounding-box centre from
    `azimuth_deg` (positive turns towards the subject's left) and `elevation_deg` (positive from
    above), at the distance that fits the bounding sphere times `zoom` (>1 is closer);
    `background` RGB in [0, 1]; `samples` multisampling (0 or 1 = off, else 2, 4, ...)."""

    width: int = 256
    height: int = 256
    fov_deg: float = 25.0
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    zoom: float = 1.0
    background: tuple[float, float, float] = (0.12, 0.12, 0.14)
    samples: int = 0

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2:
            raise ValueError(f"render size must be at least 2x2, got {self.width}x{self.height}")
        if not 1.0 <= self.fov_deg <= 170.0:
            raise ValueError(f"fov_deg must be in [1, 170], got {self.fov_deg}")
        if self.zoom <= 0:
            raise ValueError(f"zoom must be positive, got {self.zoom}")


class SmoothNormals:
    """Area-weighted smooth vertex normals of a fixed triangle list, for many vertex positions.

    The corner → vertex grouping is computed once; each call is a few `np.take`/`reduceat`
    passes (about 1 ms for 20k triangles). `normals(vertices)`: `(V, 3)` → `(V, 3)` float32 unit
    normals (a vertex in no triangle, or only in degenerate ones, gets (0, 0, 0)).
    """

    def __init__(self, triangles: np.ndarray, n_vertices: int) -> None:
        self._corners = np.ascontiguousarray(triangles, dtype=np.intp).reshape(-1)
        order = np.argsort(self._corners, kind="stable")
        sorted_vertex = self._corners[order]
        self._starts = np.flatnonzero(np.r_[True, sorted_vertex[1:] != sorted_vertex[:-1]])
        self._present = sorted_vertex[self._starts]
        self._all_present = len(self._present) == n_vertices
        self._face_of_corner = order // 3
        self._n_vertices = n_vertices

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        corners = np.take(np.asarray(vertices, dtype=np.float32), self._corners, axis=0).reshape(-1, 3, 3)
        e1 = corners[:, 1] - corners[:, 0]
        e2 = corners[:, 2] - corners[:, 0]
        face = np.empty_like(e1)  # cross(e1, e2), length = twice the triangle's area
        face[:, 0] = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]
        face[:, 1] = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]
        face[:, 2] = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        summed = np.add.reduceat(np.take(face, self._face_of_corner, axis=0), self._starts, axis=0)
        if self._all_present:
            out = summed
        else:
            out = np.zeros((self._n_vertices, 3), np.float32)
            out[self._present] = summed
        norm = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
        np.divide(out, norm, out=out, where=norm > 0)
        return out


def _look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    f = target - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = s, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def _perspective(fov_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    t = 1.0 / math.tan(math.radians(fov_deg) / 2)
    proj = np.zeros((4, 4))
    proj[0, 0], proj[1, 1] = t / aspect, t
    proj[2, 2], proj[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    proj[3, 2] = -1.0
    return proj


class Renderer:
    """Offscreen renderer of one rig. Use as a context manager (or call `release()`).

    `render(weights)` → `(H, W, 3)` uint8; `render_sequence(weights, out=None)` fills a `(T, H, W,
    3)` uint8 buffer (preallocated by the caller or here); `frames(weights)` yields frames one at a
    time (each a fresh array); `stream(weights, callback)` hands a reused buffer to `callback`.
    Rendering is deterministic: the same weights give the same pixels.
    """

    def __init__(self, rig: Rig, settings: RenderSettings | None = None,
                 ctx: moderngl.Context | None = None) -> None:
        self.rig = rig
        self.settings = s = settings or RenderSettings()
        self._own_ctx = ctx is None
        self.ctx = ctx or moderngl.create_standalone_context(backend="egl")
        with self.ctx:
            self._setup(rig, s)

    def _setup(self, rig: Rig, s: RenderSettings) -> None:
        self.eye, mvp = self._camera()
        self._mvp = mvp
        self._flat_deltas = rig.deltas.reshape(rig.deltas.shape[0], -1)
        self._normals = SmoothNormals(rig.triangles, rig.n_vertices)
        colors = rig.colors if rig.colors is not None else np.broadcast_to(
            np.asarray(SKIN_TONE, dtype=np.float32), rig.neutral.shape)

        prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        prog["mvp"].write(mvp.T.astype("f4").tobytes())
        prog["eye"].value = tuple(float(x) for x in self.eye)
        right, up, back = self._basis
        key = 0.8 * back + 0.5 * up - 0.6 * right
        fill = 0.8 * back + 0.1 * up + 0.8 * right
        rim = -0.9 * back + 0.6 * up
        prog["light_dir"].write(np.stack([key, fill, rim]).astype("f4").tobytes())
        prog["light_rgb"].write(np.array([[0.85, 0.80, 0.75], [0.25, 0.28, 0.35], [0.45, 0.45, 0.45]],
                                         dtype="f4").tobytes())
        prog["ambient"].value = 0.18
        self._prog = prog

        n_bytes = rig.n_vertices * 3 * 4
        self._vbo_pos = self.ctx.buffer(reserve=n_bytes, dynamic=True)
        self._vbo_nrm = self.ctx.buffer(reserve=n_bytes, dynamic=True)
        self._vbo_col = self.ctx.buffer(np.ascontiguousarray(colors, dtype="f4").tobytes())
        self._ibo = self.ctx.buffer(np.ascontiguousarray(rig.triangles, dtype="i4").tobytes())
        self._vao = self.ctx.vertex_array(prog, [(self._vbo_pos, "3f", "in_pos"),
                                                 (self._vbo_nrm, "3f", "in_normal"),
                                                 (self._vbo_col, "3f", "in_color")],
                                          index_buffer=self._ibo, index_element_size=4)
        size = (s.width, s.height)
        samples = s.samples if s.samples > 1 else 0
        self._fbo = self.ctx.framebuffer(self.ctx.renderbuffer(size, 4, samples=samples),
                                         self.ctx.depth_renderbuffer(size, samples=samples))
        self._resolve = (self.ctx.framebuffer(self.ctx.renderbuffer(size, 4)) if samples else None)

    @property
    def shape(self) -> tuple[int, int, int]:
        """`(H, W, 3)` of one frame."""
        return self.settings.height, self.settings.width, 3

    def project(self, vertices: np.ndarray) -> np.ndarray:
        """Pixel coordinates `(N, 2)` float (x to the right, y down, pixel centres at +0.5) of
        `(N, 3)` points in rig space, as drawn by this renderer."""
        points = np.asarray(vertices, dtype=np.float64)
        clip = np.c_[points, np.ones(len(points))] @ self._mvp.T
        ndc = clip[:, :2] / clip[:, 3:4]
        # the projection is flipped vertically so that read-back rows are top row first
        return np.c_[(ndc[:, 0] + 1) / 2 * self.settings.width, (ndc[:, 1] + 1) / 2 * self.settings.height]

    def _camera(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        lo, hi = self.rig.neutral.min(axis=0).astype(np.float64), self.rig.neutral.max(axis=0).astype(np.float64)
        target = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-6)
        fov = math.radians(min(s.fov_deg, s.fov_deg * s.width / s.height))
        distance = radius / math.sin(fov / 2) / s.zoom
        az, el = math.radians(s.azimuth_deg), math.radians(s.elevation_deg)
        back = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
        eye = target + distance * back
        right = np.cross(np.array([0.0, 1.0, 0.0]), back)
        right = right / np.linalg.norm(right) if np.linalg.norm(right) > 1e-9 else np.array([1.0, 0, 0])
        up = np.cross(back, right)
        self._basis = (right, up, back)
        near = max(distance - 2 * radius, distance * 1e-3)
        proj = _perspective(s.fov_deg, s.width / s.height, near, distance + 2 * radius)
        flip = np.diag([1.0, -1.0, 1.0, 1.0])  # render upside down so read-back is top row first
        return eye, flip @ proj @ _look_at(eye, target, up)

    def _draw(self, vertices: np.ndarray, out: np.ndarray) -> None:
        """Draw `(V, 3)` vertices and read the image into `out` `(H, W, 3)` uint8 (C-contiguous).
        The context is made current for the call (several renderers may live in one thread)."""
        normals = self._normals(vertices)
        with self.ctx:
            self._vbo_pos.write(vertices)
            self._vbo_nrm.write(normals)
            self._fbo.use()
            self.ctx.enable(moderngl.DEPTH_TEST)
            self.ctx.clear(*self.settings.background, 1.0, depth=1.0)
            self._vao.render(moderngl.TRIANGLES)
            src = self._fbo
            if self._resolve is not None:
                self.ctx.copy_framebuffer(self._resolve, self._fbo)
                src = self._resolve
            src.read_into(out, components=3, alignment=1)

    def _posed(self, weights: np.ndarray) -> Iterator[np.ndarray]:
        """Yield the `(V, 3)` vertices of each row of `(T, 52)` weights; posing is batched in
        chunks (one matrix product per chunk is several times faster than one per frame)."""
        for start in range(0, weights.shape[0], _POSE_CHUNK):
            chunk = self.rig.neutral.reshape(-1) + weights[start:start + _POSE_CHUNK] @ self._flat_deltas
            yield from chunk.reshape(chunk.shape[0], -1, 3)

    def render(self, weights: np.ndarray | None = None) -> np.ndarray:
        """One `(H, W, 3)` uint8 frame for `(52,)` weights (None: the neutral face)."""
        w = np.zeros(52, np.float32) if weights is None else _check_weights(weights, 1)
        return self.render_sequence(w.reshape(1, 52))[0]

    def stream(self, weights: np.ndarray, callback: Callable[[int, np.ndarray], None]) -> None:
        """Render `(T, 52)` weights, calling `callback(t, frame)` with a buffer reused per frame
        (copy it to keep it)."""
        buf = np.empty(self.shape, np.uint8)
        for t, vertices in enumerate(self._posed(_check_weights(weights, 2))):
            self._draw(vertices, buf)
            callback(t, buf)

    def frames(self, weights: np.ndarray) -> Iterator[np.ndarray]:
        """Yield the `(H, W, 3)` frames of `(T, 52)` weights one at a time (fresh arrays)."""
        for vertices in self._posed(_check_weights(weights, 2)):
            frame = np.empty(self.shape, np.uint8)
            self._draw(vertices, frame)
            yield frame

    def render_sequence(self, weights: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """All frames of `(T, 52)` weights into `out` `(T, H, W, 3)` uint8 (allocated when None)."""
        weights = _check_weights(weights, 2)
        shape = (weights.shape[0], *self.shape)
        if out is None:
            out = np.empty(shape, np.uint8)
        elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous uint8 array of shape {shape}")
        for t, vertices in enumerate(self._posed(weights)):
            self._draw(vertices, out[t])
        return out

    def release(self) -> None:
        """Free the GL objects (and the context when this renderer created it)."""
        with self.ctx:
            self._release_objects()
        if self._own_ctx:
            self.ctx.release()

    def _release_objects(self) -> None:
        for obj in (self._vao, self._vbo_pos, self._vbo_nrm, self._vbo_col, self._ibo, self._fbo,
                    self._resolve, self._prog):
            if obj is not None:
                obj.release()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _check_weights(weights: np.ndarray, ndim: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float32)
    expected = "(52,)" if ndim == 1 else "(T, 52)"
    if weights.ndim != ndim or weights.shape[-1] != 52:
        raise ValueError(f"expected {expected} blendshape weights, got shape {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError("blendshape weights contain NaN or infinity")
    return weights
