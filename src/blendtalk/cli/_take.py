"""What `blendtalk say` and `blendtalk animate` share: the style and output arguments, and
turning audio + phones + a style into a take (curves, mp4 with audio, Live Link CSV, parquet)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.cli._args import even_pixels, output_file


S2F_DIR = Path("results/models/speech2face")


def add_take_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--style", default=None,
                        help='how it is said, e.g. "furious, shouting" (steers the face; default: '
                             'none); with the model engine "auto" takes the style heard in the voice')
    parser.add_argument("-o", "--output", type=output_file,
                        help="the mp4 to write, with the audio (its directory must exist)")
    parser.add_argument("--livelink", type=output_file, help="write the take as a Live Link Face CSV")
    parser.add_argument("--parquet", type=output_file, help="write the animation table (frame + 52 ARKit)")
    parser.add_argument("--model-dir", type=Path, default=Path("results/models/text2expr"),
                        help="trained text2expr model for the style's face (default: %(default)s; "
                             "without one, the EMFACS prototype of the style's emotion)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the blinks (default 0)")
    parser.add_argument("--engine", choices=["auto", "model", "procedural"], default="auto",
                        help="model: the trained speech2face model (no alignment needed); "
                             "procedural: phones → visemes; auto (default): the model when "
                             f"{S2F_DIR} holds one, else procedural")
    parser.add_argument("--s2f-dir", type=Path, default=S2F_DIR,
                        help="trained speech2face model (default: %(default)s)")
    parser.add_argument("--resolution", type=even_pixels,
                        help="video width and height in pixels, even (default: config)")


def engine(args: argparse.Namespace) -> str:
    """The animation engine a take uses ("model" or "procedural"), checked against --style."""
    has_model = (args.s2f_dir / "model.safetensors").is_file()
    if args.engine == "model" and not has_model:
        raise FileNotFoundError(f"no trained speech2face model in {args.s2f_dir} (build it with "
                                "`snakemake --cores 2 results/models/speech2face/model.safetensors`)")
    chosen = args.engine if args.engine != "auto" else ("model" if has_model else "procedural")
    if args.style == "auto" and chosen != "model":
        raise ValueError('--style auto (the style heard in the voice) needs the model engine')
    return chosen


def make_take(args: argparse.Namespace, audio: np.ndarray, audio_path: Path,
              alignment: pd.DataFrame | None, caption: str) -> int:
    """Animate (with the engine `engine(args)` picks; the procedural one needs `alignment`)
    and write every requested output; prints where it wrote and the duration."""
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
    chosen = engine(args)
    if chosen == "model":
        from blendtalk.models.speech2face_run import animate_with_model

        weights = animate_with_model(args.s2f_dir, audio, args.style, args.model_dir)
    else:
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
    print(f"{len(weights)} frames at 30 fps ({chosen} engine), "
          f"{audio.shape[0] / SAMPLE_RATE:.2f} s of audio")
    for path in written:
        print(f"wrote {path}")
    return 0
