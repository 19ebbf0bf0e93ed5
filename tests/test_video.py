"""Video encoding, probing, captions, side-by-side, and sequence loading, checked on decoded
frames, frame counts, durations and streams."""

from __future__ import annotations

import wave

import numpy as np
import pandas as pd
import pytest

from blendtalk.arkit import ARKIT_NAMES, INDEX
from blendtalk.livelink import write_livelink_csv
from blendtalk.render.clips import render_video
from blendtalk.render.renderer import RenderSettings
from blendtalk.render.sequences import expression_envelope, load_sequence
from blendtalk.render.sphere_rig import build_sphere_rig
from blendtalk.render.video import VideoWriter, probe, read_frames, write_video


def sine_wav(path, seconds: float, rate: int = 16000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes((0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes())


def solid_frames(n: int, h: int = 64, w: int = 96) -> np.ndarray:
    """Frame t is one flat grey level, so decoding can be checked frame by frame."""
    levels = np.linspace(20, 235, n).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (n, h, w, 3)).copy()


def test_video_has_the_frames_duration_and_format(tmp_path):
    frames = solid_frames(45)
    path = tmp_path / "a.mp4"
    assert write_video(path, frames) == 45
    info = probe(path)
    assert (info.n_frames, info.width, info.height, info.fps) == (45, 96, 64, 30.0)
    assert info.duration_s == pytest.approx(1.5, abs=0.02)
    assert (info.codec, info.pix_fmt, info.has_audio) == ("h264", "yuv420p", False)
    decoded = read_frames(path)
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(int) - frames).mean(axis=(1, 2, 3)).max() < 3  # lossy but close
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_wav_is_muxed_as_an_audio_stream(tmp_path):
    sine_wav(tmp_path / "tone.wav", 2.0)
    path = tmp_path / "b.mp4"
    write_video(path, solid_frames(60), audio=tmp_path / "tone.wav")
    info = probe(path)
    assert info.has_audio and info.n_frames == 60
    assert info.duration_s == pytest.approx(2.0, abs=0.05)


def test_failed_writes_leave_no_file(tmp_path):
    path = tmp_path / "c.mp4"
    with pytest.raises(ValueError, match="even"):
        VideoWriter(path, 65, 64)
    with pytest.raises(ValueError, match="frame 1 is"):
        with VideoWriter(path, 96, 64) as video:
            video.write(solid_frames(1)[0])
            video.write(np.zeros((64, 96), np.uint8))
    with pytest.raises(RuntimeError):
        with VideoWriter(path, 96, 64):
            raise RuntimeError("interrupted")
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_rendered_clip_with_caption_and_comparison(tmp_path):
    rig = build_sphere_rig(3)
    settings = RenderSettings(width=96, height=96)
    jaw = np.zeros(52, np.float32)
    jaw[INDEX["jawOpen"]] = 1.0
    clip = expression_envelope(jaw, duration_s=1.0, fps=30, rest_s=0.1, ramp_s=0.3)
    plain, captioned, compared = tmp_path / "p.mp4", tmp_path / "c.mp4", tmp_path / "s.mp4"
    assert render_video(plain, rig, clip, settings) == 30
    render_video(captioned, rig, clip, settings, caption="Why would you do that?", emotions=["anger"])
    render_video(compared, rig, clip, settings, compare=np.zeros_like(clip))
    a, b, c = read_frames(plain), read_frames(captioned), read_frames(compared)
    assert a.shape == (30, 96, 96, 3) and c.shape == (30, 96, 192, 3)
    # the jaw opens and closes again: first and last frames neutral, the middle differs
    assert np.abs(a[0].astype(int) - a[-1]).mean() < 2
    assert np.abs(a[15].astype(int) - a[0]).mean() > 2
    # the caption band covers the bottom rows only
    assert np.abs(b[:, :40].astype(int) - a[:, :40]).mean() < 1.5
    assert np.abs(b[:, -12:].astype(int) - a[:, -12:]).mean() > 5
    # side by side: left is the sequence, right stays neutral
    assert np.abs(c[15, 20:, :96].astype(int) - a[15, 20:]).mean() < 2
    assert np.abs(c[15, 20:, 96:].astype(int) - a[0, 20:]).mean() < 2


