"""FACS annotation of one sentence (JSON).

Print the validated annotation of one sentence (emotions, action units with intensities A-E, a
description of the face) made by the config's annotate backend, with the same validation,
repair and retries as the workflow's annotate stage. Exit status 1 when every attempt was
invalid (the raw answer is then printed too).
"""

from __future__ import annotations

import argparse
import json

from blendtalk.cli._args import add_command, unit_interval
from blendtalk.emotions import EMOTIONS


def sentence(text: str) -> str:
    """An argparse type: UTF-8 text with something other than whitespace in it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the sentence is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes on the command line arrive as surrogates
        raise argparse.ArgumentTypeError("the sentence is not valid UTF-8 text") from None
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "annotate", __doc__, run)
    p.add_argument("sentence", type=sentence)
    p.add_argument("--emotion", action="append", choices=EMOTIONS, default=[],
                   help="corpus-style emotion label (repeatable); a hint for the backend")
    p.add_argument("--intensity", type=unit_interval, default=None,
                   help="label intensity in [0, 1]")
    p.add_argument("--backend", choices=["rules", "transformers", "vllm"], default=None,
                   help="override annotate.backend of the config")


def run(args: argparse.Namespace) -> int:
    from blendtalk.annotate.backends import Row, make_backend
    from blendtalk.annotate.run import annotate_rows
    from blendtalk.config import load_config
    from blendtalk.ids import text_id

    cfg = load_config(args.config, missing_ok=True)["annotate"]
    if args.backend:
        cfg["backend"] = args.backend
    backend = make_backend(cfg)
    row = Row(text_id(args.sentence), args.sentence, tuple(args.emotion), args.intensity)
    (result,) = annotate_rows([row], backend, cfg, desc="annotate")
    ann = result.annotation
    invalid = ann.status == "invalid"
    print(json.dumps({**ann.to_json(), "status": ann.status, "problems": ann.problems,
                      "backend": backend.name, "model": backend.model,
                      "attempts": len(result.attempts),
                      **({"raw": result.attempts[-1]["raw"]} if invalid else {})},
                     indent=2, ensure_ascii=False))
    return 1 if invalid else 0
