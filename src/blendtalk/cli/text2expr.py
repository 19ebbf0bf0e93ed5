"""Text to the 52 ARKit blendshape weights with the trained model.

Embed the text with the model's frozen encoder, project it into the joint latent space and
decode the 52 ARKit weights (printed in canonical order); -o also writes them as a Live Link Face
CSV. Weights load from safetensors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blendtalk.cli._args import add_command
from blendtalk.cli._pose import add_pose_arguments, emit_pose


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "text2expr", __doc__, run)
    p.add_argument("text", help="the sentence, e.g. \"she smirks, unimpressed\"")
    p.add_argument("--model-dir", type=Path, default=Path("results/models/text2expr"),
                   help="trained model directory (default: %(default)s)")
    add_pose_arguments(p)


def run(args: argparse.Namespace) -> int:
    from blendtalk.models.text2expr import predict_texts

    emit_pose(predict_texts(args.model_dir, [args.text])[0], args)
    return 0
