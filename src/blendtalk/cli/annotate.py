"""`blendtalk annotate "sentence"`: the validated annotation of one sentence, as JSON."""

from __future__ import annotations

import argparse
import json

from blendtalk.emotions import EMOTIONS


def register(subparsers) -> None:
    p = subparsers.add_parser("annotate", help="FACS annotation of one sentence (JSON)")
    p.add_argument("sentence")
    p.add_argument("--emotion", action="append", choices=EMOTIONS, default=[],
                   help="corpus-style emotion label (repeatable); a hint for the backend")
    p.add_argument("--intensity", type=float, default=None, help="label intensity in [0, 1]")
    p.add_argument("--backend", choices=["rules", "transformers", "vllm"], default=None,
                   help="override annotate.backend of the config")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendtalk.annotate.backends import Row, make_backend
    from blendtalk.annotate.validate import parse_answer
    from blendtalk.config import load_config
    from blendtalk.ids import text_id

    cfg = load_config(args.config, missing_ok=True)["annotate"]
    if args.backend:
        cfg["backend"] = args.backend
    backend = make_backend(cfg)
    row = Row(text_id(args.sentence), args.sentence, tuple(args.emotion), args.intensity)
    seed = int(cfg["sampling"]["seed"])
    for attempt in range(int(cfg["max_retries"]) + 1):
        answer = backend.annotate([row], seed + attempt)[0]
        ann = parse_answer(answer.raw)
        if ann.status != "invalid":
            break
    print(json.dumps({**ann.to_json(), "status": ann.status, "problems": ann.problems,
                      "backend": backend.name, "model": backend.model, "attempts": attempt + 1,
                      **({"raw": answer.raw} if ann.status == "invalid" else {})},
                     indent=2, ensure_ascii=False))
    return 0 if ann.status != "invalid" else 1
