"""The blendshapes rules run by Snakemake: on fixture inputs, and after the real upstream stages."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_workdir, run_snakemake
from test_blendshapes_table import fixture_frames

from blendtalk.arkit import ARKIT_NAMES, LR_PAIRS

# conftest's run_snakemake puts `--quiet rules` first and --quiet takes any number of values, so
# an option must end it before targets: "--cores 2" repeats the fixture's own setting.
END_QUIET = ("--cores", "2")
def _workdir(path):
    """make_workdir plus envs/ (rules name their conda env files; Snakemake records them even when
    it does not use conda, so a copy without envs/ fails after the first job)."""
    workdir = make_workdir(path)
    if not (workdir / "envs").exists():
        shutil.copytree(REPO / "envs", workdir / "envs")
    return workdir


TARGETS = ("results/blendshapes/expressions.parquet", "results/blendshapes/summary.json",
           "results/plots/blendshape_heatmap.png")


@pytest.mark.slow
def test_rules_on_fixture_descriptions(tmp_path):
    """Only the blendshapes rules run (upstream outputs are given); values, exclusions, summary."""
    workdir = _workdir(tmp_path / "wf")
    descriptions, corpus = fixture_frames()
    (workdir / "results" / "annotations").mkdir(parents=True)
    (workdir / "results" / "corpora").mkdir(parents=True)
    descriptions.to_parquet(workdir / "results" / "annotations" / "descriptions.parquet")
    corpus.to_parquet(workdir / "results" / "corpora" / "corpus.parquet")
    run_snakemake(workdir, *END_QUIET, *TARGETS, "--allowed-rules", "blendshapes_table", "blendshapes_heatmap")

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
    workdir = _workdir(tmp_path / "wf")
    run_snakemake(workdir, *END_QUIET, *TARGETS)
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
    means = table.groupby("emotion")[list(ARKIT_NAMES)].mean()
    if {"joy", "sadness"} <= set(means.index):
        assert means.loc["joy", "mouthSmileLeft"] > means.loc["sadness", "mouthSmileLeft"]
        assert means.loc["sadness", "mouthFrownLeft"] > means.loc["joy", "mouthFrownLeft"]
    assert set(summary["per_emotion_means"]) == set(means.index)
