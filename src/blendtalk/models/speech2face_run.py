"""The speech2face stage: train the model on the speech corpus, then score it on the test
utterances against the baselines, all in one run (rules speech2face_train, speech2face_evaluate).

Baselines: the procedural animator (the training target on synthetic data), the training mean
pose, the model with its style dropped, and the model shown shuffled styles. Scores: LVE, FDD,
MOD, MVE on the rig's vertices (rig units), blendshape MSE per region, lip-sync metrics against
the phone timings, text-control faithfulness (R@1 of the predicted face retrieving its own style
among the test styles through text2expr), style-from-voice accuracy of `--style auto`, jitter.
Curves are `(T, 52)` float32 in [0, 1] at 30 fps.
"""

from __future__ import annotations

import logging
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from blendtalk.metrics.blendshape import region_errors
from blendtalk.metrics.mesh import mesh_metrics
from blendtalk.models.speech2face import (Clip, Speech2FaceConfig, TrainConfig, load_model,
                                          save_model, style_latents_from_text2expr,
                                          text2expr_expr_encoder, train)
from blendtalk.models.speech2face_data import load_corpus
from blendtalk.seeding import rng, seed_torch
from blendtalk.speech.encoders import make_audio_encoder

log = logging.getLogger(__name__)

VARIANTS = ("procedural", "mean_pose", "model", "model_no_style", "model_shuffled_styles")


