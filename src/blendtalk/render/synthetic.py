"""Synthetic renders for training a face reader: random rig states in short interpolated
sequences, each under its own camera, lights and background, deterministic from the seed.

A state is drawn as the FACS-synthetic line of work draws it: a uniform number k of active
controllers in 1..max_active, chosen without replacement, each with a uniform value in [0, 1];
with probability `real_share` it is instead a real expression (a row of expressions.parquet, or
a speech frame) when such rows are given. A sequence visits `states` states, holding the first
and easing (smoothstep) between consecutive ones over `frames_per_transition` frames, so the
reader also sees the in-between faces video shows. A `caption_share` of sequences carry a caption
band like the run's captioned videos. Sequence i depends only on (seed, i): the
same seed gives the same frames whatever the shard size or the number of sequences.

Frames are `(H, W, 3)` uint8 RGB; weights `(T, 52)` float32 in [0, 1].
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from blendtalk.arkit import N_BLENDSHAPES
from blendtalk.ids import short_hash, split_of
from blendtalk.io import atomic_path, write_json
from blendtalk.render.renderer import Lighting, Renderer, RenderSettings
from blendtalk.render.rig import Rig
from blendtalk.render.video import blend, caption_lines, caption_overlay, caption_size
from blendtalk.seeding import rng as seeded_rng

#: Background kinds, drawn uniformly per sequence.
BACKGROUNDS = ("flat", "gradient", "noise")


@dataclass(frozen=True)
class SyntheticSettings:
    """What the dataset varies. Camera ranges are offsets around the base `RenderSettings` (the
    camera of the videos the reader will read): azimuth/elevation in degrees added to the base,
    zoom and field of view as factors on it; light intensity a factor on the default lights,
    colour a per-channel factor in [1 - light_tint, 1 + light_tint]."""

    max_active: int = 8
    states: int = 3
    frames_per_transition: int = 4
    real_share: float = 0.3
    azimuth_deg: float = 20.0
    elevation_deg: float = 12.0
    zoom: tuple[float, float] = (0.85, 1.15)
    fov: tuple[float, float] = (0.85, 1.15)
    light_intensity: tuple[float, float] = (0.6, 1.4)
    light_tint: float = 0.15
    caption_share: float = 0.0
    caption_resolution: int = 256  # frame size of the videos whose caption band is imitated

    def __post_init__(self) -> None:
        if not 1 <= self.max_active <= N_BLENDSHAPES:
            raise ValueError(f"max_active must be in 1..{N_BLENDSHAPES}, got {self.max_active}")
        if self.states < 1 or self.frames_per_transition < 1:
            raise ValueError("states and frames_per_transition must be >= 1")
        for name in ("real_share", "caption_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def synthetic_settings(dataset: dict, video_resolution: int) -> SyntheticSettings:
    """The `SyntheticSettings` of a validated `facereader.dataset` section; `video_resolution`:
    the frame size of the videos the reader will read (`render.resolution`)."""
    camera, light = dataset["camera"], dataset["light"]
    return SyntheticSettings(
        max_active=dataset["max_active"], states=dataset["states"],
        frames_per_transition=dataset["frames_per_transition"], real_share=dataset["real_share"],
        azimuth_deg=camera["azimuth_deg"], elevation_deg=camera["elevation_deg"],
        zoom=tuple(camera["zoom"]), fov=tuple(camera["fov"]), light_intensity=tuple(light["intensity"]),
        light_tint=light["tint"], caption_share=dataset["caption_share"], caption_resolution=video_resolution)


def sequence_id(seed: int, index: int) -> str:
    """The 12-hex id of sequence `index` of the dataset of `seed` (its split comes from this id,
    via `blendtalk.ids.split_of`)."""
    return short_hash(["facereader", str(seed), str(index)])


def draw_state(gen: np.random.Generator, max_active: int) -> np.ndarray:
    """`(52,)` float32: k ~ U{1..max_active} controllers chosen without replacement, values U[0, 1]."""
    state = np.zeros(N_BLENDSHAPES, np.float32)
    active = gen.choice(N_BLENDSHAPES, size=int(gen.integers(1, max_active + 1)), replace=False)
    state[active] = gen.uniform(0.0, 1.0, len(active))
    return state


def sequence_weights(gen: np.random.Generator, cfg: SyntheticSettings, real: np.ndarray | None) -> np.ndarray:
    """`(1 + (states - 1) * frames_per_transition, 52)` float32: the first state, then smoothstep
    transitions ending on each next state."""
    states = []
    for _ in range(cfg.states):
        use_real = real is not None and len(real) and gen.uniform() < cfg.real_share
        states.append(real[gen.integers(len(real))].astype(np.float32) if use_real
                      else draw_state(gen, cfg.max_active))
    frames = [states[0]]
    for a, b in zip(states, states[1:]):
        t = np.arange(1, cfg.frames_per_transition + 1, dtype=np.float32) / cfg.frames_per_transition
        t = t * t * (3 - 2 * t)
        frames.extend(a + t[:, None] * (b - a))
    return np.clip(np.stack(frames), 0.0, 1.0).astype(np.float32)


def draw_scene(gen: np.random.Generator, base: RenderSettings, cfg: SyntheticSettings) -> tuple[RenderSettings, Lighting]:
    """A camera around `base` and relit, recoloured default lights (see `SyntheticSettings`)."""
    settings = replace(
        base,
        azimuth_deg=base.azimuth_deg + gen.uniform(-cfg.azimuth_deg, cfg.azimuth_deg),
        elevation_deg=base.elevation_deg + gen.uniform(-cfg.elevation_deg, cfg.elevation_deg),
        zoom=base.zoom * gen.uniform(*cfg.zoom), fov_deg=base.fov_deg * gen.uniform(*cfg.fov))
    default = Lighting()
    key = np.asarray(default.directions[0]) + gen.normal(0.0, 0.35, 3)
    key[2] = abs(key[2]) + 0.2  # keep the key light on the camera's side of the face
    scale = gen.uniform(*cfg.light_intensity)
    tint = gen.uniform(1 - cfg.light_tint, 1 + cfg.light_tint, (3, 3))
    colors = np.clip(np.asarray(default.colors) * scale * tint, 0.0, 2.0)
    lighting = Lighting(directions=(tuple(key), *default.directions[1:]),
                        colors=tuple(map(tuple, colors)), ambient=default.ambient * gen.uniform(0.7, 1.3))
    return settings, lighting


def background(gen: np.random.Generator, height: int, width: int) -> np.ndarray:
    """`(H, W, 3)` uint8: a flat colour, a linear gradient between two colours at a random angle,
    or smooth colour noise (a coarse random grid upsampled), one kind drawn uniformly."""
    kind = BACKGROUNDS[int(gen.integers(len(BACKGROUNDS)))]
    if kind == "flat":
        image = np.broadcast_to(gen.uniform(0, 1, 3), (height, width, 3))
    elif kind == "gradient":
        angle = gen.uniform(0, 2 * np.pi)
        y, x = np.mgrid[0:height, 0:width]
        t = (np.cos(angle) * x / width + np.sin(angle) * y / height)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        a, b = gen.uniform(0, 1, (2, 3))
        image = a + t[..., None] * (b - a)
    else:
        cells = int(gen.integers(3, 9))
        grid = gen.uniform(0, 1, (cells, cells, 3))
        rows = np.linspace(0, cells - 1, height).round().astype(int)
        cols = np.linspace(0, cells - 1, width).round().astype(int)
        image = grid[rows][:, cols] + gen.normal(0, 0.03, (height, width, 3))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def caption_band(gen: np.random.Generator, height: int, width: int, video_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A caption band like the videos' (`render.video.caption_overlay`) with 1-3 lines of random
    letters and an emotion line, drawn on a `video_size`² frame and scaled to `(height, width)`:
    colour `(H, W, 3)` uint8 and alpha `(H, W, 1)` float32."""
    from PIL import Image

    size = caption_size(video_size)
    letters = list("abcdefghijklmnopqrstuvwxyz     ")
    text = "".join(gen.choice(letters, int(gen.integers(10, 3 * video_size // size))))
    lines = caption_lines(text, ["emotion"], width_px=video_size, size=size)
    rgb, alpha = caption_overlay(video_size, video_size, lines, size=size)
    rgb = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BOX))
    alpha = np.asarray(Image.fromarray(alpha[..., 0]).resize((width, height), Image.Resampling.BOX))
    return rgb, alpha[..., None].astype(np.float32)


def composite(rgba: np.ndarray, back: np.ndarray) -> np.ndarray:
    """`(..., H, W, 4)` uint8 face renders over `(H, W, 3)` uint8 background → `(..., H, W, 3)`."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    out = rgba[..., :3].astype(np.float32) * alpha + back.astype(np.float32) * (1 - alpha)
    return out.round().astype(np.uint8)


def render_sequence(renderer: Renderer, seed: int, index: int, base: RenderSettings,
                    cfg: SyntheticSettings, real: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames `(T, H, W, 3)` uint8 and weights `(T, 52)` float32 of sequence `index` of the dataset
    of `seed` (camera, lights, background and states all drawn from (seed, index))."""
    gen = seeded_rng(seed, "facereader", str(index))
    weights = sequence_weights(gen, cfg, real)
    settings, lighting = draw_scene(gen, base, cfg)
    renderer.set_scene(settings, lighting)
    back = background(gen, base.height, base.width)
    frames = composite(renderer.render_rgba(weights), back)
    if gen.uniform() < cfg.caption_share:
        band = caption_band(gen, base.height, base.width, cfg.caption_resolution)
        for frame in frames:
            blend(frame, band, out=frame)
    return frames, weights


def shard_name(index: int) -> str:
    """File name of dataset shard `index`."""
    return f"shard-{index:05d}.safetensors"


def render_dataset(rig: Rig, base: RenderSettings, cfg: SyntheticSettings, seed: int, sequences: int,
                   directory: str | os.PathLike, real: np.ndarray | None = None,
                   shard_sequences: int = 64) -> dict:
    """Render `sequences` sequences into safetensors shards of `shard_sequences` each under
    `directory` (`frames` (N, H, W, 3) uint8, `weights` (N, 52) float32, `sequence` (N,) int64)
    and `manifest.json` (seed, counts, shard names, sequence ids per split). Each shard is written
    atomically and a shard already there is kept, so an interrupted run resumes where it stopped.
    A directory holding shards of a different plan (seed, sizes, camera, settings, rig) is
    refused. Returns the manifest."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # shards kept from an interrupted run must come from the same plan
    plan = {"seed": seed, "sequences": sequences, "resolution": [base.height, base.width],
            "camera": [base.fov_deg, base.azimuth_deg, base.elevation_deg, base.zoom],
            "shard_sequences": shard_sequences, "settings": asdict(cfg), "rig": rig.name,
            "real_rows": 0 if real is None else len(real)}
    plan = json.loads(json.dumps(plan))  # tuples as lists, as read back
    plan_path = directory / "plan.json"
    if plan_path.is_file() and json.loads(plan_path.read_text(encoding="utf-8")) != plan:
        raise ValueError(f"{directory} holds shards of another dataset plan ({plan_path}); "
                         "remove the directory to render this one")
    write_json(plan, plan_path)
    names = []
    with Renderer(rig, base) as renderer:
        for shard, start in enumerate(range(0, sequences, shard_sequences)):
            names.append(shard_name(shard))
            if (directory / names[-1]).is_file():
                continue
            frames, weights, index = [], [], []
            for i in range(start, min(start + shard_sequences, sequences)):
                f, w = render_sequence(renderer, seed, i, base, cfg, real)
                frames.append(f)
                weights.append(w)
                index.append(np.full(len(w), i, np.int64))
            with atomic_path(directory / names[-1]) as tmp:
                save_file({"frames": np.concatenate(frames), "weights": np.concatenate(weights),
                           "sequence": np.concatenate(index)}, str(tmp))
    frames_per_sequence = 1 + (cfg.states - 1) * cfg.frames_per_transition
    manifest = {"seed": seed, "sequences": sequences, "frames": sequences * frames_per_sequence,
                "resolution": [base.height, base.width], "shards": names, "settings": asdict(cfg)}
    write_json(manifest, directory / "manifest.json")
    return manifest


def real_states(expressions: str | os.PathLike | None = None,
                animations: list[str | os.PathLike] = (), every: int = 3) -> np.ndarray | None:
    """`(N, 52)` float32 real states for `render_dataset`: the train-split rows of an expressions
    table and every `every`-th frame of speech animation tables (pass train-split ones only, so
    the videos read back later were never trained on); None when there are none."""
    from blendtalk import tables
    from blendtalk.arkit import ARKIT_NAMES

    parts = []
    if expressions is not None:
        table = tables.read(expressions, tables.EXPRESSIONS)
        parts.append(table.loc[table["split"] == "train", list(ARKIT_NAMES)].to_numpy(np.float32))
    for path in animations:
        parts.append(tables.read(path, tables.ANIMATION)[list(ARKIT_NAMES)].to_numpy(np.float32)[::every])
    states = np.concatenate(parts) if parts else np.zeros((0, N_BLENDSHAPES), np.float32)
    return states if len(states) else None


def dataset_manifest(path: str | os.PathLike) -> tuple[dict, Path]:
    """The manifest of a dataset and the directory of its shards, from the dataset directory or
    a copy of its manifest elsewhere that names it (`"directory"`, as the workflow writes)."""
    path = Path(path)
    file = path / "manifest.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no face reader dataset manifest at {file}")
    manifest = json.loads(file.read_text(encoding="utf-8"))
    directory = Path(manifest.get("directory", file.parent))
    missing = [name for name in manifest["shards"] if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{file}: {len(missing)} of its shards are missing from {directory} "
                                f"(first: {missing[0]}); delete {file} to render the dataset again")
    return manifest, directory


def load_dataset(path: str | os.PathLike, split: str,
                 ratios: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames `(N, H, W, 3)` uint8 and weights `(N, 52)` float32 of the sequences of `split`
    (train/val/test by `split_of` over `sequence_id`, default 80/10/10) in a dataset written by
    `render_dataset` (`path`: see `dataset_manifest`)."""
    from safetensors.numpy import load_file

    manifest, directory = dataset_manifest(path)
    ratios = ratios or {"train": 0.8, "val": 0.1, "test": 0.1}
    splits = split_of([sequence_id(manifest["seed"], i) for i in range(manifest["sequences"])], ratios).to_numpy()
    frames, weights = [], []
    for name in manifest["shards"]:
        shard = load_file(str(directory / name))
        keep = splits[shard["sequence"]] == split
        frames.append(shard["frames"][keep])
        weights.append(shard["weights"][keep])
    return np.concatenate(frames), np.concatenate(weights)
