"""The blendshapes rules run by Snakemake: on fixture inputs, and after the real upstream stages."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_workdir, run_snakemake
from test_blendshapes_table import fixture_frames

from blendtalk.arkit import ARKIT_NAMES, LR_PAIRS

TARGETS = ("results/blendshapes/expressions.parquet", "results/blendshapes/summary.json",
           "results/plots/blendshape_heatmap.png")


@pytest.mark.slow
def test_rules_on_fixture_descriptions(tmp_path):
    """Only the blendshapes rules run (upstream outputs are given); values, exclusions, summary."""
    workdir = make_workdir(tmp_path / "wf")
    descriptions, corpus = fixture_frames()
    (workdir / "results" / "annotations").mkdir(parents=True)
    (workdir / "results" / "corpora").mkdir(parents=True)
    descriptions.to_parquet(workdir / "results" / "annotations" / "descriptions.parquet")
    corpus.to_parquet(workdir / "results" / "corpora" / "corpus.parquet")
    run_snakemake(workdir, *TARGETS, "--allowed-rules", "blendshapes_table", "blendshapes_heatmap")

    table = pd.read_parquet(workdir / TARGETS[0])
    assert list(table.columns) == ["text_id", "split", "emotion", "description", *ARKIT_NAMES]
    assert len(table) == 6 and table["text_id"].is_unique
    w = table[list(ARKIT_NAMES)].to_numpy()
    assert w.dtype == np.float32 and np.all((w >= 0) & (w <= 1))
    sad = table.set_index("emotion").loc["sadness"]
    assert sad["browInnerUp"] == pytest.approx(0.6) and sad["mouthFrownLeft"] == pytest.approx(0.6)
    summary = json.loads((workdir / TARGETS[1]).read_text())
    assert summary["counts"]["kept"] == 6 and summary["counts"]["excluded"] == 7
    assert summary["exclusions"]["status_invalid"] == 1
    assert summary["settings"]["intensity_scale"]["E"] == 1.0
    assert (workdir / TARGETS[2]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_default_run_table(tmp_path):
    """The default config, from the bundled corpora through annotation to the expressions table."""
    workdir = make_workdir(tmp_path / "wf")
    run_snakemake(workdir, *TARGETS)
    table = pd.read_parquet(workdir / TARGETS[0])
    descriptions = pd.read_parquet(workdir / "results" / "annotations" / "descriptions.parquet")
    corpus = pd.read_parquet(workdir / "results" / "corpora" / "corpus.parquet")
    summary = json.loads((workdir / TARGETS[1]).read_text())

    assert len(table) > 0 and table["text_id"].is_unique
    assert summary["counts"]["descriptions"] == len(descriptions)
    assert summary["counts"]["kept"] + summary["counts"]["excluded"] == len(descriptions)
    assert summary["exclusions"]["status_invalid"] == int((descriptions["status"] == "invalid").sum())
    assert not set(table["text_id"]) & set(descriptions.loc[descriptions["status"] == "invalid", "text_id"])
    w = table[list(ARKIT_NAMES)].to_numpy()
    assert w.dtype == np.float32 and np.all((w >= 0) & (w <= 1)) and w.max() > 0
    meta = corpus.drop_duplicates("text_id").set_index("text_id")
    assert (table["split"].to_numpy() == meta.loc[table["text_id"], "split"].to_numpy()).all()
    assert (table["emotion"].to_numpy() == meta.loc[table["text_id"], "emotion"].to_numpy()).all()
    for left, right in LR_PAIRS:
        if not ARKIT_NAMES[left].startswith("eyeLook"):  # gaze AUs 61/62 are one-sided by nature
            assert np.array_equal(w[:, left], w[:, right]), ARKIT_NAMES[left]
    # The semantics of issue 4 on the real annotations: each emotion's defining channels are
    # strongly active on average and well above their mean over the other emotions' rows.
    defining = {"joy": ["mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"],
                "sadness": ["browInnerUp", "mouthFrownLeft", "mouthFrownRight"],
                "surprise": ["browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "jawOpen"],
                "anger": ["browDownLeft", "browDownRight", "mouthPressLeft", "mouthPressRight"]}
    for emotion, channels in defining.items():
        rows = table["emotion"] == emotion
        assert rows.any(), f"the default corpus has no {emotion} rows"
        for channel in channels:
            inside, outside = table.loc[rows, channel].mean(), table.loc[~rows, channel].mean()
            assert inside > 0.3 and inside > outside + 0.2, (emotion, channel, inside, outside)
    means = table.groupby("emotion")[list(ARKIT_NAMES)].mean()
    assert set(summary["per_emotion_means"]) == set(means.index)
