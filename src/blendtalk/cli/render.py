"""Render a blendshape sequence to an mp4.

Render a (T, 52) ARKit sequence (Live Link Face .csv, .parquet with ARKit-named columns, or
.npy) on a rig as an H.264 mp4 at the config's resolution and fps. A single-frame sequence is
shown as neutral → expression → neutral.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from blendtalk.cli._args import add_command, even_pixels, existing_file, existing_path, output_file


def rig_source(text: str) -> str | Path:
    """An argparse type: "reference" or the path of an existing rig."""
    return text if text == "reference" else existing_path(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "render", __doc__, run)
    p.add_argument("sequence", type=existing_file, help="the sequence file")
    p.add_argument("-o", "--output", type=output_file, required=True,
                   help="the mp4 to write (its directory must exist)")
    p.add_argument("--rig", type=rig_source, default=None,
                   help='"reference" (the procedural head), a rig .npz or a folder of OBJ targets '
                        "(default: the config's render.rig)")
    p.add_argument("--wav", type=existing_file, help="audio to mux into the video")
    p.add_argument("--caption", help="text drawn at the bottom of the video")
    p.add_argument("--emotions", nargs="*", default=(), help="emotion labels shown under the caption")
    p.add_argument("--compare", type=existing_file,
                   help="a second sequence of the same length: SEQUENCE left (ground truth), this right")
    p.add_argument("--labels", nargs=2, default=("ground truth", "prediction"), metavar=("LEFT", "RIGHT"),
                   help="labels of the side-by-side halves")
    p.add_argument("--resolution", type=even_pixels,
                   help="frame width and height in pixels, even (default: config)")


def clip(path: Path, cfg: dict[str, Any]) -> np.ndarray:
    """The `(T, 52)` sequence in `path`; one frame becomes the config's expression clip."""
    from blendtalk.render.sequences import expression_envelope, load_sequence

    weights = load_sequence(path)
    if len(weights) == 1:
        weights = expression_envelope(weights[0], duration_s=cfg["duration_s"], fps=cfg["fps"])
    return weights


def load_any_rig(source: str | Path):
    """The procedural reference head for "reference", else the rig at `source` (see
    `load_external_rig`)."""
    if source == "reference":
        from blendtalk.render.reference_head import build_reference_head

        return build_reference_head()
    from blendtalk.render.external import load_external_rig

    return load_external_rig(source)[0]


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from blendtalk.config import load_config
    from blendtalk.render.clips import render_video
    from blendtalk.render.settings import render_settings

    cfg = load_config(args.config)["render"]
    settings = render_settings(cfg)
    if args.resolution:
        settings = replace(settings, width=args.resolution, height=args.resolution)
    weights = clip(args.sequence, cfg)  # the cheap checks first
    compare = clip(args.compare, cfg) if args.compare else None
    n = render_video(args.output, load_any_rig(args.rig or cfg["rig"]), weights, settings, audio=args.wav,
                     caption=args.caption, emotions=args.emotions, compare=compare,
                     labels=tuple(args.labels), fps=cfg["fps"], crf=cfg["crf"])
    print(f"{args.output}: {n} frames, {n / cfg['fps']:.2f} s")
    return 0
