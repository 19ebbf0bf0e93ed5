"""`blendtalk expr`: FACS action units → the ARKit-52 vector (and a Live Link Face CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from blendtalk.cli._pose import add_pose_arguments, emit_pose


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "expr", help="FACS action units to the 52 ARKit blendshape weights",
        description="Print the ARKit-52 weights for action units such as \"6C 12D\" (AU number and "
                    "intensity letter A-E; a missing letter means C), using the config's mapping "
                    "and intensity scale; -o also writes them as a Live Link Face CSV.")
    p.add_argument("--aus", required=True, help='action units, e.g. "6C 12D 25B"')
    add_pose_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendtalk.blendshapes.mapping import expression, load_mapping, parse_aus
    from blendtalk.config import REPO_ROOT, load_config

    settings = load_config(args.config, missing_ok=True)["blendshapes"]
    mapping_path = Path(settings["mapping"])
    if not mapping_path.is_absolute() and not mapping_path.exists():
        mapping_path = REPO_ROOT / mapping_path
    mapping = load_mapping(mapping_path)
    scale = settings["intensity_scale"]
    try:
        weights = expression(parse_aus(args.aus), mapping, scale)
    except (KeyError, ValueError) as exc:
        raise SystemExit(f"blendtalk expr: {exc.args[0]}") from None
    emit_pose(weights, args)
    return 0
