"""Animate a recording: a wav (or any audio file) to a talking face.

Read the audio (any rate, stereo or mono; resampled to 16 kHz mono) and animate it: with the
trained speech2face model (--engine model, the default once the workflow has trained one;
--style auto takes the style heard in the voice), or procedurally: phones aligned with
pocketsphinx (forced alignment with --text, phone-loop decoding without) through visemes, with
the style's face (--style). Writes an mp4 with the audio (-o), a Live Link Face CSV
(--livelink) and the animation parquet (--parquet).
"""

from __future__ import annotations

import argparse

from blendtalk.cli._args import add_command, existing_file
from blendtalk.cli._take import add_take_arguments, make_take


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "animate", __doc__, run)
    p.add_argument("audio", type=existing_file, help="the recording (wav, flac, ogg, ...)")
    p.add_argument("--text", default=None, help="its transcript (better timings; default: none)")
    add_take_arguments(p)


def run(args: argparse.Namespace) -> int:
    from blendtalk.cli._take import engine
    from blendtalk.speech.align import align
    from blendtalk.speech.audio import load_audio

    audio = load_audio(args.audio)
    alignment = align(audio, args.text) if engine(args) == "procedural" else None
    caption = " ".join(filter(None, [args.text, f"[{args.style}]" if args.style else None]))
    return make_take(args, audio, args.audio, alignment, caption)
