"""FACS action units to the 52 ARKit blendshape weights.

Print the ARKit-52 weights for action units such as "6C 12D" (AU number and intensity letter
A-E; a missing letter means C), using the config's mapping and intensity scale; -o also writes
them as a Live Link Face CSV.
"""

from __future__ import annotations

import argparse

from blendtalk.cli._args import add_command
from blendtalk.cli._pose import add_pose_arguments, emit_pose


def action_units(text: str) -> dict[int, str]:
    """An argparse type: `"6C 12D"` → `{6: "C", 12: "D"}`; refuses bad tokens and an empty list."""
    from blendtalk.blendshapes.mapping import parse_aus

    try:
        aus = parse_aus(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not aus:
        raise argparse.ArgumentTypeError('no action units given; expected e.g. "6C 12D"')
    return aus


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "expr", __doc__, run)
    p.add_argument("--aus", type=action_units, required=True, help='action units, e.g. "6C 12D 25B"')
    add_pose_arguments(p)


def run(args: argparse.Namespace) -> int:
    from blendtalk.blendshapes.mapping import expression, load_mapping
    from blendtalk.config import load_config
    from blendtalk.paths import resource

    settings = load_config(args.config)["blendshapes"]
    mapping = load_mapping(resource(settings["mapping"]))
    emit_pose(expression(args.aus, mapping, settings["intensity_scale"]), args)
    return 0
