"""Readers for captured speech + ARKit-52 data (issue 11): BEAT JSON, 3D-ETF .npy, Live Link
Face folders, pairing with audio and resampling to 30 fps. All files are synthetic, written
in each format's own layout and channel order."""

import json
import logging
import math
import re

import numpy as np
import pytest

from blendtalk.arkit import ARKIT_NAMES, INDEX, LAYOUTS, to_layout
from blendtalk.livelink import HEADER, write_livelink_csv
from blendtalk.speech.captured import (CapturedTake, discover, read_3detf_npy, read_beat_json,
                                       read_livelink_folder, resample_frames, scan)

# EmoTalk_release/render.py's `model_bsList`, typed out: the order of 3D-ETF's 52 columns.
EMOTALK_ORDER = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut")

BASE = (np.arange(52) + 1) / 120.0  # every canonical channel has its own offset


def _truth(t):
    """The known sequence: canonical channel c at time t (s) is BASE[c] + 0.2 t (linear, so
    interpolation reproduces it exactly)."""
    t = np.asarray(t, dtype=np.float64)
    return (BASE[None, :] + 0.2 * t[:, None]).astype(np.float32)


def _out_times(n):
    return np.arange(n) / 30.0


# --- resample_frames -------------------------------------------------------------------------

@pytest.mark.parametrize("n_in, fps_in", [(61, 60), (60, 60), (1, 60), (26, 25), (7, 24), (90, 30),
                                          (3, 59.94)])
def test_resample_gives_ceil_30_duration_frames(n_in, fps_in):
    out = resample_frames(_truth(np.arange(n_in) / fps_in), fps_in)
    assert out.shape == (math.ceil(30 * n_in / fps_in - 1e-9), 52)
    assert out.dtype == np.float32


def test_resample_values_and_stamps_agree_with_rate():
    t_in = np.arange(61) / 60
    by_rate = resample_frames(_truth(t_in), 60)
    by_stamps = resample_frames(_truth(t_in), t_in + 100.0)  # stamps need not start at 0
    np.testing.assert_allclose(by_rate, by_stamps, atol=1e-6)
    np.testing.assert_allclose(by_rate, _truth(_out_times(31)), atol=1e-6)
    # 60 -> 30 on a regular clock is "every other frame", exactly.
    np.testing.assert_array_equal(by_rate, _truth(t_in)[::2])
    same = _truth(np.arange(9) / 30)
    np.testing.assert_array_equal(resample_frames(same, 30), same)


def test_resample_non_integer_ratio_holds_last_value():
    t_in = np.arange(26) / 25  # 1.04 s at 25 fps -> 32 frames at 30 fps
    out = resample_frames(_truth(t_in), 25)
    assert out.shape == (32, 52)
    t_out = np.minimum(_out_times(32), t_in[-1])
    np.testing.assert_allclose(out, _truth(t_out), atol=1e-6)


def test_resample_rejects_bad_stamps():
    with pytest.raises(ValueError, match="clip.wav: frame 2: .* not after"):
        resample_frames(np.zeros((3, 52)), [0.0, 0.1, 0.1], what="clip.wav")
    with pytest.raises(ValueError, match="not finite"):
        resample_frames(np.zeros((2, 52)), [0.0, float("nan")])
    with pytest.raises(ValueError, match="time stamps for 3 frames"):
        resample_frames(np.zeros((3, 52)), [0.0, 0.1])
    with pytest.raises(ValueError, match="fps must be positive"):
        resample_frames(np.zeros((3, 52)), 0)


# --- BEAT ------------------------------------------------------------------------------------

def _lc(name):
    return name[0].lower() + name[1:]


def _beat_file(path, names, t_in, weights_canonical=None, time=True, **overrides):
    """A BEAT facial JSON: {"names": [...], "frames": [{"weights": [...], "time": t}]} with the
    columns in the order of `names`."""
    values = _truth(t_in) if weights_canonical is None else weights_canonical
    frames = []
    for t, row in zip(t_in, values):
        frame = {"weights": [float(row[INDEX[_lc(n)]]) if _lc(n) in INDEX else 0.5 for n in names]}
        if time:
            frame["time"] = float(t)
        frames.append(frame)
    data = {"names": list(names), "frames": frames, **overrides}
    path.write_text(json.dumps(data))
    return path


