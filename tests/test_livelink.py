"""Live Link Face CSV writer and reader (issue 4, item 2)."""

import numpy as np
import pytest

from blendtalk.arkit import ARKIT_NAMES, INDEX
from blendtalk.livelink import (HEADER, POSE_COLUMNS, parse_timecode, read_livelink_csv, timecode,
                                write_livelink_csv)

# The header exactly as the Live Link Face app writes it (typed out by hand, not generated).
APP_CURVES = """EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,EyeLookUpLeft,EyeSquintLeft,\
EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,EyeLookOutRight,EyeLookUpRight,\
EyeSquintRight,EyeWideRight,JawForward,JawLeft,JawRight,JawOpen,MouthClose,MouthFunnel,MouthPucker,\
MouthLeft,MouthRight,MouthSmileLeft,MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,\
MouthDimpleRight,MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,\
MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,\
MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,\
BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,TongueOut"""
APP_POSE = "HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"


def _row(tc, curves, pose=None, count=61):
    parts = [tc, str(count)] + [f"{v}" for v in curves] + ([f"{v}" for v in pose] if pose else [])
    return ",".join(parts)


def _app_file(tmp_path, lines, name="take.csv", newline="\r\n"):
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def _curves(**named):
    values = [0.0] * 52
    for name, v in named.items():
        values[INDEX[name]] = v
    return values


def test_timecode_format():
    assert timecode(0) == "00:00:00:00.000"
    assert timecode(29) == "00:00:00:29.000"
    assert timecode(30) == "00:00:01:00.000"
    assert timecode(30 * 3661 + 7) == "01:01:01:07.000"
    assert timecode(125, fps=60) == "00:00:02:05.000"
    assert timecode(30, fps=29.97) == "00:00:01:00.030"  # NTSC: frame 30 is 0.03 frames past 1 s
    assert parse_timecode("00:00:01:15.000", 30) == pytest.approx(1.5)
    for fps in (24, 30, 60, 29.97):
        for frame in (0, 1, 59, 1000, 123457):
            assert parse_timecode(timecode(frame, fps), fps) * fps == pytest.approx(frame, abs=1e-3)
    with pytest.raises(ValueError, match="not below"):
        parse_timecode("00:00:00:45.000", 30)
    with pytest.raises(ValueError, match="HH:MM:SS:FF"):
        parse_timecode("0:00:00", 30)


