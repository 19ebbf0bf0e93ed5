"""The face reader stage: train the Gaussian-NLL reader and its MSE ablation on a rendered
dataset and score both on the same held-out renders (scores, legibility report, checkpoint);
then read the run's own videos back and compare them with the curves that were rendered.

Run training in a process that has not rendered (see `blendtalk.models.facereader`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.io import atomic_path, write_json
from blendtalk.metrics.facereader import reading_scores, weakest_channels
from blendtalk.models.facereader import (FaceReader, ReaderConfig, ReaderTrainConfig, load_reader, predict,
                                         save_reader, train_reader)
from blendtalk.render.synthetic import load_dataset
from blendtalk.seeding import seed_torch

log = logging.getLogger(__name__)

#: Channels reported as a rig's least legible.
WEAKEST = 5


def reader_configs(cfg: dict, seed: int) -> tuple[ReaderConfig, ReaderTrainConfig]:
    """The network and training settings of a validated `facereader:` section."""
    model, train = cfg["model"], cfg["train"]
    return (ReaderConfig(image_size=model["image_size"], widths=tuple(model["widths"]), blocks=model["blocks"],
                         head=model["head"]),
            ReaderTrainConfig(epochs=train["epochs"], batch_size=train["batch_size"], lr=train["lr"],
                              weight_decay=train["weight_decay"], patience=train["patience"],
                              beta=train["beta"], flip=train["flip"], shift=train["shift"], seed=seed))


def legibility(rig: str, scores: dict, camera: dict) -> dict:
    """A rig's legibility report from the GNLL reader's test `reading_scores`: per-channel R² and
    MAE, the overall and per-region R², the weakest channels, and the camera range it holds for."""
    return {"rig": rig, "camera": camera, "overall_r2": scores["overall"]["r2"],
            "regions": {name: s["r2"] for name, s in scores["regions"].items()},
            "channels": {name: s["r2"] for name, s in scores["channels"].items()},
            "mae": {name: s["mae"] for name, s in scores["channels"].items()},
            "weakest": [{"channel": c, "r2": r} for c, r in weakest_channels(scores, WEAKEST)]}


def train_and_score(dataset: str | Path, model_dir: str | Path, scores_path: str | Path,
                    legibility_path: str | Path, rig: str, model_cfg: ReaderConfig,
                    train_cfg: ReaderTrainConfig, camera: dict) -> dict:
    """Train GNLL and MSE readers on `dataset`'s train split (its val split for early stopping),
    score both on its test split, save the GNLL reader and both histories to `model_dir`, and
    write the scores (both models, the GNLL - MSE difference) and the rig's `legibility` report.
    Returns the scores."""
    train, val, test = (load_dataset(dataset, s) for s in ("train", "val", "test"))
    log.info("face reader on %s: %d train, %d val, %d test frames", rig, len(train[0]), len(val[0]), len(test[0]))
    model_dir = Path(model_dir)
    scores: dict = {"rig": rig, "frames": {"train": len(train[0]), "val": len(val[0]), "test": len(test[0])},
                    "model": {"image_size": model_cfg.image_size, "widths": list(model_cfg.widths),
                              "blocks": model_cfg.blocks, "head": model_cfg.head}}
    for kind in ("gnll", "mse"):
        seed_torch(train_cfg.seed)
        model = FaceReader(model_cfg)
        start = time.perf_counter()
        history = train_reader(model, train, val, replace(train_cfg, loss=kind, label=f"facereader {kind}"))
        seconds = time.perf_counter() - start
        mean, sigma = predict(model, test[0])
        result = reading_scores(test[1], mean, sigma if kind == "gnll" else None)
        result.update(epochs=len(history), best_epoch=int(history.loc[history["best"], "epoch"].iloc[0]),
                      train_seconds=round(seconds, 1),
                      train_images_per_s=round(len(history) * len(train[0]) / seconds, 1),
                      weakest=[{"channel": c, "r2": r} for c, r in weakest_channels(result, WEAKEST)])
        scores[kind] = result
        log.info("%s reader: test R² %s, MAE %.4f after %d epochs", kind, result["overall"]["r2"],
                 result["overall"]["mae"], len(history))
        model_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(model_dir / f"history_{kind}.csv") as tmp:
            history.to_csv(tmp, index=False)
        if kind == "gnll":
            save_reader(model, model_dir, extra={"rig": rig, "loss": kind, "camera": camera})
    r2 = [scores[kind]["overall"]["r2"] for kind in ("gnll", "mse")]
    scores["gnll_minus_mse_r2"] = None if None in r2 else r2[0] - r2[1]
    write_json(scores, scores_path)
    write_json(legibility(rig, scores["gnll"], camera), legibility_path)
    return scores


def read_video(model: FaceReader, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The reader's mean weights and σ, each `(T, 52)`, for every frame of a video."""
    from blendtalk.render.video import read_frames

    return predict(model, read_frames(path))


def read_back(model_dir: str | Path, clips: Sequence[tuple[str, str | Path, np.ndarray]]) -> tuple[dict, dict]:
    """Read each `(kind, video, rendered (T, 52) curves)` clip back with the reader in
    `model_dir` and score it against the curves (`reading_scores` per clip, and over all clips of
    each kind). Returns the report and, for the plot, the first clip's
    `{"name", "rendered", "read"}` arrays."""
    model, _ = load_reader(model_dir)
    per_clip, by_kind, example = [], {}, {}
    for kind, video, rendered in clips:
        mean, sigma = read_video(model, video)
        if len(mean) != len(rendered):
            raise ValueError(f"{video} has {len(mean)} frames but its curves have {len(rendered)}")
        scores = reading_scores(rendered, mean, sigma)
        per_clip.append({"kind": kind, "video": Path(video).name, "frames": len(mean),
                         "mae": scores["overall"]["mae"],
                         "regions": {name: s["mae"] for name, s in scores["regions"].items()}})
        parts = by_kind.setdefault(kind, ([], [], []))
        for part, value in zip(parts, (rendered, mean, sigma)):
            part.append(value)
        example = example or {"name": Path(video).stem, "rendered": rendered, "read": mean}
    summary = {}
    for kind, (rendered, mean, sigma) in by_kind.items():
        scores = reading_scores(np.concatenate(rendered), np.concatenate(mean), np.concatenate(sigma))
        summary[kind] = {"clips": len(rendered), "frames": scores["frames"], "mae": scores["overall"]["mae"],
                         "r2": scores["overall"]["r2"], "calibration": scores["calibration"],
                         "regions": scores["regions"]}
        log.info("read-back of %d %s videos: MAE %.4f, R² %s", len(rendered), kind, scores["overall"]["mae"],
                 scores["overall"]["r2"])
    return {"summary": summary, "clips": per_clip}, example


def most_active(curves: np.ndarray, count: int = 6) -> tuple[str, ...]:
    """The `count` channels that move most (largest range) in `(T, 52)` curves, in ARKit order."""
    idx = np.sort(np.argsort(-np.ptp(curves, axis=0), kind="stable")[:count])
    return tuple(ARKIT_NAMES[i] for i in idx)