def test_beat_round_trip_by_name_with_shuffled_channels(tmp_path):
    names = list(np.random.default_rng(3).permutation(ARKIT_NAMES))
    t_in = 12.5 + np.arange(61) / 60  # BEAT stamps are seconds; need not start at 0
    path = _beat_file(tmp_path / "1_wayne_0_1_1.json", names, t_in, _truth(t_in - 12.5))
    out = read_beat_json(path)
    assert out.shape == (math.ceil(30 * 61 / 60), 52) == (31, 52)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _truth(_out_times(31)), atol=1e-6)


def test_beat_real_layout_alphabetical_without_stamps_is_60fps(tmp_path):
    path = _beat_file(tmp_path / "a.json", LAYOUTS["alphabetical"], np.arange(120) / 60, time=False)
    out = read_beat_json(path)
    assert out.shape == (60, 52)
    np.testing.assert_allclose(out, _truth(_out_times(60)), atol=1e-6)
    assert out[0, INDEX["jawOpen"]] == pytest.approx(BASE[INDEX["jawOpen"]])


def test_beat_dropped_frames_are_bridged_by_time_stamps(tmp_path):
    t_in = np.delete(np.arange(61) / 60, [10, 11, 12])  # three frames lost mid-take
    out = read_beat_json(_beat_file(tmp_path / "a.json", ARKIT_NAMES, t_in))
    assert out.shape == (31, 52)
    np.testing.assert_allclose(out, _truth(_out_times(31)), atol=1e-6)


def test_beat_without_tongue_out_is_zero_with_warning(tmp_path, caplog):
    names = [n for n in LAYOUTS["alphabetical"] if n != "tongueOut"]
    with caplog.at_level(logging.WARNING):
        out = read_beat_json(_beat_file(tmp_path / "a.json", names, np.arange(4) / 60))
    assert np.all(out[:, INDEX["tongueOut"]] == 0)
    assert out[0, INDEX["noseSneerRight"]] == pytest.approx(BASE[INDEX["noseSneerRight"]])
    assert "tongueOut" in caplog.text and "a.json" in caplog.text


def test_beat_capitalised_and_extra_names_are_matched_by_name(tmp_path, caplog):
    names = [n[0].upper() + n[1:] for n in ARKIT_NAMES] + ["HeadYaw"]
    with caplog.at_level(logging.WARNING):
        out = read_beat_json(_beat_file(tmp_path / "a.json", names, np.arange(4) / 60))
    np.testing.assert_allclose(out, _truth(_out_times(2)), atol=1e-6)
    assert "HeadYaw" in caplog.text


def _malformed_beat(tmp_path, kind):
    path = tmp_path / f"{kind}.json"
    names = list(LAYOUTS["alphabetical"])
    t_in = np.arange(6) / 60
    if kind == "missing":
        _beat_file(path, [n for n in names if n not in ("jawOpen", "mouthClose")], t_in)
    elif kind == "misspelt":
        _beat_file(path, [("jawOpn" if n == "jawOpen" else n) for n in names], t_in)
    elif kind == "duplicate":
        _beat_file(path, names + ["jawOpen"], t_in)
    elif kind == "ragged":
        _beat_file(path, names, t_in)
        data = json.loads(path.read_text())
        data["frames"][3]["weights"].pop()
        path.write_text(json.dumps(data))
    elif kind == "nan":
        weights = _truth(t_in)
        weights[2, INDEX["mouthPucker"]] = np.nan
        _beat_file(path, names, t_in, weights)  # json.dumps writes NaN, json.load reads it
    elif kind == "stamps":
        _beat_file(path, names, np.array([0, 1, 2, 2, 4, 5]) / 60)
    elif kind == "some_stamps":
        _beat_file(path, names, t_in)
        data = json.loads(path.read_text())
        del data["frames"][4]["time"]
        path.write_text(json.dumps(data))
    elif kind == "not_json":
        path.write_text("names, frames\n1, 2\n")
    elif kind == "wrong_shape":
        path.write_text(json.dumps([[0.1] * 52]))
    elif kind == "empty":
        _beat_file(path, names, np.zeros(0))
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", r"missing ARKit channel\(s\) \['jawOpen', 'mouthClose'\]"),
    ("misspelt", r"missing ARKit channel\(s\) \['jawOpen'\]; unknown names in the file: \['jawOpn'\]"),
    ("duplicate", "channel 'jawOpen' appears twice"),
    ("ragged", "frame 3 has 51 weights but \"names\" has 52"),
    ("nan", "frame 2, channel mouthPucker: nan is not finite"),
    ("stamps", "frame 3: .* not after"),
    ("some_stamps", "frame 4 lacks a \"time\" stamp"),
    ("not_json", "not a BEAT facial JSON file"),
    ("wrong_shape", "expected a BEAT facial JSON object"),
    ("empty", "no frames"),
])
def test_beat_malformed_files_name_the_file(tmp_path, kind, message):
    path = _malformed_beat(tmp_path, kind)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        read_beat_json(path)