def test_envelope_goes_neutral_expression_neutral():
    w = np.linspace(0, 1, 52).astype(np.float32)
    clip = expression_envelope(w)
    assert clip.shape == (60, 52) and clip.dtype == np.float32
    np.testing.assert_array_equal(clip[0], 0)
    np.testing.assert_array_equal(clip[-1], 0)
    np.testing.assert_array_equal(clip[30], w)
    strength = clip[:, -1]
    assert (np.diff(strength[:30]) >= 0).all() and (np.diff(strength[30:]) <= 0).all()
    np.testing.assert_allclose(strength, strength[::-1], atol=1e-6)  # symmetric


def test_sequences_load_from_npy_parquet_and_livelink_csv(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 1, (5, 52)).astype(np.float32)
    np.save(tmp_path / "s.npy", w)
    pd.DataFrame(w, columns=list(ARKIT_NAMES)).assign(frame=range(5)).to_parquet(tmp_path / "s.parquet")
    write_livelink_csv(tmp_path / "s.csv", w)
    np.testing.assert_array_equal(load_sequence(tmp_path / "s.npy"), w)
    np.testing.assert_array_equal(load_sequence(tmp_path / "s.parquet"), w)
    np.testing.assert_allclose(load_sequence(tmp_path / "s.csv"), w, atol=1e-6)


def test_bad_sequences_are_named(tmp_path):
    bad = np.zeros((4, 52))
    bad[2, INDEX["jawOpen"]] = 1.5
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match=r"bad.npy: row 2, column jawOpen: 1.5 is outside"):
        load_sequence(tmp_path / "bad.npy")
    pd.DataFrame(np.zeros((2, 51)), columns=list(ARKIT_NAMES[:51])).to_parquet(tmp_path / "m.parquet")
    with pytest.raises(ValueError, match=r"m.parquet: missing 1 ARKit column\(s\): tongueOut"):
        load_sequence(tmp_path / "m.parquet")
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="unsupported"):
        load_sequence(tmp_path / "x.txt")


def test_wrong_format_sequences_name_the_file_and_what_was_expected(tmp_path):
    (tmp_path / "face.csv").write_text("frame,jaw\n0,0.5\n")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    pd.DataFrame({"frame": [0, 1], "jaw": [0.1, 0.2]}).to_parquet(tmp_path / "other.parquet")
    (tmp_path / "text.parquet").write_text("not parquet")
    np.save(tmp_path / "wide.npy", np.zeros((3, 51)))
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 52)))
    np.save(tmp_path / "names.npy", np.array(["a"] * 52))
    (tmp_path / "text.npy").write_text("0 0 0")
    nan = np.zeros((4, 52))
    nan[3, INDEX["tongueOut"]] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    pd.DataFrame(nan, columns=list(ARKIT_NAMES)).to_parquet(tmp_path / "nan.parquet")
    cases = {
        "face.csv": r"face\.csv line 1: no Timecode column, so not a Live Link Face CSV",
        "binary.csv": r"binary\.csv: not UTF-8 text .*expected a Live Link Face CSV",
        "other.parquet": r"other\.parquet: missing 52 ARKit column\(s\): eyeBlinkLeft.*; expected one row per "
                         r"frame with the 52 ARKit-named columns",
        "text.parquet": r"text\.parquet: not a readable Parquet file",
        "wide.npy": r"wide\.npy: expected \(T, 52\) weights, got shape \(3, 51\)",
        "cube.npy": r"cube\.npy: expected \(T, 52\) weights, got shape \(2, 3, 52\)",
        "names.npy": r"names\.npy: <U1 array; expected \(T, 52\) numbers",
        "text.npy": r"text\.npy: not a NumPy \.npy array of numbers; expected a \(T, 52\) array",
        "nan.npy": r"nan\.npy: row 3, column tongueOut: nan is not finite",
        "nan.parquet": r"nan\.parquet: row 3, column tongueOut: nan is not finite",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            load_sequence(tmp_path / name)


def test_rendering_logs_frames_done_of_total(tmp_path, caplog):
    caplog.set_level("INFO", logger="blendtalk.progress")
    render_video(tmp_path / "p.mp4", build_sphere_rig(1), np.zeros((5, 52), np.float32),
                 RenderSettings(width=16, height=16))
    assert caplog.messages[-1].startswith("render p.mp4: 5/5 (100%), ")
    assert caplog.messages[-1].endswith(" s") and "frames/s" in caplog.messages[-1]
