"""The Rig container: validation, posing, mouth opening and the npz round trip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from blendtalk.render.rig import Rig, load_rig, save_rig


def tiny_rig() -> Rig:
    neutral = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0]], np.float32)
    deltas = np.zeros((52, 4, 3), np.float32)
    deltas[17, 3] = (0, -2, 0)  # jawOpen drops the lower lip vertex
    return Rig("tiny", neutral, [[0, 1, 2], [0, 3, 1]], deltas,
               {"mouth_upper": [2], "mouth_lower": [3], "lips": [2, 3]}, colors=np.ones((4, 3)))


def test_pose_and_mouth_opening():
    rig = tiny_rig()
    w = np.zeros((2, 52), np.float32)
    w[1, 17] = 0.5
    posed = rig.pose(w)
    assert posed.shape == (2, 4, 3) and posed.dtype == np.float32
    np.testing.assert_allclose(posed[1, 3], (0, -2, 0))
    np.testing.assert_allclose(rig.mouth_opening(posed), [2.0, 3.0])
    with pytest.raises(ValueError):
        rig.pose(np.zeros(51))


def test_invalid_rigs_are_rejected():
    rig = tiny_rig()
    with pytest.raises(ValueError, match="triangles"):
        Rig("bad", rig.neutral, [[0, 1, 4]], rig.deltas)
    with pytest.raises(ValueError, match="vertex set"):
        Rig("bad", rig.neutral, rig.triangles, rig.deltas, {"lips": [7]})
    with pytest.raises(ValueError, match="deltas"):
        Rig("bad", rig.neutral, rig.triangles, rig.deltas[:51])


def test_round_trip_without_pickles(tmp_path):
    rig = tiny_rig()
    save_rig(rig, tmp_path / "tiny.npz")
    with np.load(tmp_path / "tiny.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    back = load_rig(tmp_path / "tiny.npz")
    assert back.name == "tiny" and back.vertex_sets.keys() == rig.vertex_sets.keys()
    assert back.cull_back_faces is False
    save_rig(dataclasses.replace(rig, cull_back_faces=True), tmp_path / "culled.npz")
    assert load_rig(tmp_path / "culled.npz").cull_back_faces is True
    np.testing.assert_array_equal(back.deltas, rig.deltas)
    np.testing.assert_array_equal(back.colors, rig.colors)


def test_wrong_format_rigs_name_the_file_and_what_was_expected(tmp_path):
    (tmp_path / "text.npz").write_text("not an archive")
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(tmp_path / "keys.npz", neutral=np.zeros((4, 3)), triangles=np.zeros((1, 3), int))
    rig = tiny_rig()
    save_rig(dataclasses.replace(rig, deltas=rig.deltas), tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as z:
        arrays = dict(z)
    np.savez(tmp_path / "shapes.npz", **{**arrays, "deltas": arrays["deltas"][:, :3]})
    np.savez(tmp_path / "flat.npz", **{**arrays, "neutral": np.zeros(12)})
    cases = {"text.npz": r"text\.npz: not an \.npz archive; expected a rig written by save_rig",
             "array.npy": r"array\.npy: a single \.npy array, not an \.npz archive",
             "keys.npz": r"keys\.npz: no array\(s\) name, deltas, shape_names; expected a rig",
             "shapes.npz": r"shapes\.npz: rig 'tiny': neutral \(4, 3\) and deltas \(52, 3, 3\) do not match",
             "flat.npz": r"flat\.npz: rig 'tiny': neutral \(12,\)"}
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            load_rig(tmp_path / name)


def test_pose_refuses_non_finite_weights():
    w = np.zeros((3, 52))
    w[2, 17] = np.inf
    with pytest.raises(ValueError, match=r"rig 'tiny': pose weights: row 2, column jawOpen: inf is not finite"):
        tiny_rig().pose(w)
