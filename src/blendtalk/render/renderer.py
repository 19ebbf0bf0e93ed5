"""Headless OpenGL renderer of a blendshape `Rig`: moderngl on EGL (Mesa llvmpipe on a CPU, the
GPU's EGL on NVIDIA), smooth per-vertex normals, three-point lighting, per-vertex colours.

Conventions: the rig is modelled with +y up and the face looking along +z (towards the default
camera), so the subject's left (ARKit "Left") is +x and appears on the image's right. Frames are
`(H, W, 3)` uint8 RGB, top row first; sequences are `(T, 52)` float32 weights at 30 fps and give
`(T, H, W, 3)` frames.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import moderngl
import numpy as np

from blendtalk.arkit import N_BLENDSHAPES, check_weights
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
out vec3 v_normal;
out vec3 v_color;
void main() {
    float len = length(in_normal);  // normals arrive as area-weighted sums
    v_normal = len > 0.0 ? in_normal / len : vec3(0.0);
    v_color = in_color;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""

# Key light (warm, upper camera-left), fill (cool, dim, camera-right), rim (behind, above).
# Two-sided Lambert so the inside of an open mouth is lit, plus a small Blinn-Phong highlight.
_FRAGMENT_SHADER = """
#version 330
uniform mat3 pixel_to_view;
uniform vec3 light_dir[3];
uniform vec3 light_rgb[3];
uniform float ambient;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    // towards the eye along the pixel's ray (no interpolated position needed)
    vec3 view = normalize(pixel_to_view * vec3(gl_FragCoord.xy, 1.0));
    if (dot(n, view) < 0.0) n = -n;
    vec3 rgb = ambient * v_color;
    for (int i = 0; i < 3; ++i) {
        vec3 l = light_dir[i];  // unit vectors (normalised once on the CPU)
        float diffuse = max(dot(n, l), 0.0);
        float spec = max(dot(n, normalize(l + view)), 0.0);
        spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec;  // ^32
        rgb += light_rgb[i] * (diffuse * v_color + 0.15 * spec);
    }
    f_color = vec4(clamp(rgb, 0.0, 1.0), 1.0);  // alpha 1 on the face, 0 where cleared
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


@dataclass(frozen=True)
class Lighting:
    """Three directional lights and an ambient term. `directions` `(3, 3)`: each light's direction
    (towards the light) as coefficients of the camera's (right, up, back) axes, so lights move with
    the camera; `colors` `(3, 3)` RGB intensities; `ambient` a factor on the vertex colour. The
    default is the key (warm, upper camera-left), fill (cool, dim, camera-right), rim (behind, above)."""

    directions: tuple[tuple[float, float, float], ...] = ((-0.6, 0.5, 0.8), (0.8, 0.1, 0.8), (0.0, 0.6, -0.9))
    colors: tuple[tuple[float, float, float], ...] = ((0.85, 0.80, 0.75), (0.25, 0.28, 0.35), (0.45, 0.45, 0.45))
    ambient: float = 0.18


