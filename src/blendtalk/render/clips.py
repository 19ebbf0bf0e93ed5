"""Render a `(T, 52)` blendshape sequence (30 fps) on a rig straight into an mp4: frames stream
from the renderer through the optional caption and side-by-side composition into ffmpeg, so
memory stays at one frame whatever the length."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blendtalk.arkit import check_weights
from blendtalk.progress import Progress
from blendtalk.render.renderer import Renderer, RenderSettings
from blendtalk.render.rig import Rig
from blendtalk.render.video import (FPS, VideoWriter, blend, caption_lines, caption_overlay, caption_size,
                                   side_by_side)


def render_video(path: str | os.PathLike, rig: Rig, weights: np.ndarray, settings: RenderSettings | None = None,
                 audio: str | os.PathLike | None = None, caption: str | None = None,
                 emotions: Sequence[str] = (), compare: np.ndarray | None = None,
                 labels: tuple[str, str] = ("ground truth", "prediction"), fps: int = FPS,
                 crf: int = 20) -> int:
    """Write `weights` `(T, 52)` rendered on `rig` to `path` (H.264 mp4, atomically); returns T.

    `audio`: a wav to mux. `caption`/`emotions`: text drawn in a band at the bottom. `compare`:
    a second `(T, 52)` sequence shown on the right, `weights` on the left, labelled `labels`
    (the frame is then twice as wide). `crf`: H.264 quality (lower is better). Progress (frames
    done of T, rate, ETA) is logged every 10 s."""
    weights = check_weights(weights, ndim=2, what="sequence")
    if compare is not None:
        compare = check_weights(compare, ndim=2, what="comparison sequence")
        if compare.shape != weights.shape:
            raise ValueError(f"comparison sequence has shape {compare.shape}, expected {weights.shape} "
                             "like the sequence")
    settings = settings or RenderSettings()
    width = settings.width * (2 if compare is not None else 1)
    size = caption_size(settings.width)
    lines = caption_lines(caption or "", emotions, width_px=width, size=size)
    overlay = caption_overlay(width, settings.height, lines, size=size) if lines else None
    with Renderer(rig, settings) as renderer, \
            VideoWriter(path, width, settings.height, fps=fps, audio=audio, crf=crf) as video, \
            Progress(len(weights), desc=f"render {Path(path).name}", unit="frames") as progress:
        frames = (renderer.frames(weights) if compare is None else
                  (side_by_side(a, b, labels, size=size) for a, b in zip(renderer.frames(weights),
                                                               renderer.frames(compare), strict=True)))
        for frame in frames:
            video.write(frame if overlay is None else blend(frame, overlay, out=frame))
            progress.update()
    return video.n_frames
