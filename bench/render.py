"""Render throughput on this machine: frames/s of the headless renderer at 256² and 512²
(posing, normals, drawing and read-back into a preallocated buffer), with H.264 encoding of the
same frames, and the wall time per second of 30 fps video. Baselines measured in the same run:
the 200 frames/s target at 256², real time (30 frames/s), and the same rig drawn without
back-face culling.

    .venv/bin/python bench/render.py [--frames 150] [--rig reference|sphere]

Prints one JSON object. The reference head is used when `blendtalk.render.reference_head` is
importable, else a 20,480-triangle sphere rig (the JSON says which).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from blendtalk.render.renderer import Renderer, RenderSettings
from blendtalk.render.sphere_rig import build_sphere_rig
from blendtalk.render.video import FPS, VideoWriter

TARGET_FPS_256 = 200.0


def smooth_sequence(n_frames: int, seed: int = 0) -> np.ndarray:
    """`(n_frames, 52)` weights interpolated between random keyframes every 10 frames."""
    rng = np.random.default_rng(seed)
    keys = rng.uniform(0, 1, (n_frames // 10 + 2, 52)) * (rng.uniform(0, 1, (n_frames // 10 + 2, 52)) < 0.3)
    t = np.arange(n_frames) / 10
    return np.stack([np.interp(t, np.arange(len(keys)), keys[:, j]) for j in range(52)], 1).astype(np.float32)


def load(kind: str):
    if kind == "reference":
        try:
            from blendtalk.render.reference_head import build_reference_head
        except ImportError:
            return build_sphere_rig(5), "sphere5 (reference head not available)"
        return build_reference_head(), "reference_head"
    return build_sphere_rig(5), "sphere5"


def measure(rig, size: int, samples: int, weights: np.ndarray, encode_dir: Path) -> dict:
    settings = RenderSettings(width=size, height=size, samples=samples)
    name = f"bench_{size}_{samples}_{'culled' if rig.cull_back_faces else 'full'}.mp4"
    with Renderer(rig, settings) as renderer:
        renderer.render_sequence(weights[:5])  # warm-up: shader compilation, first allocation
        out = np.empty((len(weights), size, size, 3), np.uint8)
        start = time.perf_counter()
        renderer.render_sequence(weights, out=out)
        render_s = time.perf_counter() - start
        path = encode_dir / name
        start = time.perf_counter()
        with VideoWriter(path, size, size) as video:
            renderer.stream(weights, lambda t, frame: video.write(frame))
        encode_s = time.perf_counter() - start
    n = len(weights)
    return {"size": size, "multisampling": samples, "cull_back_faces": rig.cull_back_faces,
            "frames": n,
            "render_fps": round(n / render_s, 1), "render_encode_fps": round(n / encode_s, 1),
            "seconds_per_video_second": round(encode_s / n * FPS, 3),
            "mp4_kib": round(path.stat().st_size / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rig", choices=["reference", "sphere"], default="reference")
    args = parser.parse_args()
    start = time.perf_counter()
    rig, rig_name = load(args.rig)
    build_s = time.perf_counter() - start
    weights = smooth_sequence(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(rig, size, samples, weights, Path(tmp)) for size, samples in ((256, 0), (256, 4), (512, 0))]
        # the same rig drawing every triangle: what back-face culling saves
        full = measure(dataclasses.replace(rig, cull_back_faces=False), 256, 0, weights, Path(tmp))
    base = runs[0]
    with Renderer(rig) as r, r.ctx:
        renderer_name = r.ctx.info["GL_RENDERER"]
    print(json.dumps({
        "rig": rig_name, "vertices": rig.n_vertices, "triangles": int(len(rig.triangles)),
        "rig_build_s": round(build_s, 2), "renderer": renderer_name,
        "cpu_count": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2), "machine": platform.machine(),
        "runs": runs + [full],
        "ratios": {
            "render_fps_256_vs_target_200": round(base["render_fps"] / TARGET_FPS_256, 2),
            "render_encode_fps_256_vs_target_200": round(base["render_encode_fps"] / TARGET_FPS_256, 2),
            "render_encode_fps_256_vs_realtime_30": round(base["render_encode_fps"] / FPS, 2),
            "encode_overhead_256": round(base["render_fps"] / base["render_encode_fps"], 2),
            "msaa4_vs_off_256": round(runs[1]["render_fps"] / base["render_fps"], 2),
            "fps_512_vs_256": round(runs[2]["render_fps"] / base["render_fps"], 2),
            "rig_culling_vs_every_triangle_256": round(base["render_fps"] / full["render_fps"], 2),
        },
    }, indent=2))


if __name__ == "__main__":
    main()
