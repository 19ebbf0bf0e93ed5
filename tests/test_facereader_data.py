"""Synthetic face reader renders (render/synthetic.py) and the renderer's scene controls."""

import json

import numpy as np
import pandas as pd
import pytest

from blendtalk.arkit import N_BLENDSHAPES
from blendtalk.ids import split_of
from blendtalk.render.renderer import Lighting, Renderer, RenderSettings
from blendtalk.render.sphere_rig import build_sphere_rig
from blendtalk.render.synthetic import (SyntheticSettings, composite, draw_state, load_dataset,
                                        render_dataset, render_sequence, sequence_id)
from blendtalk.seeding import rng

BASE = RenderSettings(width=48, height=48, zoom=1.2)
CFG = SyntheticSettings(states=3, frames_per_transition=2)


@pytest.fixture(scope="module")
def renderer():
    with Renderer(build_sphere_rig(3), BASE) as r:
        yield r


def test_sequences_are_deterministic_per_seed_and_index(renderer):
    real = np.full((4, N_BLENDSHAPES), 0.25, np.float32)
    first = [render_sequence(renderer, 7, i, BASE, CFG, real) for i in range(3)]
    # sequence 2 alone, after another seed's sequence: the same frames (no state carried over)
    render_sequence(renderer, 8, 0, BASE, CFG, real)
    again = render_sequence(renderer, 7, 2, BASE, CFG, real)
    np.testing.assert_array_equal(again[0], first[2][0])
    np.testing.assert_array_equal(again[1], first[2][1])
    other = render_sequence(renderer, 8, 2, BASE, CFG, real)
    assert not np.array_equal(other[0], first[2][0])
    frames, weights = first[0]
    assert frames.shape == (5, 48, 48, 3) and frames.dtype == np.uint8
    assert weights.shape == (5, N_BLENDSHAPES) and 0 <= weights.min() and weights.max() <= 1
    splits = split_of([sequence_id(7, i) for i in range(600)], {"train": 0.8, "val": 0.1, "test": 0.1})
    assert 0.74 < (splits == "train").mean() < 0.86


def test_states_activate_at_most_max_active_controllers():
    gen = rng(0)
    counts = [int((draw_state(gen, 6) > 0).sum()) for _ in range(400)]
    assert min(counts) == 1 and max(counts) == 6
    assert abs(np.mean(counts) - 3.5) < 0.3  # k ~ U{1..6}


def test_face_is_composited_over_the_background(renderer):
    rgba = renderer.render_rgba(np.zeros((1, N_BLENDSHAPES), np.float32))
    alpha = rgba[0, ..., 3]
    assert alpha[24, 24] == 255 and alpha[0, 0] == 0
    back = np.zeros((48, 48, 3), np.uint8)
    back[..., 1] = 200
    out = composite(rgba, back)[0]
    np.testing.assert_array_equal(out[alpha == 0], back[alpha == 0])
    np.testing.assert_array_equal(out[alpha == 255], rgba[0, ..., :3][alpha == 255])


def test_set_scene_moves_camera_and_lights_and_comes_back(renderer):
    renderer.set_scene(BASE, Lighting())
    neutral = renderer.render()
    with Renderer(build_sphere_rig(3), BASE) as fresh:
        np.testing.assert_array_equal(fresh.render(), neutral)
    renderer.set_scene(RenderSettings(width=48, height=48, zoom=1.2, azimuth_deg=25.0),
                       Lighting(ambient=0.5))
    turned = renderer.render()
    renderer.set_scene(BASE, Lighting())
    np.testing.assert_array_equal(renderer.render(), neutral)
    assert np.abs(turned.astype(int) - neutral).mean() > 1
    with pytest.raises(ValueError, match="cannot change the image size"):
        renderer.set_scene(RenderSettings(width=64, height=64))
    with pytest.raises(ValueError, match="max_active"):
        SyntheticSettings(max_active=0)


