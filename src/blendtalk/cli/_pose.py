"""Output shared by the commands that produce one expression: print it, optionally hold it for
some frames in a Live Link Face CSV."""

from __future__ import annotations

import argparse

import numpy as np

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.cli._args import output_file, positive_float, positive_int


def add_pose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=output_file,
                        help="write a Live Link Face CSV here (its directory must exist)")
    parser.add_argument("--frames", type=positive_int, default=1,
                        help="frames in the CSV, the pose held (default 1)")
    parser.add_argument("--fps", type=positive_float, default=30.0, help="CSV frame rate (default 30)")
    parser.add_argument("--all", action="store_true", help="print all 52 channels, not only non-zero ones")


def emit_pose(weights: np.ndarray, args: argparse.Namespace) -> None:
    """Print `weights` ((52,) in [0, 1], ARKit order) one channel a line, and write the CSV."""
    from blendtalk.livelink import write_livelink_csv

    for name, value in zip(ARKIT_NAMES, weights):
        if args.all or value > 0:
            print(f"{name}\t{value:.4f}")
    if args.output:
        write_livelink_csv(args.output, np.repeat(weights[None, :], args.frames, axis=0), fps=args.fps)
        print(f"wrote {args.output} ({args.frames} frame(s) at {args.fps:g} fps)")
