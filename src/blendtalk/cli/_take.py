"""What `blendtalk say` and `blendtalk animate` share: the style and output arguments, and
turning audio + phones + a style into a take (curves, mp4 with audio, Live Link CSV, parquet)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.cli._args import even_pixels, output_file


def add_take_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--style", default=None,
                        help='how it is said, e.g. "furious, shouting" (steers the face; default: none)')
    parser.add_argument("-o", "--output", type=output_file,
                        help="the mp4 to write, with the audio (its directory must exist)")
    parser.add_argument("--livelink", type=output_file, help="write the take as a Live Link Face CSV")
    parser.add_argument("--parquet", type=output_file, help="write the animation table (frame + 52 ARKit)")
    parser.add_argument("--model-dir", type=Path, default=Path("results/models/text2expr"),
                        help="trained text2expr model for the style's face (default: %(default)s; "
                             "without one, the EMFACS prototype of the style's emotion)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the blinks (default 0)")
    parser.add_argument("--resolution", type=even_pixels,
                        help="video width and height in pixels, even (default: config)")


def make_take(args: argparse.Namespace, audio: np.ndarray, audio_path: Path,
              alignment: pd.DataFrame, caption: str) -> int:
    """Animate and write every requested output; prints where it wrote and the duration."""
    from dataclasses import replace

    from blendtalk.blendshapes.mapping import load_mapping
    from blendtalk.cli.render import load_any_rig
    from blendtalk.config import load_config
    from blendtalk.paths import resource
    from blendtalk.render.settings import render_settings
    from blendtalk.speech.audio import SAMPLE_RATE
    from blendtalk.speech.stage import animate_speech, style_face, write_take
    from blendtalk.speech.styles import load_styles

    if not (args.output or args.livelink or args.parquet):
        raise ValueError("nothing to write: give -o take.mp4, --livelink take.csv or --parquet take.parquet")
    cfg = load_config(args.config)
    speech = cfg["speech"]
    styles = load_styles(resource(speech["styles_file"]))
    face = style_face(args.style, styles, args.model_dir,
                      load_mapping(resource(cfg["blendshapes"]["mapping"])),
                      cfg["blendshapes"]["intensity_scale"])
    weights = animate_speech(audio, alignment, face, speech["animation"]["expression_strength"],
                             speech["animation"]["blinks"], args.seed)
    settings = render_settings(cfg["render"])
    if args.resolution:
        settings = replace(settings, width=args.resolution, height=args.resolution)
    rig = load_any_rig(cfg["render"]["rig"]) if args.output else None
    written = write_take(weights, video=args.output, audio=audio_path, rig=rig, settings=settings,
                         caption=caption if cfg["render"]["caption"] else None,
                         crf=cfg["render"]["crf"], livelink=args.livelink, parquet=args.parquet)
    print(f"{len(weights)} frames at 30 fps, {audio.shape[0] / SAMPLE_RATE:.2f} s of audio")
    for path in written:
        print(f"wrote {path}")
    return 0
