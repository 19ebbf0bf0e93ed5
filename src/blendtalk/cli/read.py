"""Read ARKit curves back from a video of the rig with the trained face reader.

Decode every frame of the video (any size: frames are resized to the reader's input), read the
52 ARKit weights and their σ per frame with the face reader the workflow trained for the rig
(results/models/facereader_<rig>, or --reader), and write a Live Link Face CSV (-o, 30 fps by
default) and, with --parquet, a table of frame, the 52 weights and a `<name>_sigma` column per
channel. The reader knows the rig and the camera range it was trained on (render.camera with
facereader.dataset.camera around it); frames of another face or camera read as noise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blendtalk.cli._args import add_command, existing_file, output_file, positive_float, positive_int

DEFAULT_READER = Path("results/models/facereader_reference_head")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "read", __doc__, run)
    p.add_argument("video", type=existing_file, help="the video to read (mp4, mov, ... anything ffmpeg decodes)")
    p.add_argument("-o", "--output", type=output_file, help="Live Link Face CSV to write")
    p.add_argument("--parquet", type=output_file, help="table to write: frame, 52 weights, 52 σ columns")
    p.add_argument("--reader", type=Path, default=DEFAULT_READER,
                   help="trained face reader directory (default: %(default)s)")
    p.add_argument("--fps", type=positive_float, default=30.0, help="frame rate of the CSV (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=2, help="torch threads (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    import torch

    from blendtalk.arkit import ARKIT_NAMES
    from blendtalk.io import atomic_path
    from blendtalk.livelink import write_livelink_csv
    from blendtalk.models.facereader import load_reader
    from blendtalk.models.facereader_run import read_video

    if not (args.output or args.parquet):
        raise ValueError("nothing to write: give -o curves.csv or --parquet curves.parquet")
    if not (args.reader / "model.safetensors").is_file():
        raise FileNotFoundError(f"no trained face reader in {args.reader} (build it with `snakemake --cores 2 "
                                f"{args.reader}/model.safetensors`, or give --reader)")
    torch.set_num_threads(args.threads)
    model, info = load_reader(args.reader)
    mean, sigma = read_video(model, args.video)
    if args.output:
        write_livelink_csv(args.output, mean, fps=args.fps)
    if args.parquet:
        table = pd.DataFrame(mean, columns=list(ARKIT_NAMES))
        table.insert(0, "frame", np.arange(len(mean), dtype=np.int32))
        table = table.join(pd.DataFrame(sigma, columns=[f"{n}_sigma" for n in ARKIT_NAMES]))
        with atomic_path(args.parquet) as tmp:
            table.to_parquet(tmp, index=False)
    print(f"read {len(mean)} frames of {args.video} with the {info.get('rig', '?')} reader; "
          f"wrote {', '.join(str(p) for p in (args.output, args.parquet) if p)}")
    return 0
