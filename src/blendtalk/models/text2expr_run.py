"""The text2expr stage end to end: tables → cached text embeddings → trained model (and the
reference-loss baseline trained the same way) → metrics, checkpoint, history and plot data.

Called by workflow_scripts/text2expr_train.py and bench/real_goemotions_text2expr.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from blendtalk import seeding, tables
from blendtalk.arkit import ARKIT_NAMES
from blendtalk.io import atomic_path, write_json, write_parquet
from blendtalk.metrics.text2expr import distinct_expressions, expression_baselines
from blendtalk.models.budget import epoch_budget
from blendtalk.models.text2expr import (ModelConfig, PairData, Text2Expr, TrainConfig,
                                        effective_patience, evaluate_loss, save_model, train)
from blendtalk.models.text2expr_eval import evaluate_model, latents
from blendtalk.text import EmbeddingCache, augmented_variants, make_encoder, text_views

log = logging.getLogger(__name__)


def load_table(expressions: str | Path, descriptions: str | Path) -> pd.DataFrame:
    """expressions.parquet joined with the sentence `text` and `emotions` of descriptions.parquet
    by `text_id`; one row per text_id (duplicates dropped, first kept)."""
    expr = tables.read(expressions, tables.EXPRESSIONS)
    desc = tables.read(descriptions, tables.DESCRIPTIONS, columns=["text_id", "text", "emotions"])
    df = expr.merge(desc.drop_duplicates("text_id"), on="text_id", how="left", validate="m:1")
    if df["text"].isna().any():
        raise ValueError(f"{int(df['text'].isna().sum())} expressions have no text in {descriptions}")
    n = len(df)
    df = df.drop_duplicates("text_id").reset_index(drop=True)
    if len(df) < n:
        log.warning("dropped %d duplicate text_ids", n - len(df))
    return df


def build_pairs(df: pd.DataFrame, cache: EmbeddingCache, views: list[str], eval_view: str,
                augment: dict[str, Any], seed: int) -> tuple[dict[str, PairData], dict[str, int]]:
    """PairData per split. Training rows may use every view and `augment['variants']` augmented
    variants of each; val/test rows use `eval_view` only. Every string is embedded through the
    cache, each unique string once."""
    pairs, stats = {}, {}
    for split in ("train", "val", "test"):
        part = df[df["split"] == split].reset_index(drop=True)
        if part.empty:
            raise ValueError(f"no rows in split {split!r}: the model needs train, val and test texts")
        expr = part[list(ARKIT_NAMES)].to_numpy(np.float32)
        use_views = views if split == "train" else [eval_view]
        per_view = text_views(part, use_views)
        candidates = [[] for _ in range(len(part))]
        for view in use_views:
            strings = per_view[view]
            variants = augmented_variants(strings, augment["variants"], seed, augment["p_synonym"],
                                          augment["p_swap"], augment["p_delete"]) \
                if split == "train" and augment["variants"] > 0 else [[] for _ in strings]
            for row, (s, vs) in enumerate(zip(strings, variants)):
                candidates[row] += [c for c in dict.fromkeys([s, *vs]) if c.strip()]
        for row, c in enumerate(candidates):
            if not c:
                raise ValueError(f"text_id {part['text_id'][row]} has only empty text views")
        strings = list(dict.fromkeys(s for c in candidates for s in c))
        index = {s: i for i, s in enumerate(strings)}
        width = max(len(c) for c in candidates)
        choices = np.array([[index[c[j % len(c)]] for j in range(width)] for c in candidates])
        pairs[split] = PairData(expr=expr, text=cache.embed(strings), choices=choices)
        stats[f"{split}_texts"] = len(part)
        stats[f"{split}_strings"] = len(strings)
    return pairs, stats


def _fit(pairs: dict[str, PairData], model_cfg: ModelConfig, train_cfg: TrainConfig
         ) -> tuple[Text2Expr, pd.DataFrame]:
    seeding.seed_torch(train_cfg.seed)  # the initial weights
    model = Text2Expr(model_cfg)
    history = train(model, pairs["train"], pairs["val"], train_cfg)
    return model, history


def configs(params: dict[str, Any], text_dim: int, seed: int) -> tuple[ModelConfig, TrainConfig]:
    """The model sizes and the training settings of `params` (see `run`)."""
    m, t, w = params["model"], params["train"], params["loss"]
    model_cfg = ModelConfig.from_preset(text_dim, m["preset"], latent=m["latent"],
                                        hidden=m["hidden"], blocks=m["blocks"], dropout=m["dropout"],
                                        temperature=m["temperature"])
    train_cfg = TrainConfig(loss=w["kind"], w_contrastive=w["contrastive"],
                            w_reconstruction=w["reconstruction"], w_cross_modal=w["cross_modal"],
                            tolerance=params["tolerance"], epochs=t["epochs"],
                            batch_size=t["batch_size"], lr=t["lr"], weight_decay=t["weight_decay"],
                            patience=t["patience"], patience_samples=t.get("patience_samples"),
                            max_samples=t.get("max_samples"),
                            val_subsample=t.get("val_subsample"), seed=seed)
    return model_cfg, train_cfg


def write_latents(model: Text2Expr, rows: pd.DataFrame, text: np.ndarray, expr: np.ndarray,
                  path: str | Path) -> None:
    """The test latents for the joint map: the text latents of `rows` (text embeddings `text`
    (N, D)), then their expression latents (`expr` (N, 52)), one row each."""
    z_text, z_expr = latents(model, text, expr)
    write_parquet(pd.DataFrame({
        "text_id": list(rows["text_id"]) * 2,
        "emotion": list(rows["emotion"]) * 2,
        "modality": ["text"] * len(rows) + ["expression"] * len(rows),
        "latent": [row.tolist() for row in np.concatenate([z_text, z_expr])],
    }), path)


def run(expressions: str | Path, descriptions: str | Path, params: dict[str, Any], seed: int,
        model_dir: str | Path, metrics_path: str | Path, latents_path: str | Path,
        cache_dir: str | Path = ".cache/text_embeddings", device: str = "cpu",
        encode_batch_size: int = 64, threads: int = 1, encoder_threads: int | None = None) -> dict:
    """Train, evaluate and write everything; returns the metrics dict. `params` is the config's
    `text2expr` section (schemas/text2expr.schema.yaml); only the settings that change the
    outputs are read from it (rules/text2expr.smk gives no more). The settings that change only
    the speed come as arguments: the encoder's `device` and `encode_batch_size` (strings per
    encoder batch), `threads` (torch CPU threads for training and metrics) and
    `encoder_threads` (torch CPU threads while encoding strings; None: `threads`)."""
    torch.set_num_threads(encoder_threads or threads)
    df = load_table(expressions, descriptions)
    enc = params["encoder"]
    encoder = make_encoder(enc["kind"], enc.get("model"), enc.get("pretrained"), device,
                           encode_batch_size, precision=enc.get("precision", "fp32"))
    cache = EmbeddingCache(cache_dir, encoder)
    t0 = time.perf_counter()
    pairs, stats = build_pairs(df, cache, params["views"], params["eval_view"], params["augment"], seed)
    stats["strings_encoded_now"] = cache.n_encoded
    stats["embedding_seconds"] = round(time.perf_counter() - t0, 3)
    torch.set_num_threads(threads)

    model_cfg, train_cfg = configs(params, encoder.dim, seed)
    t0 = time.perf_counter()
    model, history = _fit(pairs, model_cfg, train_cfg)
    train_seconds = time.perf_counter() - t0

    train_rows, test_rows = df[df["split"] == "train"], df[df["split"] == "test"]
    tr, te = pairs["train"], pairs["test"]
    tr_text = tr.text[tr.choices[:, 0]]  # the sentence view (first candidate) of each train row
    te_text = te.text[te.choices[:, 0]]

    def evaluate(mod: Text2Expr) -> dict:
        return evaluate_model(mod, te_text, te.expr, list(test_rows["emotion"]), tr_text, tr.expr,
                              list(train_rows["emotion"]), params["tolerance"])

    metrics: dict[str, Any] = {
        "split": "test",
        "eval_view": params["eval_view"],
        "tolerance": params["tolerance"],
        "correct_rule": ("a retrieved item is correct when its expression equals the query's "
                         f"within {params['tolerance']} on every one of the 52 channels; ties "
                         "with wrong items count half; text→expression ranks the distinct "
                         "expressions of the test split, expression→text ranks all its texts"),
        "gallery_size": len(test_rows),
        "distinct_expressions_in_gallery": distinct_expressions(te.expr, params["tolerance"]),
        "data": stats,
        "encoder": {"kind": enc["kind"], "precision": enc.get("precision", "fp32"),
                    "key": encoder.key, "dim": encoder.dim},
        "loss": train_cfg.loss,
        "epochs_run": len(history),
        "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0]),
        "train_seconds": round(train_seconds, 3),
        "epochs_budget": epoch_budget(train_cfg.epochs, train_cfg.max_samples, len(tr.expr)),
        "patience": effective_patience(train_cfg, len(tr.expr)),
        # the validation rows scored per epoch (train.val_subsample), then the whole split once
        "val_rows_per_epoch": min(len(pairs["val"].expr), train_cfg.val_subsample or len(pairs["val"].expr)),
        "val_loss": evaluate_loss(model, pairs["val"], train_cfg),
        "model": evaluate(model),
        "baselines": expression_baselines(te.expr, list(test_rows["emotion"]), tr.expr,
                                          list(train_rows["emotion"]), params["tolerance"]),
    }
    if params["baselines"]["reference_loss"]:
        other = "positive_cosine" if train_cfg.loss == "infonce" else "infonce"
        ref_model, ref_history = _fit(pairs, model_cfg, replace(train_cfg, loss=other))
        metrics["baselines"][f"loss_{other}"] = {**evaluate(ref_model), "epochs_run": len(ref_history)}

    model_dir = Path(model_dir)
    save_model(model, model_dir, extra={
        "encoder": {k: enc.get(k) for k in ("kind", "model", "pretrained")}
        | {"precision": enc.get("precision", "fp32"), "key": encoder.key},
        "train": asdict(train_cfg), "views": params["views"], "eval_view": params["eval_view"],
        "augment": params["augment"], "blendshapes": list(ARKIT_NAMES)})
    with atomic_path(model_dir / "history.csv") as tmp:
        history.to_csv(tmp, index=False)
    write_latents(model, test_rows, te_text, te.expr, latents_path)
    write_json(metrics, metrics_path)
    return metrics
