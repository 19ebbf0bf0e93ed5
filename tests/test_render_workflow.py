"""The render rules, run by Snakemake in a temporary copy of the workflow on a small synthetic
expressions table and the sphere rig: the sample, the videos and the contact sheet."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from blendtalk.arkit import ARKIT_NAMES, INDEX
from blendtalk.render.rig import save_rig
from blendtalk.render.sphere_rig import build_sphere_rig
from blendtalk.render.video import probe, read_frames
from conftest import make_workdir, run_snakemake

# --allowed-rules takes every word after it: keep it last. Upstream rules are not run here.
RENDER_RULES = ("--allowed-rules", "render_sample", "render_expression_video", "render_contact_sheet")


def write_inputs(workdir) -> pd.DataFrame:
    rows = []
    for i, emotion in enumerate(["joy", "anger", "joy", "sadness", "anger"]):
        weights = np.zeros(52, np.float32)
        weights[INDEX["jawOpen"]] = 0.2 * (i + 1)
        weights[INDEX["eyeBlinkLeft"]] = 1.0 if emotion == "sadness" else 0.0
        rows.append({"text_id": f"{i:016x}", "split": "train", "emotion": emotion, "description": "d",
                     **dict(zip(ARKIT_NAMES, weights.tolist()))})
    table = pd.DataFrame(rows)
    table.to_parquet(workdir / "results" / "blendshapes" / "expressions.parquet")
    pd.DataFrame({"text_id": table["text_id"], "text": [f"sentence number {i}" for i in range(5)]}).to_parquet(
        workdir / "results" / "annotations" / "descriptions.parquet")
    return table


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("render") / "wf")
    for sub in ("blendshapes", "annotations", "rig"):
        (workdir / "results" / sub).mkdir(parents=True)
    table = write_inputs(workdir)
    save_rig(build_sphere_rig(3), workdir / "results" / "rig" / "sphere.npz")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["render"].update(rig="results/rig/sphere.npz", resolution=64, samples_per_emotion=1,
                            caption=False)
    config["render"]["camera"]["zoom"] = 1.0  # the whole sphere in frame
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(workdir, "results/render/sample.json", "results/plots/contact_sheet.png", *RENDER_RULES)
    sample = json.loads((workdir / "results" / "render" / "sample.json").read_text())
    videos = [f"results/videos/expressions/{item['text_id']}.mp4" for item in sample["items"]]
    run_snakemake(workdir, *videos, *RENDER_RULES)
    return workdir, table, sample, videos


def test_sample_has_one_expression_per_emotion_in_label_order(workflow):
    _, table, sample, _ = workflow
    assert [item["emotion"] for item in sample["items"]] == ["anger", "joy", "sadness"]
    for item in sample["items"]:
        assert table.set_index("text_id").loc[item["text_id"], "emotion"] == item["emotion"]


def test_videos_are_two_seconds_of_neutral_expression_neutral(workflow):
    workdir, table, sample, videos = workflow
    for item, video in zip(sample["items"], videos, strict=True):
        info = probe(workdir / video)
        assert (info.n_frames, info.width, info.height, info.has_audio) == (60, 64, 64, False)
        assert info.duration_s == pytest.approx(2.0, abs=0.02)
        frames = read_frames(workdir / video).astype(int)
        assert np.abs(frames[0] - frames[-1]).mean() < 1  # neutral at both ends
        # the expression in the middle: the jaw opens in the lower half; the top (eyes) moves less
        lower = np.abs(frames[30, 32:] - frames[0, 32:]).mean()
        assert lower > 0.5 and lower > 2 * np.abs(frames[30, :24] - frames[0, :24]).mean()


def test_contact_sheet_has_a_column_per_emotion_and_captions_below(workflow):
    workdir, _, sample, _ = workflow
    sheet = np.asarray(Image.open(workdir / "results" / "plots" / "contact_sheet.png"))
    # 3 emotion columns of 64-px tiles under a header row, one sample row with its caption band
    header, cell = 11 + 3 + 2 * 4, 64 + 3 * 14 + 4
    assert sheet.shape[:2] == (header + cell + 4 + 4, 3 * (64 + 4) + 4)
    tiles = [sheet[header:header + 64, 4 + c * 68:4 + c * 68 + 64] for c in range(3)]
    bg = np.array([31, 31, 36])
    for tile in tiles:
        assert (tile[0, 0] == bg).all() and (tile[-1, -1] == bg).all()  # the face's frame, no caption over it
    assert not np.array_equal(tiles[0], tiles[2])  # sadness blinks, anger does not
    band = sheet[header + 64:header + cell, 4:4 + 3 * 68]
    assert (band < 128).any()  # caption text below the faces
    assert (sheet[:header, 4:68] < 128).any()  # the emotion's name heads its column


def test_rerun_is_a_no_op(workflow):
    workdir, _, _, videos = workflow
    proc = run_snakemake(workdir, "-n", "results/plots/contact_sheet.png", *videos, *RENDER_RULES)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_more_samples_per_emotion_re_renders_no_existing_video(workflow):
    """The video rule's params hold only the keys that change a video: a new sample size re-runs
    the sample (and so the contact sheet), not the videos already rendered."""
    workdir, _, _, videos = workflow
    # an overlay file: `--config render='{...}'` would pass the numbers as strings
    (workdir / "more_samples.yaml").write_text("render:\n  samples_per_emotion: 2\n")
    proc = run_snakemake(workdir, "-n", "results/render/sample.json", *videos[:2],
                         "--configfile", "config.yaml", "more_samples.yaml", *RENDER_RULES)
    jobs = dict(re.findall(r"^(render_\w+)\s+(\d+)$", proc.stdout + proc.stderr, flags=re.MULTILINE))
    assert jobs == {"render_sample": "1"}  # the job stats: the override took effect, no video re-renders
