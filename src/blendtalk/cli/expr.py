"""`blendtalk expr`: FACS action units → the ARKit-52 vector (and a Live Link Face CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from blendtalk.arkit import ARKIT_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "expr", help="FACS action units to the 52 ARKit blendshape weights",
        description="Print the ARKit-52 weights for action units such as \"6C 12D\" (AU number and "
                    "intensity letter A-E; a missing letter means C), using the config's mapping "
                    "and intensity scale; -o also writes them as a Live Link Face CSV.")
    p.add_argument("--aus", required=True, help='action units, e.g. "6C 12D 25B"')
    p.add_argument("-o", "--output", type=Path, help="write a Live Link Face CSV here")
    p.add_argument("--frames", type=int, default=1, help="frames in the CSV, the pose held (default 1)")
    p.add_argument("--fps", type=float, default=30.0, help="CSV frame rate (default 30)")
    p.add_argument("--all", action="store_true", help="print all 52 channels, not only non-zero ones")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from blendtalk.blendshapes.mapping import (DEFAULT_INTENSITY_SCALE, MAPPING_CSV, expression,
                                               load_mapping, parse_aus)
    from blendtalk.config import REPO_ROOT, load_config
    from blendtalk.livelink import write_livelink_csv

    settings = load_config(args.config)["blendshapes"] if Path(args.config).exists() else {}
    mapping_path = Path(settings.get("mapping", MAPPING_CSV))
    if not mapping_path.is_absolute() and not mapping_path.exists():
        mapping_path = REPO_ROOT / mapping_path
    mapping = load_mapping(mapping_path)
    scale = settings.get("intensity_scale", DEFAULT_INTENSITY_SCALE)
    try:
        weights = expression(parse_aus(args.aus), mapping, scale)
    except (KeyError, ValueError) as exc:
        raise SystemExit(f"blendtalk expr: {exc.args[0]}") from None
    for name, value in zip(ARKIT_NAMES, weights):
        if args.all or value > 0:
            print(f"{name}\t{value:.4f}")
    if args.output:
        if args.frames < 1:
            raise SystemExit("blendtalk expr: --frames must be at least 1")
        write_livelink_csv(args.output, np.repeat(weights[None, :], args.frames, axis=0), fps=args.fps)
        print(f"wrote {args.output} ({args.frames} frame(s) at {args.fps:g} fps)")
    return 0
