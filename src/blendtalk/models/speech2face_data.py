"""Training data for speech2face from the speech stage's corpus.

Inputs (docs/DESIGN.md): the utterances table (``utt_id, text_id, text, style, split,
duration_s, ...``), ``audio/{utt_id}.wav`` (16 kHz mono) and ``animation/{utt_id}.parquet``
(``frame`` + the 52 ARKit columns, float32 in [0, 1], ceil(30 × duration) frames: the procedural
animator's output, the training target). Outputs: `speech2face.Clip` objects, one per utterance:
features (T, D) float32 at 30 fps from an `AudioEncoder`, target (T, 52), style (S,) = the style
text's latent (from ``style_latents``: style text → vector; a style text missing there gives
``style=None``: the clip trains the "no style" path).

Splits are the table's ``split`` column, which the corpus stage decides by ``text_id`` hash —
never by row — so one sentence (in all its styles and voices) stays in one split.
Training draws random fixed-length windows per epoch (`speech2face.random_windows`, seeded);
evaluation uses whole utterances.

Features are cached per (encoder name, utt_id) as ``{cache_dir}/{encoder.name}/{utt_id}.npy``
(written atomically), so re-training does not re-encode; a cached array whose frame count or
dimension no longer matches is recomputed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.io import atomic_path
from blendtalk.models.speech2face import Clip
from blendtalk.progress import Progress
from blendtalk.speech.audio import SAMPLE_RATE, load_audio, n_frames
from blendtalk.speech.encoders import AudioEncoder

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def cached_features(encoder: AudioEncoder, utt_id: str, audio_path: str | os.PathLike,
                    frames: int, cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """(frames, encoder.dim) float32 features of one utterance, from
    ``{cache_dir}/{encoder.name}/{utt_id}.npy`` when present and of that shape, else encoded from
    the wav (and cached when ``cache_dir`` is given)."""
    path = None if cache_dir is None else Path(cache_dir) / encoder.name / f"{utt_id}.npy"
    if path is not None and path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (frames, encoder.dim):
                return cached.astype(np.float32, copy=False)
        except (OSError, ValueError):
            pass  # unreadable: re-encode and overwrite
    audio = load_audio(audio_path, SAMPLE_RATE, allow_silent=True)
    feats = np.ascontiguousarray(encoder.encode(audio, frames), dtype=np.float32)
    if path is not None:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, feats, allow_pickle=False)
    return feats


def read_target(path: str | os.PathLike, frames: int | None = None) -> np.ndarray:
    """(T, 52) float32 curves of an animation parquet, columns by name in canonical order;
    ValueError naming the file when columns are missing or ``frames`` differs."""
    table = pd.read_parquet(path)
    missing = [n for n in ARKIT_NAMES if n not in table.columns]
    if missing:
        raise ValueError(f"{path}: animation lacks ARKit columns {missing[:3]}…")
    if "frame" in table.columns:
        table = table.sort_values("frame")
    target = table[list(ARKIT_NAMES)].to_numpy(np.float32)
    if frames is not None and len(target) != frames:
        raise ValueError(f"{path}: {len(target)} frames, expected ceil(30 × duration) = {frames}")
    return np.clip(target, 0.0, 1.0)


def load_corpus(utterances_table: pd.DataFrame | str | os.PathLike,
                audio_dir: str | os.PathLike, animation_dir: str | os.PathLike,
                encoder: AudioEncoder, style_latents: Mapping[str, np.ndarray],
                cache_dir: str | os.PathLike | None = None) -> dict[str, list[Clip]]:
    """Every utterance as a `Clip` (features, target, style, utt_id; ``meta``: text_id, style,
    emotion, voice, split, duration_s), grouped by the table's ``split`` → ``{"train": [...],
    "val": [...], "test": [...]}`` (always those three keys, in table order). Target and feature
    frame counts are ceil(30 × duration_s)."""
    table = (utterances_table if isinstance(utterances_table, pd.DataFrame)
             else pd.read_parquet(utterances_table))
    for col in ("utt_id", "split", "duration_s"):
        if col not in table.columns:
            raise ValueError(f"utterances table lacks column {col!r}")
    audio_dir, animation_dir = Path(audio_dir), Path(animation_dir)
    out: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    with Progress(len(table), f"speech2face features ({encoder.name})", unit="utterances",
                  logger=log) as progress:
        for row in table.itertuples(index=False):
            utt = str(row.utt_id)
            frames = n_frames(float(row.duration_s))
            target = read_target(animation_dir / f"{utt}.parquet", frames)
            feats = cached_features(encoder, utt, audio_dir / f"{utt}.wav", frames, cache_dir)
            style_text = getattr(row, "style", None)
            style = style_latents.get(style_text) if style_text is not None else None
            style = None if style is None else np.asarray(style, np.float32)
            meta = {k: getattr(row, k) for k in ("text_id", "style", "emotion", "voice", "split",
                                                 "duration_s") if hasattr(row, k)}
            split = str(row.split)
            out.setdefault(split, []).append(Clip(feats, target, style, utt, meta))
            progress.update()
    return out
