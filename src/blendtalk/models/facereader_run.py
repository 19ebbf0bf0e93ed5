"""The face reader stage on a rendered dataset: train the Gaussian-NLL reader and its MSE
ablation on the same train split, score both on the same held-out test renders, and write the
metrics (`reading_scores` per model, the weakest channels) and the GNLL reader's checkpoint.

Run it in a process that has not rendered (see `blendtalk.models.facereader`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import torch

from blendtalk.io import write_json
from blendtalk.metrics.facereader import reading_scores, weakest_channels
from blendtalk.models.facereader import FaceReader, ReaderConfig, ReaderTrainConfig, predict, save_reader, train_reader
from blendtalk.render.synthetic import load_dataset
from blendtalk.seeding import seed_torch

log = logging.getLogger(__name__)


def run(dataset: str | Path, model_dir: str | Path, metrics_path: str | Path, rig: str,
        model_cfg: ReaderConfig, train_cfg: ReaderTrainConfig, threads: int = 1) -> dict:
    """Train GNLL and MSE readers on `dataset`'s train split (validation split for early
    stopping), score both on its test split, save the GNLL reader to `model_dir` and write the
    metrics JSON to `metrics_path`. Returns the metrics."""
    torch.set_num_threads(threads)
    train, val, test = (load_dataset(dataset, s) for s in ("train", "val", "test"))
    log.info("face reader on %s: %d train, %d val, %d test frames", rig, len(train[0]), len(val[0]), len(test[0]))
    metrics: dict = {"rig": rig, "frames": {"train": len(train[0]), "val": len(val[0]), "test": len(test[0])},
                     "model": {"image_size": model_cfg.image_size, "widths": list(model_cfg.widths),
                               "blocks": model_cfg.blocks}}
    for kind in ("gnll", "mse"):
        seed_torch(train_cfg.seed)
        model = FaceReader(model_cfg)
        start = time.perf_counter()
        history = train_reader(model, train, val, replace(train_cfg, loss=kind, label=f"facereader {kind}"))
        seconds = time.perf_counter() - start
        mean, sigma = predict(model, test[0])
        scores = reading_scores(test[1], mean, sigma if kind == "gnll" else None)
        scores.update(epochs=len(history), best_epoch=int(history.loc[history["best"], "epoch"].iloc[0]),
                      train_seconds=round(seconds, 1),
                      train_images_per_s=round(len(history) * len(train[0]) / seconds, 1),
                      weakest=[{"channel": c, "r2": r} for c, r in weakest_channels(scores)])
        metrics[kind] = scores
        log.info("%s reader: test R² %.3f, MAE %.4f after %d epochs", kind, scores["overall"]["r2"],
                 scores["overall"]["mae"], len(history))
        if kind == "gnll":
            save_reader(model, model_dir, extra={"rig": rig, "loss": kind})
    r2 = [metrics[kind]["overall"]["r2"] for kind in ("gnll", "mse")]
    metrics["gnll_minus_mse_r2"] = None if None in r2 else r2[0] - r2[1]
    write_json(metrics, metrics_path)
    return metrics
