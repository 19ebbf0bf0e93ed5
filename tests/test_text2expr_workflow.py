"""The text2expr rules on the bundled data: train, metrics and plots through Snakemake."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import make_workdir, run_snakemake, snakemake_env

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.ids import split_of, text_ids
from blendtalk.io import write_parquet
from blendtalk.models.text2expr import load_model

pytestmark = pytest.mark.slow
FEELINGS = {"joy": "is thrilled about", "anger": "is furious about", "sadness": "is heartbroken about",
            "fear": "is terrified of", "surprise": "is stunned by", "disgust": "is revolted by"}


def seed_upstream(wd) -> None:
    """Upstream tables in the DESIGN.md contracts (expressions, descriptions) for 192 sentences,
    one rule-like expression per emotion, so these rules run without the upstream stages."""
    import numpy as np

    rng = np.random.default_rng(0)
    protos = {e: (rng.random(52) * (rng.random(52) < 0.3)).astype(np.float32) for e in FEELINGS}
    rows = [(f"{s} {verb} {o}", e) for s in ("she", "he", "my aunt", "the boy", "they", "our coach",
                                             "the pilot", "my cousin")
            for e, verb in FEELINGS.items()
            for o in ("the news", "the letter", "the storm", "the verdict")]
    texts, emotions = [r[0] for r in rows], [r[1] for r in rows]
    ids = text_ids(texts)
    expr = pd.DataFrame(np.stack([protos[e] for e in emotions]), columns=list(ARKIT_NAMES))
    expr.insert(0, "description", [f"a face showing {e}" for e in emotions])
    expr.insert(0, "emotion", emotions)
    expr.insert(0, "split", split_of(ids, {"train": 0.6, "val": 0.2, "test": 0.2}))
    expr.insert(0, "text_id", ids)
    write_parquet(expr, wd / "results/blendshapes/expressions.parquet")
    write_parquet(pd.DataFrame({"text_id": ids, "text": texts, "emotions": [[e] for e in emotions]}),
                  wd / "results/annotations/descriptions.parquet")


RULES = ("--allowed-rules", "text2expr_train", "text2expr_plots")
TARGETS = ("results/metrics/text2expr.json", "results/plots/text2expr_joint_map.png",
           "results/plots/text2expr_loss.png", "results/plots/text2expr_channel_errors.png")


def scheduled(wd, overlay: str) -> set[str]:
    """The rules a dry run would run for TARGETS with the config file overlay `overlay` (YAML)."""
    (wd / "overlay.yaml").write_text(overlay)
    out = run_snakemake(wd, "--dry-run", *RULES, "--configfile", "overlay.yaml", "--", *TARGETS).stdout
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:")[1].split("total")[0].splitlines()[3:]  # after the header rows
    return {line.split()[0] for line in table if line.strip()}


def train_threads(wd, overlay: str) -> int:
    """The threads a dry run forcing text2expr_train gives its job (on 2 cores) under `overlay`."""
    (wd / "overlay.yaml").write_text(overlay)
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--forcerun",
                          "text2expr_train", *RULES, "--configfile", "overlay.yaml", "--", TARGETS[0]],
                         cwd=wd, env=snakemake_env(), capture_output=True, text=True, check=True).stdout
    block = re.search(r"^rule text2expr_train:\n((?: +\w+: .*\n)+)", out, re.M)
    assert block, out[-3000:]
    threads = re.search(r"^ +threads: (\d+)$", block.group(1), re.M)
    return int(threads.group(1)) if threads else 1


def test_workflow_writes_model_metrics_and_plots(tmp_path):
    wd = make_workdir(tmp_path / "wf")
    seed_upstream(wd)
    run_snakemake(wd, *RULES, "--", *TARGETS)
    m = json.loads((wd / "results/metrics/text2expr.json").read_text())
    assert m["gallery_size"] >= 5 and 1 <= m["distinct_expressions_in_gallery"] <= m["gallery_size"]
    assert "within" in m["correct_rule"] and m["tolerance"] == 0.02
    for direction in ("text_to_expression", "expression_to_text"):
        r = m["model"][direction]
        assert 0 <= r["R@1"] <= r["R@5"] <= r["R@10"] <= 1
        assert 1 <= r["median_rank"] <= m["gallery_size"]
        assert 0 < r["chance_R@1"] <= 1
    assert {"all", "eyes", "jaw", "mouth", "brows", "upper_face"} <= set(m["model"]["cross_modal"])
    assert 0 <= m["model"]["cross_modal"]["all"]["mse"] <= 1
    assert 0 <= m["model"]["reconstruction"]["all"]["mse"] <= 1
    assert len(m["model"]["cross_modal_channel_mae"]) == 52
    assert 0 <= m["model"]["emotion_accuracy"]["text_latent"] <= 1
    assert {"training_mean", "emotion_mean_oracle", "loss_positive_cosine",
            "majority_emotion_accuracy"} <= set(m["baselines"])
    assert m["data"]["train_strings"] > m["data"]["train_texts"]  # views and augmented variants
    history = pd.read_csv(wd / "results/models/text2expr/history.csv")
    assert len(history) == m["epochs_run"] and history["best"].sum() == 1
    model, config = load_model(wd / "results/models/text2expr")
    assert config["encoder"]["kind"] == "minilm" and config["model"]["text_dim"] == 384
    cache = list((wd / ".cache/text_embeddings").glob("*/embeddings.parquet"))
    assert len(cache) == 1
    for png in ("loss", "joint_map", "channel_errors"):
        assert (wd / f"results/plots/text2expr_{png}.png").stat().st_size > 10_000
    # params hold only what changes a rule's outputs (rules/text2expr.smk, T2E_SPEED_ONLY)
    assert scheduled(wd, "text2expr: {plots: {perplexity: 5}}") == {"text2expr_plots"}
    assert scheduled(wd, "text2expr: {train: {threads: 2}, encoder: {batch_size: 8, threads: 2}}") == set()
    # the rule reserves the encoder's threads when it wants more than training (capped by --cores)
    assert train_threads(wd, "text2expr: {}") == 1
    assert train_threads(wd, "text2expr: {encoder: {threads: 8}}") == 2
    assert scheduled(wd, "text2expr: {train: {lr: 0.002}}") == {"text2expr_train", "text2expr_plots"}
    # another encoder precision is another embedding: it re-trains (and has its own cache)
    assert scheduled(wd, "text2expr: {encoder: {precision: bf16}}") == {"text2expr_train",
                                                                        "text2expr_plots"}
