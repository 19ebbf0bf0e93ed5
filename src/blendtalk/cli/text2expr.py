"""`blendtalk text2expr "text"`: the trained text → expression model on one sentence."""

from __future__ import annotations

import argparse
from pathlib import Path

from blendtalk.cli._pose import add_pose_arguments, emit_pose


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "text2expr", help="text to the 52 ARKit blendshape weights with the trained model",
        description="Embed the text with the model's frozen encoder, project it into the joint "
                    "latent space and decode the 52 ARKit weights (printed in canonical order); "
                    "-o also writes them as a Live Link Face CSV. Weights load from safetensors.")
    p.add_argument("text", help="the sentence, e.g. \"she smirks, unimpressed\"")
    p.add_argument("--model-dir", type=Path, default=Path("results/models/text2expr"),
                   help="trained model directory (default: %(default)s)")
    add_pose_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from blendtalk.models.text2expr import load_model
    from blendtalk.text import make_encoder

    if not (args.model_dir / "model.safetensors").is_file():
        raise SystemExit(f"blendtalk text2expr: no trained model in {args.model_dir} (build it with "
                         "`snakemake --cores 2 results/models/text2expr/model.safetensors`)")
    model, config = load_model(args.model_dir)
    enc = config["encoder"]
    encoder = make_encoder(enc["kind"], enc.get("model"), enc.get("pretrained"))
    weights = model.predict(torch.from_numpy(encoder.encode([args.text]))).numpy()[0]
    emit_pose(weights, args)
    return 0
