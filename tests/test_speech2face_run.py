"""The speech2face stage on captured data: a small 3D-ETF-layout dataset we synthesise (espeak
audio, procedural curves in EmoTalk's alphabetical order), trained and scored end to end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from blendtalk.arkit import to_layout
from blendtalk.config import validate_config
from blendtalk.models.speech2face_run import evaluate_on_corpus, train_on_corpus
from blendtalk.render.reference_head import build_reference_head
from blendtalk.speech.stage import animate_speech, synthesize

LINES = ["Maybe we should buy some bread.", "Please bring the blue map back.",
         "Who moved my old boat?", "Five very fine violins.", "We met by the pool at noon.",
         "Bob may pay the bill.", "Move over, Mom!", "Fetch the big brown bag."]


@pytest.fixture(scope="module")
def etf_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("etf") / "RAVDESS"
    (root / "blendshape").mkdir(parents=True)
    (root / "audio").mkdir()
    for i, line in enumerate(LINES * 2):
        spoken = synthesize(line, "espeak:en-us" if i < len(LINES) else "espeak:en-gb+m3")
        curves = animate_speech(spoken.audio, spoken.phones, None, 1.0, False, seed=i)
        np.save(root / "blendshape" / f"take{i:02d}.npy", to_layout(curves, "alphabetical"))
        sf.write(root / "audio" / f"take{i:02d}.wav", spoken.audio, 16000)
    return root.parent


def test_captured_dataset_trains_and_scores(etf_root, tmp_path):
    settings = validate_config({"speech2face": {
        "data": {"source": "3detf", "root": str(etf_root), "splits": {"train": 0.6, "val": 0.2, "test": 0.2}},
        "model": {"d_model": 32, "layers": 1, "heads": 2},
        "train": {"epochs": 40, "patience": 40, "batch_size": 8}}})["speech2face"]
    history = train_on_corpus("unused.parquet", tmp_path, tmp_path, settings, 0, tmp_path / "model",
                              tmp_path / "cache")
    assert history["train_face"].iloc[-1] < history["train_face"].iloc[0]
    report, curves = evaluate_on_corpus(tmp_path / "model", "unused.parquet", tmp_path, tmp_path,
                                        build_reference_head(), tmp_path / "cache", 0)
    assert report["data"] == "3detf" and report["test_clips"] == len(curves) >= 1
    assert {"procedural", "mean_pose", "model"} <= set(report)
    assert "model_no_style" not in report and "style_from_voice" not in report  # no styles
    for variant in ("procedural", "mean_pose", "model"):
        assert all(np.isfinite(report[variant][k]) for k in ("lve", "fdd", "mod", "mve", "jitter"))
    assert report["mean_pose"]["jitter"] == 0.0 < report["model"]["jitter"]
    # the procedural baseline runs on phone-loop alignments of the audio, not the targets' phones
    assert report["procedural"]["lve"] > 0
