"""The whole default workflow, as `scripts/run.sh` runs it: every stage on the bundled data, in a
temporary directory, checked across stages (one session-scoped run, see conftest.default_run)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.render.video import probe
from conftest import run_snakemake

pytestmark = pytest.mark.slow


def test_tables_agree_across_stages(default_run):
    results = default_run / "results"
    corpus = pd.read_parquet(results / "corpora/corpus.parquet")
    descriptions = pd.read_parquet(results / "annotations/descriptions.parquet")
    expressions = pd.read_parquet(results / "blendshapes/expressions.parquet")
    qc = json.loads((results / "corpora/qc.json").read_text())
    assert qc["corpus"]["rows_out"] == len(corpus) > 100
    assert corpus["text_id"].is_unique
    # every corpus text is described once, validly, by the rule-based annotator (not an LLM)
    assert sorted(descriptions["text_id"]) == sorted(corpus["text_id"])
    assert set(descriptions["status"]) <= {"ok", "repaired"}
    assert set(descriptions["backend"]) == {"rules"}
    # every described text has its expression, with the corpus' split and emotion
    merged = expressions.merge(corpus[["text_id", "split", "emotion"]], on="text_id", suffixes=("", "_c"))
    assert len(merged) == len(expressions) == len(descriptions)
    assert (merged["split"] == merged["split_c"]).all() and (merged["emotion"] == merged["emotion_c"]).all()
    values = expressions[list(ARKIT_NAMES)].to_numpy()
    assert values.dtype == np.float32 and values.min() >= 0 and values.max() <= 1
    joy = expressions[expressions["emotion"] == "joy"]
    assert joy["mouthSmileLeft"].mean() > 0.3 > expressions.loc[expressions["emotion"] == "sadness",
                                                                "mouthSmileLeft"].mean()


def test_model_metrics_and_renders(default_run):
    results = default_run / "results"
    metrics = json.loads((results / "metrics/text2expr.json").read_text())
    expressions = pd.read_parquet(results / "blendshapes/expressions.parquet")
    assert metrics["gallery_size"] == int((expressions["split"] == "test").sum())
    t2e = metrics["model"]["text_to_expression"]
    assert 0 <= t2e["R@1"] <= t2e["R@10"] <= 1 and t2e["chance_R@1"] < 1
    sample = json.loads((results / "render/sample.json").read_text())["items"]
    assert {item["emotion"] for item in sample} == set(expressions["emotion"])
    videos = sorted((results / "videos/expressions").glob("*.mp4"))
    assert sorted(v.stem for v in videos) == sorted(item["text_id"] for item in sample)
    info = probe(videos[0])
    assert (info.n_frames, info.width, info.height) == (60, 256, 256)
    sheet = Image.open(results / "plots/contact_sheet.png")
    assert sheet.width > 256 * len(sample)  # one column per emotion, one sample each


def test_second_run_has_nothing_to_do(default_run):
    proc = run_snakemake(default_run, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_speech_stage_outputs_agree(default_run):
    from blendtalk.livelink import read_livelink_csv

    results = default_run / "results"
    utterances = pd.read_parquet(results / "speech/utterances.parquet")
    corpus = pd.read_parquet(results / "corpora/corpus.parquet").set_index("text_id")
    assert len(utterances) >= 30 and utterances["utt_id"].is_unique
    assert (utterances.groupby("text_id")["emotion"].nunique() >= 2).all()  # two styles each
    assert (corpus.loc[utterances["text_id"], "split"].to_numpy() == utterances["split"].to_numpy()).all()
    assert utterances["voice"].str.split(":").str[0].nunique() == 2  # espeak and piper
    for row in utterances.itertuples():
        frames = pd.read_parquet(results / f"speech/animation/{row.utt_id}.parquet")
        assert len(frames) == int(np.ceil(30 * row.duration_s - 1e-9))
        phones = pd.read_parquet(results / f"speech/alignments/{row.utt_id}.parquet")
        assert phones["end_s"].iloc[-1] == pytest.approx(row.duration_s, abs=0.02)
        assert read_livelink_csv(results / f"export/{row.utt_id}.csv").weights.shape == (len(frames), 52)
    videos = sorted((results / "videos/speech").glob("*.mp4"))
    assert len(videos) == 4
    info = probe(videos[0])
    assert info.has_audio and info.codec == "h264"
    assert set(utterances.set_index("utt_id").loc[[v.stem for v in videos], "split"]) == {"test"}
    metrics = json.loads((results / "metrics/speech_procedural.json").read_text())
    assert metrics["utterances"] == len(utterances)
    assert metrics["mean"]["closure_rate_rig"] == 1.0
    assert metrics["mean"]["openness_correlation"] > 0.3


def test_speech_resumes_per_utterance_with_identical_tables(default_run):
    results = default_run / "results"
    utt_id = pd.read_parquet(results / "speech/utterances.parquet")["utt_id"].iloc[0]
    animation = results / f"speech/animation/{utt_id}.parquet"
    before = animation.read_bytes()
    (results / f"speech/audio/{utt_id}.wav").unlink()  # as if killed during its synthesis
    dry = run_snakemake(default_run, "--dry-run")
    planned = dry.stdout + dry.stderr
    assert "speech_synthesize" in planned and "text2expr_train" not in planned
    run_snakemake(default_run)
    assert animation.read_bytes() == before
    again = run_snakemake(default_run, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_speech2face_is_trained_and_scored_against_baselines(default_run):
    results = default_run / "results"
    metrics = json.loads((results / "metrics/speech2face.json").read_text())
    for variant in ("procedural", "mean_pose", "model", "model_no_style", "model_shuffled_styles"):
        assert {"lve", "fdd", "mod", "mve", "closure_rate_rig", "faithfulness_R@1", "jitter",
                "region_mse"} <= set(metrics[variant])
    assert metrics["procedural"]["lve"] == 0.0  # the target scored against itself
    model = metrics["model"]
    assert model["lve"] < metrics["mean_pose"]["lve"]
    assert model["faithfulness_R@1"] > metrics["mean_pose"]["faithfulness_R@1"]
    assert model["faithfulness_R@1"] > metrics["model_no_style"]["faithfulness_R@1"]
    history = pd.read_csv(results / "models/speech2face/history.csv")
    assert history["best"].sum() == 1 and history["train_face"].iloc[-1] < history["train_face"].iloc[0]
    videos = sorted((results / "videos/speech2face").glob("*.mp4"))
    assert len(videos) == 2
    info = probe(videos[0])
    assert info.has_audio and info.width == 2 * info.height  # procedural | model


def test_face_reader_is_trained_scored_and_reads_the_videos_back(default_run):
    results = default_run / "results"
    report = json.loads((results / "metrics/facereader.json").read_text())
    reader = report["reader"]
    legibility = json.loads((results / "metrics/legibility_reference_head.json").read_text())
    dataset = json.loads((results / "facereader/reference_head/dataset.json").read_text())
    # both readers on the same held-out renders; the frames add up to the dataset
    assert reader["gnll"]["frames"] == reader["mse"]["frames"] == reader["frames"]["test"] > 0
    assert sum(reader["frames"].values()) == dataset["frames"]
    assert 0 <= reader["gnll"]["calibration"]["within_1sigma"] <= reader["gnll"]["calibration"]["within_2sigma"] <= 1
    assert legibility["channels"] == {n: c["r2"] for n, c in reader["gnll"]["channels"].items()}
    assert len(legibility["weakest"]) == 5
    # read-back: every expression video and speech video the run rendered, frame for frame
    sample = json.loads((results / "render/sample.json").read_text())["items"]
    clips = report["readback"]["clips"]
    assert sorted(c["video"] for c in clips if c["kind"] == "expression") == \
        sorted(f"{item['text_id']}.mp4" for item in sample)
    speech = sorted(c["video"] for c in clips if c["kind"] == "speech")
    assert speech == sorted(p.name for p in (results / "videos/speech").glob("*.mp4"))
    assert all(c["frames"] == probe(results / "videos" / (
        "expressions" if c["kind"] == "expression" else "speech") / c["video"]).n_frames for c in clips)
    assert Image.open(results / "plots/facereader_readback.png").size[0] > 400