def test_written_file_reads_back_identically(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.random((90, 52)).astype(np.float32)
    weights[0] = 0.0
    weights[1] = 1.0
    pose = rng.normal(scale=0.3, size=(90, 9)).astype(np.float32)
    path = tmp_path / "ours.csv"
    write_livelink_csv(path, weights, fps=60, pose=pose, start_frame=120)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(HEADER) and len(HEADER) == 63
    assert lines[1].startswith("00:00:02:00.000,61,")
    clip = read_livelink_csv(path)
    assert np.array_equal(clip.weights, weights) and clip.weights.dtype == np.float32
    assert np.array_equal(clip.pose, pose)
    assert clip.timecodes[-1] == timecode(120 + 89, 60)
    assert np.all(clip.blendshape_count == 61)
    assert clip.missing == () and clip.extra == ()
    # Rewriting what was read gives the same bytes.
    again = tmp_path / "again.csv"
    write_livelink_csv(again, clip.weights, fps=60, pose=clip.pose, start_frame=120)
    assert again.read_bytes() == path.read_bytes()


def test_writer_rejects_bad_weights(tmp_path):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_livelink_csv(tmp_path / "x.csv", np.full((2, 52), 1.5))
    with pytest.raises(ValueError, match=r"\(T, 52\)"):
        write_livelink_csv(tmp_path / "x.csv", np.zeros((2, 51)))
    assert not (tmp_path / "x.csv").exists()


def test_reads_hand_written_app_file(tmp_path):
    header = "Timecode,BlendShapeCount," + APP_CURVES + "," + APP_POSE
    pose = [0.0123, -0.2, 0.05, 0.1, -0.03, 0.0, 0.09, -0.031, 0.0]
    lines = [header,
             _row("14:21:16:47.683", _curves(jawOpen=0.51378125, mouthSmileLeft=0.0672), pose),
             _row("14:21:16:48.683", _curves(eyeBlinkLeft=0.92, eyeBlinkRight=0.9, tongueOut=0.25), pose)]
    clip = read_livelink_csv(_app_file(tmp_path, lines))
    assert clip.weights.shape == (2, 52) and clip.pose.shape == (2, 9)
    assert clip.weights[0, INDEX["jawOpen"]] == np.float32(0.51378125)
    assert clip.weights[0, INDEX["mouthSmileLeft"]] == np.float32(0.0672)
    assert clip.weights[0].sum() == pytest.approx(0.51378125 + 0.0672)
    assert clip.weights[1, INDEX["eyeBlinkLeft"]] == np.float32(0.92)
    assert clip.weights[1, INDEX["tongueOut"]] == np.float32(0.25)
    assert clip.pose[0, POSE_COLUMNS.index("HeadPitch")] == np.float32(-0.2)
    assert clip.timecodes == ("14:21:16:47.683", "14:21:16:48.683")
    assert parse_timecode(clip.timecodes[0], 60) == pytest.approx(14 * 3600 + 21 * 60 + 16 + 47.683 / 60)


def test_reads_51_curves_without_pose_and_extra_columns(tmp_path):
    curves = APP_CURVES.replace(",TongueOut", "")
    header = "Timecode,BlendShapeCount," + curves + ",Comment"
    row = _row("00:00:00:03.000", _curves(browInnerUp=0.7)[:51], count=51) + ",take one"
    clip = read_livelink_csv(_app_file(tmp_path, [header, row, ""], newline="\n"))
    assert clip.weights.shape == (1, 52)
    assert clip.weights[0, INDEX["browInnerUp"]] == np.float32(0.7)
    assert clip.weights[0, INDEX["tongueOut"]] == 0
    assert clip.missing == ("TongueOut",) + POSE_COLUMNS
    assert clip.extra == ("Comment",)
    assert np.all(clip.pose == 0) and clip.blendshape_count.tolist() == [51]


def test_reads_by_name_in_any_order_and_some_pose_columns(tmp_path):
    names = ["HeadYaw", "Timecode"] + APP_CURVES.split(",")[::-1]
    values = {"HeadYaw": "0.5", "Timecode": "00:00:01:02.000"}
    values.update({n: "0" for n in APP_CURVES.split(",")})
    values["MouthFrownRight"] = "0.33"
    path = _app_file(tmp_path, [",".join(names), ",".join(values[n] for n in names)])
    clip = read_livelink_csv(path)
    assert clip.weights[0, INDEX["mouthFrownRight"]] == np.float32(0.33)
    assert clip.weights[0].sum() == pytest.approx(0.33)
    assert clip.pose[0, 0] == 0.5
    assert "BlendShapeCount" in clip.missing and "HeadYaw" not in clip.missing
    assert clip.blendshape_count.tolist() == [53]  # counted from the columns present


@pytest.mark.parametrize("bad_row, line, message", [
    (lambda good: good.replace("0.25", "abc", 1), 3, "column JawOpen: 'abc' is not a number"),
    (lambda good: good + ",0.1", 3, "expected 63 fields"),
    (lambda good: good.replace("00:00:00:01.000", "00:00:01.000"), 3, "column Timecode"),
    (lambda good: good.replace("0.25", "1.5", 1), 3, r"column JawOpen: '1.5' is not a number in \[0, 1\]"),
    (lambda good: good.replace(",61,", ",sixty-one,"), 3, "column BlendShapeCount"),
])
def test_malformed_line_names_first_bad_line(tmp_path, bad_row, line, message):
    header = "Timecode,BlendShapeCount," + APP_CURVES + "," + APP_POSE
    good0 = _row("00:00:00:00.000", _curves(jawOpen=0.25), [0.0] * 9)
    good1 = _row("00:00:00:01.000", _curves(jawOpen=0.25), [0.0] * 9)
    bad = bad_row(good1)
    path = _app_file(tmp_path, [header, good0, bad, bad])
    with pytest.raises(ValueError, match=rf"take\.csv line {line}, .*{message}|take\.csv line {line}: .*{message}"):
        read_livelink_csv(path)


def test_header_errors(tmp_path):
    no_tc = "BlendShapeCount," + APP_CURVES
    with pytest.raises(ValueError, match="line 1: no Timecode"):
        read_livelink_csv(_app_file(tmp_path, [no_tc]))
    lacking = "Timecode," + APP_CURVES.replace("JawOpen,", "")
    with pytest.raises(ValueError, match=r"line 1: missing blendshape column\(s\) \['JawOpen'\]"):
        read_livelink_csv(_app_file(tmp_path, [lacking]))
    twice = "Timecode,JawOpen," + APP_CURVES
    with pytest.raises(ValueError, match="line 1: column 'JawOpen' appears twice"):
        read_livelink_csv(_app_file(tmp_path, [twice]))


def test_names_match_canonical_order():
    assert [n[0].lower() + n[1:] for n in APP_CURVES.split(",")] == list(ARKIT_NAMES)
