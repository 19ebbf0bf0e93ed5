"""Mesh metrics against hand-computed examples (FaceFormer / CodeTalker definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from blendtalk.arkit import INDEX
from blendtalk.metrics.mesh import (lip_vertex_error, mean_vertex_error, mesh_metrics, mouth_opening,
                                    mouth_opening_difference, upper_face_dynamics_deviation)
from blendtalk.render.sphere_rig import build_sphere_rig


def test_lve_is_the_mean_over_frames_of_the_worst_lip_vertex():
    target = np.zeros((2, 3, 3))
    pred = np.zeros((2, 3, 3))
    pred[0, 0] = [1, 0, 0]      # frame 0: lip errors² 1 and 4 → max 4
    pred[0, 1] = [0, 2, 0]
    pred[1, 1] = [1, 1, 1]      # frame 1: lip error² 3 → max 3
    pred[1, 2] = [10, 0, 0]     # not a lip vertex
    assert lip_vertex_error(pred, target, [0, 1]) == pytest.approx((4 + 3) / 2)


def test_fdd_is_gt_minus_pred_of_the_mean_temporal_std_of_squared_displacement():
    neutral = np.zeros((2, 3))
    target = np.zeros((2, 2, 3))
    target[1, 0] = [2, 0, 0]   # vertex 0: |d|² = 0, 4 → std 2;  vertex 1 still → std 0
    pred = np.zeros((2, 2, 3))
    pred[1, 0] = [1, 0, 0]     # vertex 0: |d|² = 0, 1 → std 0.5
    # (2 + 0) / 2 - (0.5 + 0) / 2 = 0.75; signed, so swapping the roles negates it
    assert upper_face_dynamics_deviation(pred, target, neutral, [0, 1]) == pytest.approx(0.75)
    assert upper_face_dynamics_deviation(target, pred, neutral, [0, 1]) == pytest.approx(-0.75)
    assert upper_face_dynamics_deviation(pred, target, neutral, [1]) == 0.0


def test_mod_and_mve_by_hand():
    # vertices: 0, 1 upper lip, 2 lower lip
    target = np.array([[[0, 1, 0], [2, 1, 0], [1, -1, 0]]], float)    # opening |(1,1)-(1,-1)| = 2
    pred = np.array([[[0, 1, 0], [2, 1, 0], [1, 0.5, 0]]], float)     # opening 0.5
    np.testing.assert_allclose(mouth_opening(target, [0, 1], [2]), [2.0])
    crossed = np.array([[[0, 1, 0], [2, 1, 0], [1, 1.5, 0]]], float)  # lower lip pressed above the upper
    np.testing.assert_allclose(mouth_opening(crossed, [0, 1], [2]), [0.0])
    assert mouth_opening_difference(pred, target, [0, 1], [2]) == pytest.approx(1.5)
    assert mean_vertex_error(pred, target) == pytest.approx(1.5 / 3)


def test_metrics_on_a_rig_and_zero_for_identical_sequences():
    rig = build_sphere_rig(3)
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 1, (10, 52)).astype(np.float32)
    same = mesh_metrics(rig, gt, gt.copy())
    assert same == {"lve": 0.0, "fdd": 0.0, "mod": 0.0, "mve": 0.0}
    # a prediction that never opens the jaw: lips and mouth opening are wrong, the upper face is not
    pred = gt.copy()
    pred[:, INDEX["jawOpen"]] = 0
    diff = mesh_metrics(rig, pred, gt)
    assert diff["lve"] > 0 and diff["mod"] > 0 and diff["mve"] > 0
    assert diff["fdd"] == pytest.approx(0.0, abs=1e-9)
    # jawOpen moves the lower-lip rows 2.5 cm down and 1 cm back at full weight (smaller above)
    assert diff["mod"] <= np.mean(gt[:, INDEX["jawOpen"]]) * np.hypot(2.5, 1.0) + 1e-6


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="same|one shape"):
        lip_vertex_error(np.zeros((2, 3, 3)), np.zeros((3, 3, 3)), [0])
    with pytest.raises(ValueError, match="'lips' has indices outside"):
        lip_vertex_error(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), [5])
    rig = build_sphere_rig(2)
    del rig.vertex_sets["upper_face"]
    with pytest.raises(ValueError, match="upper_face"):
        mesh_metrics(rig, np.zeros((2, 52)), np.zeros((2, 52)))