def test_dataset_shards_split_by_sequence_and_resume(tmp_path):
    rig = build_sphere_rig(3)
    manifest = render_dataset(rig, BASE, CFG, seed=3, sequences=30, directory=tmp_path / "ds",
                              shard_sequences=8)
    assert manifest["shards"] == [f"shard-{i:05d}.safetensors" for i in range(4)]
    parts = {s: load_dataset(tmp_path / "ds", s) for s in ("train", "val", "test")}
    assert sum(len(f) for f, _ in parts.values()) == 30 * 5 == manifest["frames"]
    assert all(f.shape[1:] == (48, 48, 3) and len(f) == len(w) for f, w in parts.values())
    shard = tmp_path / "ds" / "shard-00001.safetensors"
    before = shard.read_bytes()
    shard.unlink()  # an interrupted run: the missing shard is rendered again, the same bytes
    stamp = (tmp_path / "ds" / "shard-00000.safetensors").stat().st_mtime_ns
    render_dataset(rig, BASE, CFG, seed=3, sequences=30, directory=tmp_path / "ds", shard_sequences=8)
    assert shard.read_bytes() == before
    assert (tmp_path / "ds" / "shard-00000.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="another dataset plan"):
        render_dataset(rig, BASE, CFG, seed=4, sequences=30, directory=tmp_path / "ds", shard_sequences=8)


def test_stage_trains_both_readers_scores_them_on_one_test_split_and_reads_videos_back(tmp_path):
    from blendtalk.models.facereader import ReaderConfig, ReaderTrainConfig, load_reader
    from blendtalk.models.facereader_run import read_back, train_and_score
    from blendtalk.render.clips import render_video

    rig = build_sphere_rig(3)
    render_dataset(rig, BASE, CFG, seed=1, sequences=40, directory=tmp_path / "ds")
    # the workflow's layout: the manifest elsewhere, naming the shard directory
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    (tmp_path / "dataset.json").write_text(json.dumps({**manifest, "directory": str(tmp_path / "ds")}))
    camera = {"azimuth_deg": 20.0}
    scores = train_and_score(tmp_path / "dataset.json", tmp_path / "model", tmp_path / "scores.json",
                             tmp_path / "legibility.json", "sphere", ReaderConfig(image_size=32, widths=(8,)),
                             ReaderTrainConfig(epochs=2, batch_size=16), camera)
    test_frames = len(load_dataset(tmp_path / "ds", "test")[0])
    assert scores["frames"]["test"] == test_frames == scores["gnll"]["frames"] == scores["mse"]["frames"]
    assert sum(scores["frames"].values()) == 40 * 5
    assert "calibration" in scores["gnll"] and "calibration" not in scores["mse"]
    assert len(scores["gnll"]["weakest"]) == 5 and scores["gnll"]["epochs"] == 2
    assert scores["gnll_minus_mse_r2"] == pytest.approx(scores["gnll"]["overall"]["r2"] - scores["mse"]["overall"]["r2"])
    model, config = load_reader(tmp_path / "model")
    assert config["rig"] == "sphere" and config["loss"] == "gnll" and config["camera"] == camera
    assert {p.name for p in (tmp_path / "model").glob("history_*.csv")} == {"history_gnll.csv", "history_mse.csv"}
    assert json.loads((tmp_path / "scores.json").read_text())["gnll"]["overall"] == scores["gnll"]["overall"]
    legibility = json.loads((tmp_path / "legibility.json").read_text())
    assert legibility["channels"] == {n: c["r2"] for n, c in scores["gnll"]["channels"].items()}
    assert [w["channel"] for w in legibility["weakest"]] == [w["channel"] for w in scores["gnll"]["weakest"]]

    curves = np.zeros((12, N_BLENDSHAPES), np.float32)
    curves[:, 17] = np.linspace(0, 1, 12)
    render_video(tmp_path / "clip.mp4", rig, curves, BASE, fps=30)
    report, example = read_back(tmp_path / "model", [("expression", tmp_path / "clip.mp4", curves)])
    assert report["summary"]["expression"]["frames"] == 12 and report["clips"][0]["video"] == "clip.mp4"
    assert set(report["clips"][0]["regions"]) >= {"jaw", "mouth", "eyes"}
    assert example["read"].shape == (12, N_BLENDSHAPES) and example["name"] == "clip"
    with pytest.raises(ValueError, match="has 12 frames but its curves have 11"):
        read_back(tmp_path / "model", [("expression", tmp_path / "clip.mp4", curves[:11])])


def test_missing_shards_and_real_states_are_reported(tmp_path):
    from blendtalk import tables
    from blendtalk.arkit import ARKIT_NAMES
    from blendtalk.render.synthetic import dataset_manifest, real_states

    render_dataset(build_sphere_rig(3), BASE, CFG, seed=1, sequences=10, directory=tmp_path / "ds", shard_sequences=4)
    (tmp_path / "ds" / "shard-00001.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of its shards are missing .* shard-00001"):
        dataset_manifest(tmp_path / "ds")
    assert real_states() is None
    rows = pd.DataFrame({"text_id": ["a", "b", "c"], "split": ["train", "test", "train"],
                         "emotion": "joy", "description": ""})
    for i, name in enumerate(ARKIT_NAMES):
        rows[name] = np.float32(i / 100)
    tables.write(rows, tmp_path / "expressions.parquet", tables.EXPRESSIONS)
    animation = pd.DataFrame({"frame": np.arange(7, dtype=np.int32),
                              **{n: np.full(7, 0.5, np.float32) for n in ARKIT_NAMES}})
    tables.write(animation, tmp_path / "anim.parquet", tables.ANIMATION)
    states = real_states(tmp_path / "expressions.parquet", [tmp_path / "anim.parquet"], every=3)
    assert states.shape == (2 + 3, N_BLENDSHAPES)  # the train rows, frames 0, 3, 6
    np.testing.assert_allclose(states[0], np.arange(52) / 100, atol=1e-6)


def test_caption_band_covers_the_bottom_like_the_videos(renderer):
    from blendtalk.render.synthetic import caption_band

    rgb, alpha = caption_band(rng(0, "band"), 48, 48, video_size=256)
    assert rgb.shape == (48, 48, 3) and alpha.shape == (48, 48, 1)
    assert alpha[:20].max() == 0 and alpha[-2:].min() > 0.4  # a band at the bottom only
    captioned = SyntheticSettings(states=2, frames_per_transition=1, caption_share=1.0)
    frames, _ = render_sequence(renderer, 0, 0, BASE, captioned)
    plain, _ = render_sequence(renderer, 0, 0, BASE, SyntheticSettings(states=2, frames_per_transition=1))
    assert np.array_equal(frames[:, :20], plain[:, :20]) and not np.array_equal(frames[:, -4:], plain[:, -4:])
