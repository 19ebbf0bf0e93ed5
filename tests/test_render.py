"""The renderer, checked on pixels: a synthetic sphere "face" whose regions are known exactly
(jawOpen moves only the mouth, each blink only its eye patch), and the reference head."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from blendtalk.arkit import INDEX
from blendtalk.config import validate_config
from blendtalk.render.renderer import Renderer, RenderSettings, SmoothNormals
from blendtalk.render.rig import Rig
from blendtalk.render.settings import FRAME_KEYS, VIDEO_KEYS, render_settings, select_keys
from blendtalk.render.sphere_rig import build_sphere_rig

SIZE = 128


@pytest.fixture(scope="module")
def rig():
    return build_sphere_rig(4)


@pytest.fixture(scope="module")
def renderer(rig):
    with Renderer(rig, RenderSettings(width=SIZE, height=SIZE)) as r:
        yield r


def one_hot(name: str, value: float = 1.0) -> np.ndarray:
    w = np.zeros(52, np.float32)
    w[INDEX[name]] = value
    return w


def ring(triangles: np.ndarray, vertices: np.ndarray, k: int) -> np.ndarray:
    """`vertices` grown by `k` rings of triangle neighbours."""
    current = np.zeros(triangles.max() + 1, bool)
    current[vertices] = True
    for _ in range(k):
        touching = current[triangles].any(axis=1)
        current[triangles[touching].reshape(-1)] = True
    return np.flatnonzero(current)


def pixel_box(renderer: Renderer, rig, vertices: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixel bounds, inclusive, of the triangles that can change when
    `vertices` move (their normals change one ring out; those triangles are drawn two out), at
    rest and posed with `weights`."""
    near = ring(rig.triangles, vertices, 2)
    points = rig.neutral[near] if weights is None else np.r_[rig.neutral[near], rig.pose(weights)[near]]
    p = renderer.project(points)
    x0, y0 = np.floor(p.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(p.max(axis=0)).astype(int) + 1
    return x0, y0, x1, y1


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=-1)


def inside(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.zeros_like(mask)
    out[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1] = True
    return out


def moved(rig, name: str) -> np.ndarray:
    return np.flatnonzero(np.abs(rig.deltas[INDEX[name]]).sum(axis=1) > 0)


def test_jaw_open_changes_the_mouth_and_not_the_eyes(renderer, rig):
    neutral = renderer.render()
    diff = changed(renderer.render(one_hot("jawOpen")), neutral)
    mouth = inside(diff, pixel_box(renderer, rig, moved(rig, "jawOpen"), one_hot("jawOpen")))
    eyes = inside(diff, pixel_box(renderer, rig, rig.vertex_sets["eyes"]))
    assert diff.sum() > 0.05 * SIZE * SIZE  # a visibly open jaw
    assert not (diff & ~mouth).any()
    assert not (diff & eyes).any()
    # the mouth sits below the eyes in the image
    ys = np.nonzero(diff)[0]
    assert ys.min() > np.nonzero(eyes)[0].max()


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_blink_changes_only_its_own_eye(renderer, rig, side):
    other = "Right" if side == "Left" else "Left"
    neutral = renderer.render()
    diff = changed(renderer.render(one_hot(f"eyeBlink{side}")), neutral)
    own = inside(diff, pixel_box(renderer, rig, rig.vertex_sets[f"eye_{side.lower()}"],
                                 one_hot(f"eyeBlink{side}")))
    not_own = inside(diff, pixel_box(renderer, rig, rig.vertex_sets[f"eye_{other.lower()}"]))
    assert diff.sum() > 50
    assert not (diff & ~own).any()
    assert not (diff & not_own).any()
    xs = np.nonzero(diff)[1]
    # ARKit Left is the subject's left: the image's right when the face looks at the camera
    if side == "Left":
        assert xs.min() > SIZE // 2
    else:
        assert xs.max() < SIZE // 2


def test_weights_scale_the_change(renderer):
    neutral = renderer.render().astype(int)
    half = np.abs(renderer.render(one_hot("jawOpen", 0.5)).astype(int) - neutral).sum()
    full = np.abs(renderer.render(one_hot("jawOpen", 1.0)).astype(int) - neutral).sum()
    assert 0 < half < full


def test_background_and_face_colours(rig):
    settings = RenderSettings(width=64, height=48, background=(1.0, 0.0, 0.5))
    with Renderer(rig, settings) as r:
        frame = r.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert tuple(frame[0, 0]) == (255, 0, 128)
    centre = frame[24, 32].astype(int)
    assert tuple(centre) != (255, 0, 128) and centre[0] > centre[2]  # lit skin: more red than blue


def test_batch_apis_agree_with_single_frames(renderer):
    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, (21, 52)).astype(np.float32)  # more than one posing chunk
    batch = renderer.render_sequence(weights)
    out = np.zeros_like(batch)
    assert renderer.render_sequence(weights, out=out) is out
    streamed = []
    renderer.stream(weights, lambda t, frame: streamed.append((t, frame.copy())))
    assert [t for t, _ in streamed] == list(range(21))
    for t in (0, 7, 20):
        single = renderer.render(weights[t])
        np.testing.assert_array_equal(batch[t], single)
        np.testing.assert_array_equal(out[t], single)
        np.testing.assert_array_equal(streamed[t][1], single)
    np.testing.assert_array_equal(np.stack(list(renderer.frames(weights))), batch)


def test_bad_weights_and_buffers_are_refused(renderer):
    with pytest.raises(ValueError, match=r"\(T, 52\)"):
        renderer.render_sequence(np.zeros((4, 51)))
    with pytest.raises(ValueError, match="NaN"):
        renderer.render(np.full(52, np.nan))
    with pytest.raises(ValueError, match="out must be"):
        renderer.render_sequence(np.zeros((2, 52)), out=np.zeros((3, SIZE, SIZE, 3), np.uint8))