# --- 3D-ETF ----------------------------------------------------------------------------------

def test_emotalk_order_is_the_alphabetical_layout():
    assert LAYOUTS["alphabetical"] == EMOTALK_ORDER


def test_3detf_round_trip_by_name(tmp_path):
    truth = _truth(np.arange(45) / 30)
    path = tmp_path / "01-01-05-01-01-01-01.npy"
    np.save(path, to_layout(truth, "alphabetical"))
    out = read_3detf_npy(path)
    np.testing.assert_array_equal(out, truth)
    # EmoTalk's column 24 is jawOpen; 8 and 9 are the blinks its demo overwrites.
    one = np.zeros((1, 52), np.float32)
    one[0, 24], one[0, 8], one[0, 9] = 0.7, 0.3, 0.4
    np.save(path, one)
    out = read_3detf_npy(path)
    assert out[0, INDEX["jawOpen"]] == pytest.approx(0.7)
    assert out[0, INDEX["eyeBlinkLeft"]] == pytest.approx(0.3)
    assert out[0, INDEX["eyeBlinkRight"]] == pytest.approx(0.4)
    assert np.count_nonzero(out) == 3


def test_3detf_clips_and_counts_out_of_range_values(tmp_path, caplog):
    values = to_layout(_truth(np.arange(10) / 30), "alphabetical")
    values[3, EMOTALK_ORDER.index("jawOpen")] = -0.02
    values[5, EMOTALK_ORDER.index("mouthClose")] = 1.03
    values[6, EMOTALK_ORDER.index("mouthClose")] = 1.01
    path = tmp_path / "x.npy"
    np.save(path, values.astype(np.float64))
    with caplog.at_level(logging.INFO):
        out = read_3detf_npy(path)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert out[3, INDEX["jawOpen"]] == 0 and out[5, INDEX["mouthClose"]] == 1
    assert "clipped 3 of 520 values" in caplog.text and "x.npy" in caplog.text


def test_3detf_other_frame_rate_is_resampled(tmp_path):
    t_in = np.arange(26) / 25
    path = tmp_path / "x.npy"
    np.save(path, to_layout(_truth(t_in), "alphabetical"))
    out = read_3detf_npy(path, fps=25)
    assert out.shape == (32, 52)
    np.testing.assert_allclose(out, _truth(np.minimum(_out_times(32), t_in[-1])), atol=1e-6)


@pytest.mark.parametrize("kind, message", [
    ("width", r"expected \(T, 52\) .* got shape \(5, 51\)"),
    ("ndim", r"got shape \(52,\)"),
    ("nan", "row 1, channel cheekPuff: nan is not finite"),
    ("text", "not a readable .npy array"),
    ("objects", "not a readable .npy array"),
    ("strings", "expected a numeric"),
    ("empty", r"got shape \(0, 52\)"),
])
def test_3detf_malformed_files_name_the_file(tmp_path, kind, message):
    path = tmp_path / f"{kind}.npy"
    if kind == "width":
        np.save(path, np.zeros((5, 51)))
    elif kind == "ndim":
        np.save(path, np.zeros(52))
    elif kind == "nan":
        x = np.zeros((3, 52))
        x[1, EMOTALK_ORDER.index("cheekPuff")] = np.nan
        np.save(path, x)
    elif kind == "text":
        path.write_text("0.1 0.2\n")
    elif kind == "objects":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif kind == "strings":
        np.save(path, np.full((2, 52), "x"))
    elif kind == "empty":
        np.save(path, np.zeros((0, 52)))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        read_3detf_npy(path)


# --- Live Link Face --------------------------------------------------------------------------

def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")  # pairing goes by name; the audio is never opened here
    return path


def _livelink_session(tmp_path):
    """An iPhone capture session: one folder per take, as Live Link Face exports them."""
    root = tmp_path / "session"
    a = root / "20240501_Slate_1"
    a.mkdir(parents=True)
    t60 = np.arange(61) / 60
    # Take A: 60 fps, timecodes from the phone's clock (10:00:00:17 onwards), with a wav.
    write_livelink_csv(a / "Slate_1.csv", _truth(t60), fps=60, start_frame=60 * 36000 + 17)
    write_livelink_csv(a / "Slate_1_cal.csv", np.zeros((1, 52), np.float32), fps=60)
    _touch(a / "Slate_1.wav")
    _touch(a / "Slate_1.mov")
    # Take B: 30 fps, the .mov only (upper-case suffix, as some copies have).
    b = root / "20240501_Slate_2"
    b.mkdir()
    write_livelink_csv(b / "Slate_2.csv", _truth(np.arange(40) / 30), fps=30, start_frame=95)
    _touch(b / "Slate_2.MOV")
    # Take C: no audio at all; D: audio without a take.
    write_livelink_csv(root / "Slate_3.csv", _truth(np.arange(5) / 30), fps=30)
    _touch(root / "Slate_4.wav")
    return root


def test_livelink_folder_pairs_takes_by_name(tmp_path, caplog):
    root = _livelink_session(tmp_path)
    found = scan(root, "livelink")
    assert [p.name for p in found.unpaired_animations] == ["Slate_3.csv"]
    assert [p.name for p in found.unpaired_audio] == ["Slate_4.wav"]
    assert [p.name for p in found.ignored] == ["Slate_1_cal.csv"]
    with caplog.at_level(logging.WARNING):
        takes = read_livelink_folder(root)
    assert "1 livelink animation(s) without audio left out: Slate_3.csv" in caplog.text
    assert "1 audio file(s) without livelink animation: Slate_4.wav" in caplog.text
    assert [t.name for t in takes] == ["Slate_1", "Slate_2"]
    a, b = takes
    assert isinstance(a, CapturedTake) and a.source == "livelink"
    assert a.audio_path.name == "Slate_1.wav" and b.audio_path.name == "Slate_2.MOV"
    assert a.fps_in == pytest.approx(60) and b.fps_in == pytest.approx(30)
    assert a.weights.shape == (31, 52) and a.weights.dtype == np.float32
    np.testing.assert_allclose(a.weights, _truth(_out_times(31)), atol=1e-6)
    np.testing.assert_allclose(b.weights, _truth(np.arange(40) / 30), atol=1e-6)
    everything = read_livelink_folder(root, require_audio=False)
    assert [(t.name, t.audio_path) for t in everything][2] == ("Slate_3", None)


def test_livelink_60fps_take_with_30fps_timecode_subframes(tmp_path):
    """The app can stamp a 60 fps capture with a 30 fps timecode: frames .000 and .500."""
    truth = _truth(np.arange(70) / 60)
    lines = [",".join(HEADER)]
    for i, row in enumerate(truth):
        frame = 15 + i // 2
        lines.append(f"00:00:{frame // 30:02d}:{frame % 30:02d}.{500 * (i % 2):03d},61,"
                     + ",".join(map(str, row)) + ",0" * 9)
    (tmp_path / "take.csv").write_text("\n".join(lines) + "\n")
    _touch(tmp_path / "take.wav")
    (take,) = read_livelink_folder(tmp_path)
    assert take.fps_in == pytest.approx(60)
    assert take.weights.shape == (35, 52)
    np.testing.assert_allclose(take.weights, _truth(_out_times(35)), atol=1e-6)


def test_livelink_malformed_take_names_the_file(tmp_path, caplog):
    write_livelink_csv(tmp_path / "good.csv", _truth(np.arange(40) / 30))
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + "\n00:00:00:00.000,61,0.1\n")
    for name in ("good.wav", "bad.wav"):
        _touch(tmp_path / name)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + " line 2: expected 63 fields"):
        read_livelink_folder(tmp_path)
    with caplog.at_level(logging.WARNING):
        takes = read_livelink_folder(tmp_path, skip_bad=True)
    assert [t.name for t in takes] == ["good"]
    assert "skipped 1 malformed livelink file(s)" in caplog.text


def test_livelink_repeated_timecode_names_the_file(tmp_path):
    path = tmp_path / "take.csv"
    write_livelink_csv(path, _truth(np.arange(40) / 30))
    lines = path.read_text().splitlines()
    lines[5] = lines[4].split(",", 1)[0] + "," + lines[5].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    _touch(tmp_path / "take.wav")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*frame 4: .* not after"):
        read_livelink_folder(tmp_path)


# --- discover: BEAT and 3D-ETF dataset layouts -----------------------------------------------

def test_discover_beat_layout_counts_unpaired(tmp_path, caplog):
    root = tmp_path / "beat_english_v0.2.1"
    for speaker, stem, wav in (("1", "1_wayne_0_1_1", True), ("1", "1_wayne_0_2_2", True),
                               ("2", "2_scott_0_1_1", False)):
        (root / speaker).mkdir(parents=True, exist_ok=True)
        _beat_file(root / speaker / f"{stem}.json", LAYOUTS["alphabetical"], np.arange(61) / 60)
        if wav:
            _touch(root / speaker / f"{stem}.wav")
    _touch(root / "2" / "2_scott_0_9_9.wav")
    found = scan(root, "beat")
    assert len(found.pairs) == 3
    assert [p.name for p in found.unpaired_animations] == ["2_scott_0_1_1.json"]
    assert [p.name for p in found.unpaired_audio] == ["2_scott_0_9_9.wav"]
    with caplog.at_level(logging.WARNING):
        takes = discover(root, "beat")
    assert [t.name for t in takes] == ["1_wayne_0_1_1", "1_wayne_0_2_2"]
    assert "1 beat animation(s) without audio" in caplog.text
    assert "1 audio file(s) without beat animation" in caplog.text
    for t in takes:
        assert t.source == "beat" and t.fps_in == pytest.approx(60)
        assert t.audio_path == t.path.with_suffix(".wav")
        np.testing.assert_allclose(t.weights, _truth(_out_times(31)), atol=1e-6)
    assert len(discover(root, "beat", require_audio=False)) == 3


def test_discover_beat_malformed_file_raises_or_is_skipped(tmp_path, caplog):
    _beat_file(tmp_path / "ok.json", ARKIT_NAMES, np.arange(4) / 60)
    bad = _malformed_beat(tmp_path, "ragged")
    for p in (tmp_path / "ok.wav", bad.with_suffix(".wav")):
        _touch(p)
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        discover(tmp_path, "beat")
    with caplog.at_level(logging.WARNING):
        assert [t.name for t in discover(tmp_path, "beat", skip_bad=True)] == ["ok"]
    assert "skipped 1 malformed beat file(s)" in caplog.text and "ragged.json" in caplog.text


def test_discover_3detf_release_layout(tmp_path):
    root = tmp_path / "3D-ETF"
    truth = _truth(np.arange(30) / 30)
    for subset, stem, audio in (("RAVDESS", "01-01-05-01-01-01-01", "audio"),
                                ("HDTF", "WDA_BobbyScott_000", None),
                                ("HDTF", "WDA_Other_001", "audio")):
        (root / subset / "blendshape").mkdir(parents=True, exist_ok=True)
        np.save(root / subset / "blendshape" / f"{stem}.npy", to_layout(truth, "alphabetical"))
        if audio:
            _touch(root / subset / audio / f"{stem}.wav")
    _touch(root / "HDTF" / "audio" / "WRA_Lonely_002.wav")
    np.save(root / "beside.npy", to_layout(truth, "alphabetical"))  # wav beside the npy
    _touch(root / "beside.wav")
    found = scan(root, "3detf")
    assert [p.name for p in found.unpaired_animations] == ["WDA_BobbyScott_000.npy"]
    assert [p.name for p in found.unpaired_audio] == ["WRA_Lonely_002.wav"]
    takes = discover(root, "3detf")
    assert sorted(t.name for t in takes) == ["01-01-05-01-01-01-01", "WDA_Other_001", "beside"]
    for t in takes:
        assert t.source == "3detf" and t.fps_in == 30 and t.audio_path.stem == t.name
        np.testing.assert_array_equal(t.weights, truth)


def test_discover_rejects_unknown_format_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match="unknown capture format 'bvh'"):
        discover(tmp_path, "bvh")
    with pytest.raises(ValueError, match="nowhere: not a folder"):
        discover(tmp_path / "nowhere", "beat")


def test_livelink_short_take_timecode_rate_can_be_given(tmp_path, caplog):
    """A take inside one second cannot show its timecode rate: 30 is assumed (logged) unless
    `timecode_fps` says otherwise."""
    truth = _truth(np.arange(20) / 60)
    write_livelink_csv(tmp_path / "short.csv", truth, fps=60, start_frame=2)
    _touch(tmp_path / "short.wav")
    with caplog.at_level(logging.WARNING):
        (assumed,) = read_livelink_folder(tmp_path)
    assert "assuming 30 fps" in caplog.text and assumed.fps_in == pytest.approx(30)
    (given,) = read_livelink_folder(tmp_path, timecode_fps=60)
    assert given.fps_in == pytest.approx(60) and given.weights.shape == (10, 52)
    np.testing.assert_allclose(given.weights, _truth(_out_times(10)), atol=1e-6)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "short.csv")) + ".*not below 12"):
        read_livelink_folder(tmp_path, timecode_fps=12)
