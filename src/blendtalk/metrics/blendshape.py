"""Rig-free errors in blendshape space, per ARKit region."""

from __future__ import annotations

import numpy as np

from blendtalk.arkit import REGIONS, check_weights


def region_errors(pred: np.ndarray, target: np.ndarray) -> dict[str, dict[str, float]]:
    """MSE and MAE over all channels and per region (`arkit.REGIONS`).

    `pred` and `target` are `(..., 52)` blendshape weights in [0, 1] (one expression per row, or
    `(T, 52)` frames at 30 fps); errors are means over every leading axis and the region's columns.
    """
    pred = check_weights(pred, what="predicted weights")
    target = check_weights(target, what="target weights")
    if pred.shape != target.shape:
        raise ValueError(f"expected two (..., 52) arrays of one shape, got {pred.shape} and {target.shape}")
    diff = pred.astype(np.float64) - target
    out = {"all": {"mse": float(np.mean(diff**2)), "mae": float(np.mean(np.abs(diff)))}}
    for name, cols in REGIONS.items():
        d = diff[..., list(cols)]
        out[name] = {"mse": float(np.mean(d**2)), "mae": float(np.mean(np.abs(d)))}
    return out
