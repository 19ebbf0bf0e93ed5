"""The speech stage's steps: style faces, takes from any recording, lip-sync scores, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from blendtalk.arkit import ARKIT_NAMES, INDEX
from blendtalk.blendshapes.mapping import load_mapping
from blendtalk.cli import main
from blendtalk.speech.align import align
from blendtalk.speech.audio import load_audio, resample
from blendtalk.speech.stage import (animate_speech, closed_threshold, lipsync_scores,
                                    prototype_expressions, style_face, style_row, synthesize)
from blendtalk.speech.styles import load_styles

pytest.importorskip("pocketsphinx")
STYLES = load_styles("resources/speech/styles.csv")
SCALE = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
LINE = "Maybe we should buy some bread before the shop closes."


@pytest.fixture(scope="module")
def spoken():
    return synthesize(LINE, "espeak:en-us", STYLES.set_index("style_id").loc["joy_mild"])


def test_style_rows_follow_the_table_then_the_words():
    assert style_row("furious, shouting", STYLES)["style_id"] == "anger_strong"
    assert style_row("she is so happy and delighted", STYLES)["emotion"] == "joy"
    assert style_row(None, STYLES)["emotion"] == "neutral"


def test_prototype_faces_follow_emfacs(tmp_path):
    joy, sad = prototype_expressions(["joy", "sadness"], load_mapping(), SCALE)
    assert joy[INDEX["mouthSmileLeft"]] > 0.4 > sad[INDEX["mouthSmileLeft"]]
    assert sad[INDEX["mouthFrownLeft"]] > 0.3 > joy[INDEX["mouthFrownLeft"]]
    # no trained model in the folder: the prototype of the emotion the words name
    face = style_face("elated, laughing with excitement", STYLES, tmp_path, load_mapping(), SCALE)
    np.testing.assert_array_equal(face, joy)
    assert style_face(None, STYLES, tmp_path, load_mapping(), SCALE) is None


def test_stereo_44k_and_mono_16k_of_the_same_speech_give_the_same_curves(spoken, tmp_path):
    mono = tmp_path / "mono.wav"
    stereo = tmp_path / "stereo.wav"
    sf.write(mono, spoken.audio, 16000, subtype="FLOAT")
    wide = resample(spoken.audio, 16000, 44100)
    sf.write(stereo, np.stack([wide, wide * 0.9], axis=1), 44100, subtype="PCM_16")
    curves = []
    for path in (mono, stereo):
        audio = load_audio(path)
        curves.append(animate_speech(audio, align(audio, LINE), None, 1.0, True, seed=0))
    assert curves[0].shape == curves[1].shape == (int(np.ceil(30 * spoken.duration_s)), 52)
    assert np.abs(curves[0] - curves[1]).mean() < 0.01
    jaw = INDEX["jawOpen"]
    assert np.corrcoef(curves[0][:, jaw], curves[1][:, jaw])[0, 1] > 0.95


def test_a_synthesised_take_closes_the_lips_on_the_rig(spoken):
    from blendtalk.render.reference_head import build_reference_head

    rig = build_reference_head()
    face = prototype_expressions(["joy"], load_mapping(), SCALE)[0]
    curves = animate_speech(spoken.audio, spoken.phones, face, 1.0, True, seed=0)
    scores = lipsync_scores(spoken.phones, curves, spoken.audio, rig.mouth_opening(rig.pose(curves)),
                            closed_threshold(rig))
    assert scores["bilabials"] >= 3  # maybe, buy, bread
    assert scores["closure_rate_rig"] == scores["closure_rate_curves"] == 1.0
    assert scores["openness_correlation"] > 0.3
    assert abs(scores["av_offset_frames"]) <= 3
    # the smile of the style survives speech
    assert curves[:, INDEX["mouthSmileLeft"]].mean() > 0.2


@pytest.mark.slow
def test_say_and_animate_write_takes(tmp_path, capsys):
    from blendtalk.livelink import read_livelink_csv
    from blendtalk.render.video import probe

    take, csv, wav = tmp_path / "take.mp4", tmp_path / "take.csv", tmp_path / "take.wav"
    assert main(["say", LINE, "--style", "whispering, ashamed", "-o", str(take), "--livelink", str(csv),
                 "--wav", str(wav), "--resolution", "64", "--model-dir", str(tmp_path),
                 "--engine", "procedural"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {take}" in out and " s of audio" in out
    seconds = sf.info(str(wav)).duration
    info = probe(take)
    assert info.has_audio and info.n_frames == int(np.ceil(30 * seconds))
    assert read_livelink_csv(csv).weights.shape == (info.n_frames, 52)
    parquet = tmp_path / "again.parquet"
    assert main(["animate", str(wav), "--text", LINE, "--parquet", str(parquet),
                 "--model-dir", str(tmp_path), "--engine", "procedural"]) == 0
    table = pd.read_parquet(parquet)
    assert list(table.columns) == ["frame", *ARKIT_NAMES] and len(table) == info.n_frames


def test_animate_with_a_trained_model_and_the_style_heard_in_the_voice(spoken, tmp_path, capsys):
    """A tiny speech2face model trained on the utterance itself drives `animate --engine model`."""
    from blendtalk.models.speech2face import Clip, Speech2FaceConfig, TrainConfig, save_model, train
    from blendtalk.speech.encoders import make_audio_encoder

    curves = animate_speech(spoken.audio, spoken.phones, None, 1.0, False, seed=0)
    features = make_audio_encoder("features").encode(spoken.audio, len(curves))
    style = np.ones(8, np.float32) / np.sqrt(8)
    clips = [Clip(features, curves, style, "a")]
    model, _ = train(clips, clips, Speech2FaceConfig(in_dim=features.shape[1], style_dim=8, d_model=32,
                                                     layers=1, ff=64, heads=2),
                     TrainConfig(epochs=120, batch_size=4, window=60, patience=120))
    save_model(model, tmp_path / "s2f", extra={"encoder": {"kind": "features"}})
    wav = tmp_path / "take.wav"
    sf.write(wav, spoken.audio, 16000)
    parquet = tmp_path / "model.parquet"
    assert main(["animate", str(wav), "--style", "auto", "--parquet", str(parquet),
                 "--s2f-dir", str(tmp_path / "s2f")]) == 0
    assert "(model engine)" in capsys.readouterr().out
    predicted = pd.read_parquet(parquet)[list(ARKIT_NAMES)].to_numpy()
    assert predicted.shape == curves.shape
    jaw = INDEX["jawOpen"]
    assert np.corrcoef(predicted[:, jaw], curves[:, jaw])[0, 1] > 0.5
    assert main(["animate", str(wav), "--engine", "model", "--s2f-dir", str(tmp_path / "none"),
                 "--livelink", str(tmp_path / "x.csv")]) == 1
    assert "no trained speech2face model" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["say", "  ", "--livelink", "x.csv"], "nothing to say"),
    (["say", "hi", "--style", "auto", "--engine", "procedural", "--livelink", "x.csv"], "needs the model engine"),
    (["say", "hello"], "nothing to write"),
    (["say", "hello", "--voice", "festival:kal", "--livelink", "x.csv"], "unknown voice backend"),
    (["animate", "missing.wav", "--livelink", "x.csv"], "no such file"),
])
def test_bad_takes_fail_in_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_corrupt_recording_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEnot really audio")
    assert main(["animate", str(bad), "--livelink", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "bad.wav" in err and "Traceback" not in err
