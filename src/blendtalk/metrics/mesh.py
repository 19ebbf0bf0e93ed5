"""Mesh-space metrics of facial animation, on vertex sequences `(T, V, 3)` in the rig's units
(the reference head: cm), or on blendshape sequences through a `Rig`.

Definitions follow the published evaluation code of FaceFormer / CodeTalker:
- LVE (lip vertex error): per frame, the maximum over lip vertices of the squared L2 error;
  averaged over frames.
- FDD (upper-face dynamics deviation): for each upper-face vertex, the temporal standard
  deviation (population, ddof=0) of its squared displacement norm from the neutral template;
  averaged over vertices; ground truth minus prediction (signed: positive means the prediction
  moves the upper face less than the ground truth).
- MOD (mouth opening difference): mean over frames of |opening_gt - opening_pred|, the opening
  being the distance between the centroids of the "mouth_upper" and "mouth_lower" vertex sets.
- MVE (mean vertex error): mean over frames and all vertices of the L2 error.
Identical sequences score 0 on every metric.
"""

from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING

from blendtalk.arkit import check_weights

if TYPE_CHECKING:  # metrics score arrays; a rig is only read for its arrays
    from blendtalk.render.rig import Rig


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"expected two (T, V, 3) vertex sequences of one shape, got {pred.shape} and {target.shape}")
    return pred, target


def _indices(indices: np.ndarray, n_vertices: int, name: str) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.intp).reshape(-1)
    if indices.size == 0:
        raise ValueError(f"vertex set {name!r} is empty")
    if indices.min() < 0 or indices.max() >= n_vertices:
        raise ValueError(f"vertex set {name!r} has indices outside [0, {n_vertices})")
    return indices


def lip_vertex_error(pred: np.ndarray, target: np.ndarray, lips: np.ndarray) -> float:
    """LVE: mean over frames of max over `lips` vertices of the squared L2 error (units²)."""
    pred, target = _pair(pred, target)
    lips = _indices(lips, pred.shape[1], "lips")
    squared = np.sum((pred[:, lips] - target[:, lips]) ** 2, axis=-1)  # (T, L)
    return float(np.mean(np.max(squared, axis=1)))


def _motion_std(vertices: np.ndarray, neutral: np.ndarray, upper: np.ndarray) -> float:
    squared = np.sum((vertices[:, upper] - neutral[upper]) ** 2, axis=-1)  # (T, U)
    return float(np.mean(np.std(squared, axis=0)))


def upper_face_dynamics_deviation(pred: np.ndarray, target: np.ndarray, neutral: np.ndarray,
                                  upper_face: np.ndarray) -> float:
    """FDD: mean_v std_t |target - neutral|² minus the same for `pred` (units², signed)."""
    pred, target = _pair(pred, target)
    neutral = np.asarray(neutral, dtype=np.float64)
    if neutral.shape != pred.shape[1:]:
        raise ValueError(f"neutral {neutral.shape} does not match vertices {pred.shape[1:]}")
    upper = _indices(upper_face, pred.shape[1], "upper_face")
    return _motion_std(target, neutral, upper) - _motion_std(pred, neutral, upper)


def mouth_opening(vertices: np.ndarray, mouth_upper: np.ndarray, mouth_lower: np.ndarray) -> np.ndarray:
    """Distance between the centroids of the upper and lower inner-lip vertex sets (units), 0
    where the upper centroid is below the lower one (y is up): lips pressed into each other are
    closed, not open again. Vertices `(T, V, 3)` → `(T,)`, `(V, 3)` → a scalar array."""
    vertices = np.asarray(vertices, dtype=np.float64)
    upper = _indices(mouth_upper, vertices.shape[-2], "mouth_upper")
    lower = _indices(mouth_lower, vertices.shape[-2], "mouth_lower")
    gap = vertices[..., upper, :].mean(axis=-2) - vertices[..., lower, :].mean(axis=-2)
    return np.where(gap[..., 1] > 0, np.linalg.norm(gap, axis=-1), 0.0)


def mouth_opening_difference(pred: np.ndarray, target: np.ndarray, mouth_upper: np.ndarray,
                             mouth_lower: np.ndarray) -> float:
    """MOD: mean over frames of the absolute mouth-opening difference (units)."""
    pred, target = _pair(pred, target)
    return float(np.mean(np.abs(mouth_opening(target, mouth_upper, mouth_lower)
                                - mouth_opening(pred, mouth_upper, mouth_lower))))


def mean_vertex_error(pred: np.ndarray, target: np.ndarray) -> float:
    """MVE: mean over frames and vertices of the L2 error (units)."""
    pred, target = _pair(pred, target)
    return float(np.mean(np.linalg.norm(pred - target, axis=-1)))


def mesh_metrics(rig: Rig, pred_weights: np.ndarray, target_weights: np.ndarray) -> dict[str, float]:
    """LVE, FDD, MOD and MVE of two `(T, 52)` blendshape sequences posed on `rig` (which must have
    the vertex sets "lips", "upper_face", "mouth_upper" and "mouth_lower")."""
    pred_weights = check_weights(pred_weights, ndim=2, what="predicted weights")
    target_weights = check_weights(target_weights, ndim=2, what="target weights")
    if pred_weights.shape != target_weights.shape:
        raise ValueError(f"expected two (T, 52) sequences of one shape, got {pred_weights.shape} "
                         f"and {target_weights.shape}")
    missing = [k for k in ("lips", "upper_face", "mouth_upper", "mouth_lower") if k not in rig.vertex_sets]
    if missing:
        raise ValueError(f"rig {rig.name!r} lacks the vertex set(s) {', '.join(missing)}")
    pred, target = rig.pose(pred_weights), rig.pose(target_weights)
    sets = rig.vertex_sets
    return {
        "lve": lip_vertex_error(pred, target, sets["lips"]),
        "fdd": upper_face_dynamics_deviation(pred, target, rig.neutral, sets["upper_face"]),
        "mod": mouth_opening_difference(pred, target, sets["mouth_upper"], sets["mouth_lower"]),
        "mve": mean_vertex_error(pred, target),
    }