NEUTRAL_HASH = """
import hashlib
from blendtalk.render.renderer import Renderer, RenderSettings
from blendtalk.render.sphere_rig import build_sphere_rig
with Renderer(build_sphere_rig(4), RenderSettings(width=128, height=128, samples={samples})) as r:
    print(hashlib.sha256(r.render().tobytes()).hexdigest())
"""


@pytest.mark.parametrize("samples", [0, 4])
def test_neutral_frame_is_identical_across_runs(rig, samples):
    with Renderer(rig, RenderSettings(width=SIZE, height=SIZE, samples=samples)) as r:
        here = hashlib.sha256(r.render().tobytes()).hexdigest()
    other = subprocess.run([sys.executable, "-c", NEUTRAL_HASH.format(samples=samples)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert here == other


def test_smooth_normals_of_known_shapes(rig):
    # a flat square in the z=0 plane, wound counter-clockwise seen from +z
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [5, 5, 5]], np.float32)
    normals = SmoothNormals(np.array([[0, 1, 2], [0, 2, 3]]), 5)(square)
    np.testing.assert_allclose(normals[:4], [[0, 0, 1]] * 4, atol=1e-6)
    np.testing.assert_array_equal(normals[4], [0, 0, 0])  # in no triangle
    # on a sphere the smooth normal is the radial direction (outward winding)
    sphere = SmoothNormals(rig.triangles, rig.n_vertices)(rig.neutral)
    radial = rig.neutral / np.linalg.norm(rig.neutral, axis=1, keepdims=True)
    assert np.min(np.sum(sphere * radial, axis=1)) > 0.999


def test_multisampling_smooths_edges(rig):
    frames = {}
    for samples in (0, 4):
        with Renderer(rig, RenderSettings(width=SIZE, height=SIZE, samples=samples)) as r:
            frames[samples] = r.render()
    bg = np.array([31, 31, 36])  # (0.12, 0.12, 0.14) * 255, rounded
    # edge pixels: neither background nor the aliased value; MSAA gives intermediate shades
    def n_levels(frame):
        return len(np.unique(frame.reshape(-1, 3), axis=0))
    assert (frames[0][0, 0] == bg).all() and (frames[4][0, 0] == bg).all()
    assert n_levels(frames[4]) > n_levels(frames[0])


@pytest.fixture(scope="module")
def head():
    reference_head = pytest.importorskip("blendtalk.render.reference_head")
    return reference_head.build_reference_head()


def test_reference_head_jaw_and_blinks_stay_in_their_regions(head):
    with Renderer(head, RenderSettings(width=192, height=192)) as r:
        neutral = r.render()
        eyes = r.project(head.neutral[head.vertex_sets["eyes"]])
        lips = r.project(head.neutral[head.vertex_sets["lips"]])
        jaw = changed(r.render(one_hot("jawOpen")), neutral)
        blink = changed(r.render(one_hot("eyeBlinkLeft")), neutral)
    eye_rows = slice(int(eyes[:, 1].min()) - 1, int(eyes[:, 1].max()) + 2)
    assert jaw.sum() > 100
    assert not jaw[eye_rows].any()  # the jaw leaves the eyes' rows untouched
    assert np.nonzero(jaw)[0].mean() > lips[:, 1].min() - 2  # centred at or below the lips
    ys, xs = np.nonzero(blink)
    assert blink.sum() > 20
    centre_x = (eyes[:, 0].min() + eyes[:, 0].max()) / 2
    assert xs.min() > centre_x  # only the subject's left eye: the image's right
    assert ys.max() < lips[:, 1].min()  # nowhere near the mouth


def test_back_face_culling_of_the_reference_head_hides_nothing_visible(head):
    """The reference head is drawn without its back faces (a closed skin, outward winding, the
    vertical flip accounted for); the frames match drawing every triangle, but for a few pixels
    where the lip skin folds at the corners of a wide-open mouth. A wrong front face or an open
    neck changes thousands of pixels."""
    assert head.cull_back_faces
    poses = np.stack([np.zeros(52, np.float32), one_hot("jawOpen"), one_hot("eyeBlinkLeft"),
                      one_hot("mouthSmileLeft") + one_hot("mouthSmileRight") + one_hot("browInnerUp")])
    settings = RenderSettings(width=192, height=192, elevation_deg=-25.0)  # from below: the neck
    with Renderer(head, settings) as r:
        culled = r.render_sequence(poses)
    with Renderer(dataclasses.replace(head, cull_back_faces=False), settings) as r:
        full = r.render_sequence(poses)
    assert changed(culled, full).mean() < 1e-3


def test_renderer_poses_through_rig_pose(rig, monkeypatch):
    posed = []
    pose = Rig.pose

    def counting(self, weights):
        posed.append(len(weights))
        return pose(self, weights)

    monkeypatch.setattr(Rig, "pose", counting)
    weights = np.zeros((20, 52), np.float32)
    with Renderer(rig, RenderSettings(width=16, height=16)) as r:
        r.render_sequence(weights)
    assert sum(posed) == 20 and max(posed) <= 16  # every frame, in chunks


def test_render_settings_read_only_the_frame_keys():
    cfg = validate_config({})["render"]
    assert render_settings(select_keys(cfg, FRAME_KEYS)) == render_settings(cfg)
    assert set(FRAME_KEYS) <= set(VIDEO_KEYS) and "samples_per_emotion" not in VIDEO_KEYS
