"""`blendtalk render`: a blendshape sequence (CSV / Parquet / NumPy) → an mp4 of the rig."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="render a blendshape sequence to an mp4",
        description="Render a (T, 52) ARKit sequence (Live Link Face .csv, .parquet with ARKit-named "
                    "columns, or .npy) on a rig as an H.264 mp4 at the config's resolution and fps. "
                    "A single-frame sequence is shown as neutral → expression → neutral.")
    p.add_argument("sequence", type=Path, help="the sequence file")
    p.add_argument("-o", "--output", type=Path, required=True, help="the mp4 to write")
    p.add_argument("--rig", default=None,
                   help='"reference" (the procedural head) or a rig .npz (default: the config\'s render.rig)')
    p.add_argument("--wav", type=Path, help="audio to mux into the video")
    p.add_argument("--caption", help="text drawn at the bottom of the video")
    p.add_argument("--emotions", nargs="*", default=(), help="emotion labels shown under the caption")
    p.add_argument("--compare", type=Path,
                   help="a second sequence of the same length: SEQUENCE left (ground truth), this right")
    p.add_argument("--labels", nargs=2, default=("ground truth", "prediction"), metavar=("LEFT", "RIGHT"),
                   help="labels of the side-by-side halves")
    p.add_argument("--resolution", type=int, help="frame width and height in pixels (default: config)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from blendtalk.config import load_config
    from blendtalk.render.clips import render_video
    from blendtalk.render.rig import load_rig
    from blendtalk.render.sequences import expression_envelope, load_sequence
    from blendtalk.render.settings import render_settings

    cfg = load_config(args.config, missing_ok=True)["render"]
    settings = render_settings(cfg)
    if args.resolution:
        settings = replace(settings, width=args.resolution, height=args.resolution)
    rig_name = args.rig or cfg["rig"]
    if rig_name == "reference":
        from blendtalk.render.reference_head import build_reference_head

        rig = build_reference_head()
    else:
        rig = load_rig(rig_name)

    def sequence(path: Path):
        weights = load_sequence(path)
        if len(weights) == 1:
            weights = expression_envelope(weights[0], duration_s=cfg["duration_s"], fps=cfg["fps"])
        return weights

    weights = sequence(args.sequence)
    compare = sequence(args.compare) if args.compare else None
    n = render_video(args.output, rig, weights, settings, audio=args.wav, caption=args.caption,
                     emotions=args.emotions, compare=compare, labels=tuple(args.labels), fps=cfg["fps"],
                     crf=cfg["crf"])
    print(f"{args.output}: {n} frames, {n / cfg['fps']:.2f} s")
    return 0
