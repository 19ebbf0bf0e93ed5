"""Scores of a face reader's readings against the weights that were rendered (numpy only).

Inputs are `(N, 52)` float arrays in ARKit order: `truth` the rendered weights in [0, 1], `mean`
the reader's estimate and, for calibration, `sigma` its predicted standard deviation (> 0).
"""

from __future__ import annotations

import math

import numpy as np

from blendtalk.arkit import ARKIT_NAMES, REGIONS


def r2_per_channel(truth: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """`(52,)` coefficient of determination 1 - SS_res / SS_tot per channel; NaN where the truth
    does not vary (R² is undefined for a constant channel)."""
    truth, mean = np.asarray(truth, np.float64), np.asarray(mean, np.float64)
    ss_res = ((truth - mean) ** 2).sum(axis=0)
    ss_tot = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 1e-12, 1.0 - ss_res / ss_tot, np.nan)


def calibration(truth: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> dict[str, float]:
    """How honest σ is: the share of |error| within 1σ and 2σ (68.3% and 95.4% when the errors are
    Gaussian with that σ) and the mean Gaussian NLL per value (nats)."""
    truth, mean, sigma = (np.asarray(a, np.float64) for a in (truth, mean, sigma))
    z = np.abs(truth - mean) / sigma
    nll = 0.5 * (np.log(2 * math.pi * sigma ** 2) + z ** 2)
    return {"within_1sigma": float((z <= 1).mean()), "within_2sigma": float((z <= 2).mean()),
            "expected_1sigma": 0.6827, "expected_2sigma": 0.9545, "nll": float(nll.mean())}


def reading_scores(truth: np.ndarray, mean: np.ndarray, sigma: np.ndarray | None = None) -> dict:
    """Overall, per-region and per-channel MAE and R² (the overall R² is the mean of the channels'
    where defined), plus `calibration` when `sigma` is given."""
    truth, mean = np.asarray(truth, np.float64), np.asarray(mean, np.float64)
    if truth.shape != mean.shape or truth.ndim != 2 or truth.shape[1] != len(ARKIT_NAMES):
        raise ValueError(f"truth {truth.shape} and readings {mean.shape} must both be (N, 52)")
    mae = np.abs(truth - mean).mean(axis=0)
    r2 = r2_per_channel(truth, mean)

    def summary(idx) -> dict[str, float | None]:
        idx = list(idx)
        defined = r2[idx][~np.isnan(r2[idx])]
        return {"mae": float(mae[idx].mean()), "r2": float(defined.mean()) if defined.size else None}

    out = {"frames": int(len(truth)), "overall": summary(range(len(ARKIT_NAMES))),
           "regions": {name: summary(idx) for name, idx in REGIONS.items()},
           "channels": {name: {"mae": float(mae[i]), "r2": None if np.isnan(r2[i]) else float(r2[i])}
                        for i, name in enumerate(ARKIT_NAMES)}}
    if sigma is not None:
        out["calibration"] = calibration(truth, mean, sigma)
    return out


def weakest_channels(scores: dict, count: int = 5) -> list[tuple[str, float]]:
    """The `count` channels of `reading_scores` output with the lowest defined R²."""
    defined = [(name, s["r2"]) for name, s in scores["channels"].items() if s["r2"] is not None]
    return sorted(defined, key=lambda item: item[1])[:count]
