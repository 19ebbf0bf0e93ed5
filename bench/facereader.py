"""Face reader throughput on this machine: synthetic dataset renders/s (augmented sequences of
the reference head, composited over random backgrounds), training images/s (forward, backward
and AdamW step of the Gaussian-NLL reader, resizing included) and inference frames/s, at each
input size given. Baseline measured in the same run: real time (30 frames/s) for inference.

    .venv/bin/python bench/facereader.py [--sizes 64 128] [--frames 540] [--threads 2]

Rendering runs in a child process: triton (loaded by torch's optimisers) segfaults once Mesa's
llvmpipe is loaded in the same process. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch
from timing import best_of

from blendtalk.models.facereader import FaceReader, ReaderConfig, predict, reader_loss, to_input
from blendtalk.render.synthetic import load_dataset

REAL_TIME_FPS = 30.0

RENDER = """
import sys, time
from blendtalk.render.reference_head import build_reference_head
from blendtalk.render.renderer import RenderSettings
from blendtalk.render.synthetic import SyntheticSettings, render_dataset
size, sequences, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rig = build_reference_head()
start = time.perf_counter()
m = render_dataset(rig, RenderSettings(width=size, height=size, zoom=1.5), SyntheticSettings(), 0, sequences, out)
print(m["frames"] / (time.perf_counter() - start))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--frames", type=int, default=540, help="frames rendered per size (9 per sequence)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    out = {"threads": args.threads, "sizes": {}}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            renders = float(subprocess.run([sys.executable, "-c", RENDER, str(size), str(args.frames // 9), tmp],
                                           check=True, capture_output=True, text=True).stdout.split()[-1])
            frames = np.concatenate([load_dataset(tmp, s)[0] for s in ("train", "val", "test")])
        model = FaceReader(ReaderConfig(image_size=size))
        opt = torch.optim.AdamW(model.parameters())
        x_all, y = frames[:64], torch.rand(64, 52)

        def step() -> None:
            model.train()
            loss = reader_loss(*model(to_input(x_all, size)), y, "gnll")
            opt.zero_grad()
            loss.backward()
            opt.step()

        train_s, _ = best_of(step, repeats=5, warmup=True)
        infer_s, _ = best_of(lambda: predict(model, frames[:256]), repeats=3, warmup=True)
        out["sizes"][size] = {"renders_per_s": round(renders, 1), "train_images_per_s": round(64 / train_s, 1),
                              "inference_frames_per_s": round(256 / infer_s, 1),
                              "inference_x_real_time": round(256 / infer_s / REAL_TIME_FPS, 2)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