def _config(cls, values: dict[str, Any]):
    """A dataclass from the config keys it has (the rest of the section is not its business)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def encoder_of(cfg: dict[str, Any]):
    """The audio encoder the `speech2face.encoder` section names."""
    opts = {k: v for k, v in cfg.items() if k != "kind" and v is not None}
    return make_audio_encoder(cfg["kind"], **opts)


def corpus(utterances: str | os.PathLike, speech_dir: str | os.PathLike,
           text2expr_dir: str | os.PathLike, encoder_cfg: dict[str, Any],
           cache_dir: str | os.PathLike) -> tuple[dict[str, list[Clip]], dict[str, np.ndarray]]:
    """The speech corpus as clips per split, each with its style text's text2expr latent, and
    those latents (style text → (latent,))."""
    table = pd.read_parquet(utterances)
    latents = style_latents_from_text2expr(text2expr_dir, table["style"].tolist())
    speech_dir = Path(speech_dir)
    clips = load_corpus(table, speech_dir / "audio", speech_dir / "animation", encoder_of(encoder_cfg),
                        latents, cache_dir)
    return clips, latents


def captured_clips(fmt: str, root: str | os.PathLike, encoder_cfg: dict[str, Any],
                   splits: dict[str, float], cache_dir: str | os.PathLike) -> dict[str, list[Clip]]:
    """Captured takes (`speech.captured.discover`: BEAT, 3D-ETF or Live Link Face) as clips
    without a style, split by a hash of the take name (as text_id splits sentences). The
    animation is trimmed or held to ceil(30 × audio duration) frames."""
    from blendtalk.ids import split_of, text_id
    from blendtalk.models.speech2face_data import cached_features
    from blendtalk.speech.audio import SAMPLE_RATE, load_audio, n_frames
    from blendtalk.speech.captured import discover

    encoder = encoder_of(encoder_cfg)
    takes = discover(root, fmt)
    if not takes:
        raise ValueError(f"speech2face.data.root {root}: no {fmt} takes with audio found")
    names = [t.name for t in takes]
    split = split_of([text_id(n) for n in names], splits)
    out: dict[str, list[Clip]] = {"train": [], "val": [], "test": []}
    for take, part in zip(takes, split):
        frames = n_frames(load_audio(take.audio_path).shape[0] / SAMPLE_RATE)
        target = take.weights[np.minimum(np.arange(frames), len(take.weights) - 1)]
        feats = cached_features(encoder, text_id(str(take.path)), take.audio_path, frames, cache_dir)
        out[part].append(Clip(feats, target, None, take.name, {"split": part, "audio": str(take.audio_path)}))
    return out


def training_clips(settings: dict[str, Any], utterances: str | os.PathLike,
                   speech_dir: str | os.PathLike, text2expr_dir: str | os.PathLike,
                   cache_dir: str | os.PathLike
                   ) -> tuple[dict[str, list[Clip]], dict[str, np.ndarray] | None]:
    """The clips `speech2face.data` names and their style latents: the speech corpus (with
    styles) or a captured dataset (no styles: None)."""
    data = settings["data"]
    if data["source"] == "speech":
        return corpus(utterances, speech_dir, text2expr_dir, settings["encoder"], cache_dir)
    return captured_clips(data["source"], data["root"], settings["encoder"], data["splits"],
                          cache_dir), None


def train_on_corpus(utterances: str | os.PathLike, speech_dir: str | os.PathLike,
                    text2expr_dir: str | os.PathLike, settings: dict[str, Any], seed: int,
                    out_dir: str | os.PathLike, cache_dir: str | os.PathLike) -> pd.DataFrame:
    """Train on the train split (early stopping on val), save the model; returns the history."""
    seed_torch(seed)
    clips, _ = training_clips(settings, utterances, speech_dir, text2expr_dir, cache_dir)
    if not clips["train"]:
        raise ValueError(f"{utterances}: no train-split utterances to learn from")
    style = clips["train"][0].style
    model_cfg = _config(Speech2FaceConfig, {"in_dim": clips["train"][0].features.shape[1],
                                            **({"style_dim": len(style)} if style is not None else {}),
                                            **settings["model"]})
    train_cfg = _config(TrainConfig, {**settings["train"], "seed": seed})
    styled = style is not None
    model, history = train(clips["train"], clips["val"], model_cfg, train_cfg,
                           expr_encoder=text2expr_expr_encoder(text2expr_dir) if styled else None)
    save_model(model, out_dir, history, extra={"encoder": settings["encoder"],
                                               "data": settings["data"],
                                               "text2expr": str(text2expr_dir)})
    return history


def _retrieval_at_1(faces: np.ndarray, styles: list[str], latents: dict[str, np.ndarray],
                    encode_expr) -> float:
    """Share of utterances whose mean predicted face `(N, 52)` lies nearest (cosine, in
    text2expr's joint space) to its own style among the distinct test styles."""
    gallery = sorted(set(styles))
    text = np.stack([latents[s] for s in gallery])
    with torch.no_grad():
        z = encode_expr(torch.from_numpy(faces.astype(np.float32))).numpy()
    best = np.argmax(z @ text.T, axis=1)
    return float(np.mean([gallery[b] == s for b, s in zip(best, styles)]))


def _variant_curves(model, clips: list[Clip], train_mean: np.ndarray, seed: int,
                    procedural: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Every variant's curves for every clip (same order); styled variants only when the clips
    carry styles."""
    curves = {"procedural": procedural,
              "mean_pose": [np.repeat(train_mean[None], len(c.target), axis=0) for c in clips],
              "model": [model.predict_long(c.features, c.style) for c in clips]}
    if all(c.style is not None for c in clips):
        order = rng(seed, "speech2face.shuffle").permutation(len(clips))
        curves["model_no_style"] = [model.predict_long(c.features, None) for c in clips]
        curves["model_shuffled_styles"] = [model.predict_long(c.features, clips[k].style)
                                           for c, k in zip(clips, order)]
    return curves


def score_variants(curves: dict[str, list[np.ndarray]], clips: list[Clip],
                   alignments: list[pd.DataFrame], audios: list[np.ndarray], rig) -> dict[str, Any]:
    """Per variant: mesh metrics (rig units) and lip-sync scores averaged over the clips
    (NaN-aware), and blendshape MSE per region over all frames; the clips' targets are the
    reference."""
    from blendtalk.speech.stage import closed_threshold, lipsync_scores

    closed = closed_threshold(rig)
    targets = [c.target for c in clips]
    report: dict[str, Any] = {}
    for variant, preds in curves.items():
        per_clip = [{**mesh_metrics(rig, pred, target),
                     **lipsync_scores(alignment, pred, audio, rig.mouth_opening(rig.pose(pred)), closed)}
                    for pred, target, alignment, audio in zip(preds, targets, alignments, audios)]
        regions = region_errors(np.concatenate(preds), np.concatenate(targets))
        report[variant] = {**{k: float(np.nanmean([s[k] for s in per_clip])) for k in per_clip[0]},
                           "region_mse": {r: v["mse"] for r, v in regions.items()}}
    return report


def evaluate_on_corpus(model_dir: str | os.PathLike, utterances: str | os.PathLike,
                       speech_dir: str | os.PathLike, text2expr_dir: str | os.PathLike,
                       rig, cache_dir: str | os.PathLike, seed: int
                       ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Scores of every variant on the test split, and the model's curves per clip id. On the
    speech corpus the procedural animation is the target; on captured data (`data.source` in
    the model's config) it is a baseline over phone-loop alignments, and there are no styles."""
    from blendtalk.speech.align import align
    from blendtalk.speech.stage import animate_speech, read_wav

    model, config = load_model(model_dir)
    clips, latents = training_clips(config, utterances, speech_dir, text2expr_dir, cache_dir)
    test = clips["test"]
    if not test:
        raise ValueError("no test-split clips to score")
    train_mean = np.concatenate([c.target for c in clips["train"]]).mean(axis=0)
    speech_dir = Path(speech_dir)
    if config["data"]["source"] == "speech":
        audios = [read_wav(speech_dir / "audio" / f"{c.utt_id}.wav") for c in test]
        alignments = [pd.read_parquet(speech_dir / "alignments" / f"{c.utt_id}.parquet") for c in test]
        procedural = [c.target for c in test]
    else:
        audios = [read_wav(c.meta["audio"]) for c in test]
        alignments = [align(a) for a in audios]
        procedural = [animate_speech(a, al, None, 1.0, False, seed)[:len(c.target)]
                      for a, al, c in zip(audios, alignments, test)]
    curves = _variant_curves(model, test, train_mean, seed, procedural)
    report = score_variants(curves, test, alignments, audios, rig)
    if latents is not None:
        for key, value in style_scores(model, curves, clips, latents, text2expr_dir).items():
            report[key] = {**report[key], **value} if key in curves else value
    report.update({"test_clips": len(test), "data": config["data"]["source"], "rig": rig.name})
    return report, {c.utt_id: p for c, p in zip(test, curves["model"])}


def style_scores(model, curves: dict[str, list[np.ndarray]], clips: dict[str, list[Clip]],
                 latents: dict[str, np.ndarray], text2expr_dir: str | os.PathLike) -> dict[str, Any]:
    """Text-control faithfulness R@1 per variant (added to each variant's scores) and the
    style-from-voice accuracy of `--style auto` on the test clips."""
    test = clips["test"]
    encode_expr = text2expr_expr_encoder(text2expr_dir)
    styles = [c.meta["style"] for c in test]
    out: dict[str, Any] = {v: {"faithfulness_R@1": _retrieval_at_1(
        np.stack([p.mean(axis=0) for p in preds]), styles, latents, encode_expr)}
        for v, preds in curves.items()}
    gallery = sorted(latents)
    inferred = np.stack([model.infer_style(c.features) for c in test])
    nearest = [gallery[i] for i in np.argmax(inferred @ np.stack([latents[g] for g in gallery]).T, axis=1)]
    emotion_of = {c.meta["style"]: c.meta["emotion"] for split in clips.values() for c in split}
    out["style_from_voice"] = {
        "style_accuracy": float(np.mean([n == s for n, s in zip(nearest, styles)])),
        "emotion_accuracy": float(np.mean([emotion_of.get(n) == c.meta["emotion"]
                                           for n, c in zip(nearest, test)])),
        "chance_style": 1.0 / len(gallery), "styles": len(gallery)}
    out["faithfulness_chance"] = 1.0 / len(set(styles))
    return out


def animate_with_model(model_dir: str | os.PathLike, audio: np.ndarray, style: str | None,
                       text2expr_dir: str | os.PathLike) -> np.ndarray:
    """Curves `(ceil(30 × duration), 52)` of 16 kHz audio by the trained model: `style` a style
    text (its text2expr latent steers the face), "auto" (the style heard in the voice) or None.
    Long audio streams in overlapping windows (`predict_long`)."""
    from blendtalk.speech.audio import SAMPLE_RATE, n_frames

    model, config = load_model(model_dir)
    features = encoder_of(config["encoder"]).encode(audio, n_frames(audio.shape[0] / SAMPLE_RATE))
    if style not in (None, "auto"):
        style = style_latents_from_text2expr(text2expr_dir, [style])[style]
    return model.predict_long(features, style)
