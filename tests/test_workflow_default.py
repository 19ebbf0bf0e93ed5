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
    assert sheet.height > 256 * len(sample)  # one captioned row per sampled expression


def test_second_run_has_nothing_to_do(default_run):
    proc = run_snakemake(default_run, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr
