"""Speak a line in a style and animate it (text to speech to a talking face).

Synthesise the text with a voice (espeak-ng or the Piper neural voice), in the prosody of the
style (resources/speech/styles.csv: the row with that text, else the emotion its words name),
then animate the synthesiser's exact phone timings with the style's face. Writes an mp4 with the
audio (-o), a Live Link Face CSV (--livelink), the animation parquet (--parquet) and the wav (--wav).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from blendtalk.cli._args import add_command, output_file
from blendtalk.cli._take import add_take_arguments, make_take


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "say", __doc__, run)
    p.add_argument("text", help='the line to say, e.g. "I told you not to touch that"')
    p.add_argument("--voice", default="espeak:en-us",
                   help="backend:variant, e.g. espeak:en-gb+m3 or piper:joe (default: %(default)s)")
    p.add_argument("--wav", type=output_file, help="also keep the synthesised audio as a wav")
    add_take_arguments(p)


def run(args: argparse.Namespace) -> int:
    from blendtalk.config import load_config
    from blendtalk.paths import resource
    from blendtalk.speech.audio import write_wav
    from blendtalk.speech.stage import style_row, synthesize
    from blendtalk.speech.styles import load_styles

    if not args.text.strip():
        raise ValueError("nothing to say: the text is empty")
    styles = load_styles(resource(load_config(args.config)["speech"]["styles_file"]))
    spoken = synthesize(args.text, args.voice, style_row(args.style, styles))
    with tempfile.TemporaryDirectory() as tmp:
        wav = args.wav or Path(tmp) / "take.wav"
        write_wav(wav, spoken.audio)
        caption = args.text + (f"  [{args.style}]" if args.style else "")
        status = make_take(args, spoken.audio, Path(wav), spoken.phones, caption)
    if args.wav:
        print(f"wrote {args.wav}")
    return status