class SmoothNormals:
    """Area-weighted smooth vertex normals of a fixed triangle list, for many vertex positions.

    The vertex x face incidence matrix (sparse, rows in face order) is built once; each call
    gathers the corners per component, takes the face cross products and sums them per vertex with
    one sparse product (under 1 ms for 20k triangles). `normals(vertices)`: `(V, 3)` → `(V, 3)`
    float32 unit normals (a vertex in no triangle, or only in degenerate ones, gets (0, 0, 0));
    `summed(vertices)` gives the same before normalisation (length = sum of twice the areas).
    """

    def __init__(self, triangles: np.ndarray, n_vertices: int) -> None:
        import scipy.sparse

        tri = np.ascontiguousarray(triangles, dtype=np.intp).reshape(-1, 3)
        self._i0, self._i1, self._i2 = (np.ascontiguousarray(tri[:, k]) for k in range(3))
        corners = tri.reshape(-1)
        order = np.argsort(corners, kind="stable")
        incidence = scipy.sparse.csr_matrix(
            (np.ones(len(corners), np.float32), (corners[order], order // 3)),
            shape=(n_vertices, len(tri)))
        incidence.sort_indices()
        self._incidence = incidence
        self._face = np.empty((len(tri), 3), np.float32)

    def summed(self, vertices: np.ndarray) -> np.ndarray:
        """`(V, 3)` → `(V, 3)` float32 sums of the adjacent faces' cross products (not unit)."""
        x, y, z = np.asarray(vertices, dtype=np.float32).T
        i0, i1, i2 = self._i0, self._i1, self._i2
        ax, ay, az = x[i0], y[i0], z[i0]
        e1x, e1y, e1z = x[i1] - ax, y[i1] - ay, z[i1] - az
        e2x, e2y, e2z = x[i2] - ax, y[i2] - ay, z[i2] - az
        face = self._face  # cross(e1, e2), length = twice the triangle's area
        np.multiply(e1y, e2z, out=face[:, 0])
        face[:, 0] -= e1z * e2y
        np.multiply(e1z, e2x, out=face[:, 1])
        face[:, 1] -= e1x * e2z
        np.multiply(e1x, e2y, out=face[:, 2])
        face[:, 2] -= e1y * e2x
        return np.asarray(self._incidence @ face, dtype=np.float32)

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        out = self.summed(vertices)
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
                 ctx: moderngl.Context | None = None, lighting: Lighting | None = None) -> None:
        self.rig = rig
        self.settings = s = settings or RenderSettings()
        self.lighting = lighting or Lighting()
        self._own_ctx = ctx is None
        self.ctx = ctx or moderngl.create_standalone_context(backend="egl")
        with self.ctx:
            self._setup(rig, s, self.lighting)

    def set_scene(self, settings: RenderSettings, lighting: Lighting | None = None) -> None:
        """Move the camera (and background) to `settings` and relight with `lighting` (None: keep
        the current lights) for the frames drawn from now on, without rebuilding the GL objects.
        The image size and multisampling must stay those the renderer was built with."""
        old = self.settings
        if (settings.width, settings.height, settings.samples) != (old.width, old.height, old.samples):
            raise ValueError(f"set_scene cannot change the image size or multisampling "
                             f"({old.width}x{old.height}, samples {old.samples})")
        self.settings = settings
        self.lighting = lighting or self.lighting
        with self.ctx:
            self._write_scene(self.lighting)

    def _write_scene(self, lighting: Lighting) -> None:
        """Camera matrices and lights of `self.settings` and `lighting` into the shader."""
        self.eye, self._mvp = self._camera()
        prog = self._prog
        prog["mvp"].write(self._mvp.T.astype("f4").tobytes())
        prog["pixel_to_view"].write(self._pixel_to_view.T.astype("f4").tobytes())
        lights = np.asarray(lighting.directions, np.float64) @ np.stack(self._basis)
        prog["light_dir"].write((lights / np.linalg.norm(lights, axis=1, keepdims=True)).astype("f4").tobytes())
        prog["light_rgb"].write(np.asarray(lighting.colors, dtype="f4").tobytes())
        prog["ambient"].value = float(lighting.ambient)

    def _setup(self, rig: Rig, s: RenderSettings, lighting: Lighting) -> None:
        self._normals = SmoothNormals(rig.triangles, rig.n_vertices)
        colors = rig.colors if rig.colors is not None else np.broadcast_to(
            np.asarray(SKIN_TONE, dtype=np.float32), rig.neutral.shape)

        prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self._prog = prog
        self._write_scene(lighting)
        self._gl_flags = moderngl.DEPTH_TEST | (moderngl.CULL_FACE if rig.cull_back_faces else 0)

        # positions and (unnormalised) normals interleaved in one buffer, written once a frame
        self._vbo = self.ctx.buffer(reserve=rig.n_vertices * 6 * 4, dynamic=True)
        self._vbo_col = self.ctx.buffer(np.ascontiguousarray(colors, dtype="f4").tobytes())
        self._ibo = self.ctx.buffer(np.ascontiguousarray(rig.triangles, dtype="i4").tobytes())
        self._vao = self.ctx.vertex_array(prog, [(self._vbo, "3f 3f", "in_pos", "in_normal"),
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
        view = _look_at(eye, target, up)
        # window (x, y, 1) → direction from that pixel's surface point towards the eye, in rig
        # space: the eye-space ray is (ndc_x / P00, ndc_y / P11 (flipped), -1); negate it, rotate
        to_ndc = np.array([[2 / s.width, 0, -1], [0, 2 / s.height, -1], [0, 0, 1]])
        ray = np.diag([-1 / proj[0, 0], 1 / proj[1, 1], 1.0]) @ to_ndc
        self._pixel_to_view = view[:3, :3].T @ ray
        return eye, flip @ proj @ view

    def _draw_into(self, weights: np.ndarray, target: Callable[[int], np.ndarray],
                   components: int = 3) -> Iterator[int]:
        """Render each row of `(T, 52)` weights, reading frame t into `target(t)` (an `(H, W,
        components)` uint8 C-contiguous array: RGB, or RGBA with alpha 255 on the face and 0 on
        the background) and yielding t once it is there.

        Pipelined: frame t is drawn and flushed, then frame t+1 is posed and its normals computed
        (numpy) while llvmpipe's threads rasterise frame t, then frame t is read back. (Drawing
        frame t+1 into a second framebuffer before reading frame t does not help: llvmpipe's
        read-back waits for all pending drawing.) The context is made current around the GL calls
        only (several renderers may live in one thread, and generators of one renderer may be
        interleaved: each draws and reads a frame before it yields, and has its own vertex data)."""
        data = np.empty((self.rig.n_vertices, 6), np.float32)  # positions | unnormalised normals
        posed = self._posed(weights)
        vertices = next(posed, None)
        if vertices is not None:
            self._prepare(vertices, data)
        t = 0
        while vertices is not None:
            with self.ctx:
                self._vbo.write(data)
                self._fbo.use()
                self.ctx.enable(self._gl_flags)
                # the projection is flipped vertically (see _camera): counter-clockwise
                # triangles are clockwise on screen
                self.ctx.front_face = "cw"
                self.ctx.clear(*self.settings.background, 0.0, depth=1.0)
                self._vao.render(moderngl.TRIANGLES)
                src = self._fbo
                if self._resolve is not None:
                    self.ctx.copy_framebuffer(self._resolve, self._fbo)
                    src = self._resolve
                _gl_flush()  # the rasteriser starts now
            vertices = next(posed, None)
            if vertices is not None:
                self._prepare(vertices, data)  # overlaps the rasterisation of frame t
            with self.ctx:
                src.read_into(target(t), components=components, alignment=1)
            yield t
            t += 1

    def _prepare(self, vertices: np.ndarray, data: np.ndarray) -> None:
        data[:, :3] = vertices
        data[:, 3:] = self._normals.summed(vertices)

    def _posed(self, weights: np.ndarray) -> Iterator[np.ndarray]:
        """Yield the `(V, 3)` vertices of each row of `(T, 52)` weights, posed by `Rig.pose` in
        chunks (one matrix product per chunk is several times faster than one per frame)."""
        for start in range(0, weights.shape[0], _POSE_CHUNK):
            with _single_threaded_blas():
                chunk = self.rig.pose(weights[start:start + _POSE_CHUNK])
            yield from chunk

    def render(self, weights: np.ndarray | None = None) -> np.ndarray:
        """One `(H, W, 3)` uint8 frame for `(52,)` weights (None: the neutral face)."""
        w = np.zeros(N_BLENDSHAPES, np.float32) if weights is None else check_weights(weights, ndim=1)
        return self.render_sequence(w[None])[0]

    def stream(self, weights: np.ndarray, callback: Callable[[int, np.ndarray], None]) -> None:
        """Render `(T, 52)` weights, calling `callback(t, frame)` with a buffer reused per frame
        (copy it to keep it)."""
        buf = np.empty(self.shape, np.uint8)
        for t in self._draw_into(check_weights(weights, ndim=2), lambda t: buf):
            callback(t, buf)

    def frames(self, weights: np.ndarray) -> Iterator[np.ndarray]:
        """Yield the `(H, W, 3)` frames of `(T, 52)` weights one at a time (fresh arrays)."""
        frame = None

        def fresh(t: int) -> np.ndarray:
            nonlocal frame
            frame = np.empty(self.shape, np.uint8)
            return frame

        for _ in self._draw_into(check_weights(weights, ndim=2), fresh):
            yield frame

    def render_sequence(self, weights: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """All frames of `(T, 52)` weights into `out` `(T, H, W, 3)` uint8 (allocated when None)."""
        weights = check_weights(weights, ndim=2)
        shape = (weights.shape[0], *self.shape)
        if out is None:
            out = np.empty(shape, np.uint8)
        elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous uint8 array of shape {shape}")
        for _ in self._draw_into(weights, out.__getitem__):
            pass
        return out

    def render_rgba(self, weights: np.ndarray) -> np.ndarray:
        """`(T, H, W, 4)` uint8 frames of `(T, 52)` weights whose alpha is the face's coverage
        (255 on the face, 0 on the background; partial at edges with multisampling), for
        compositing the face over another background."""
        weights = check_weights(weights, ndim=2)
        out = np.empty((weights.shape[0], self.settings.height, self.settings.width, 4), np.uint8)
        for _ in self._draw_into(weights, out.__getitem__, components=4):
            pass
        return out

    def release(self) -> None:
        """Free the GL objects (and the context when this renderer created it)."""
        with self.ctx:
            self._release_objects()
        if self._own_ctx:
            self.ctx.release()

    def _release_objects(self) -> None:
        for obj in (self._vao, self._vbo, self._vbo_col, self._ibo, self._fbo, self._resolve, self._prog):
            if obj is not None:
                obj.release()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _load_gl_flush() -> Callable[[], None]:
    """`glFlush` of the current context (starts the rasteriser without waiting for it; moderngl
    only has `finish`), looked up through EGL; a no-op where it cannot be found."""
    try:
        egl = ctypes.CDLL(ctypes.util.find_library("EGL") or "libEGL.so.1")
        egl.eglGetProcAddress.restype = ctypes.c_void_p
        egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
        address = egl.eglGetProcAddress(b"glFlush")
    except (OSError, AttributeError):
        address = None
    return ctypes.CFUNCTYPE(None)(address) if address else (lambda: None)


_gl_flush = _load_gl_flush()
_blas_libraries: list | None = None


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run the block with the BLAS libraries (OpenBLAS) on one thread. A multithreaded product
    leaves its worker threads spinning for a while afterwards, which on a few cores takes the CPU
    from llvmpipe's rasteriser threads: rendering the reference head costs ~13 instead of ~8
    CPU-ms per frame on 2 cores. The libraries are looked up once (threadpoolctl scans the
    process's shared objects, too slow to do per frame)."""
    from threadpoolctl import ThreadpoolController

    global _blas_libraries
    if _blas_libraries is None:
        _blas_libraries = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    saved = [(lib, lib.num_threads) for lib in _blas_libraries]
    for lib, n in saved:
        if n != 1:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in saved:
            if n != 1:
                lib.set_num_threads(n)
