"""`blendtalk render` end to end: a sequence file → an mp4 with the expected frames and streams."""

from __future__ import annotations

import wave

import numpy as np

from blendtalk.arkit import INDEX
from blendtalk.cli import main
from blendtalk.render.rig import save_rig
from blendtalk.render.sphere_rig import build_sphere_rig
from blendtalk.render.video import probe, read_frames


def test_render_command_with_wav_caption_and_compare(tmp_path):
    save_rig(build_sphere_rig(3), tmp_path / "rig.npz")
    seq = np.zeros((45, 52), np.float32)
    seq[:, INDEX["jawOpen"]] = np.linspace(0, 1, 45)
    np.save(tmp_path / "gt.npy", seq)
    np.save(tmp_path / "pred.npy", seq[::-1].copy())
    with wave.open(str(tmp_path / "a.wav"), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(16000)
        fh.writeframes(np.zeros(24000, "<i2").tobytes())
    out = tmp_path / "out.mp4"
    assert main(["render", str(tmp_path / "gt.npy"), "-o", str(out), "--rig", str(tmp_path / "rig.npz"),
                 "--wav", str(tmp_path / "a.wav"), "--caption", "hello", "--compare",
                 str(tmp_path / "pred.npy"), "--resolution", "96"]) == 0
    info = probe(out)
    assert (info.n_frames, info.width, info.height, info.has_audio) == (45, 192, 96, True)
    frames = read_frames(out).astype(int)
    # left opens while right closes: the halves swap between the first and last frame
    rows = slice(16, 76)  # below the labels, above the caption
    swapped = np.abs(frames[0, rows, :96] - frames[-1, rows, 96:]).mean()  # both closed (lossy codec)
    apart = np.abs(frames[0, rows, :96] - frames[0, rows, 96:]).mean()  # closed | open
    assert apart > 3 and swapped < 0.5 * apart


def test_single_frame_sequence_becomes_an_expression_clip(tmp_path):
    save_rig(build_sphere_rig(2), tmp_path / "rig.npz")
    expr = np.zeros(52, np.float32)
    expr[INDEX["jawOpen"]] = 1
    np.save(tmp_path / "e.npy", expr)
    out = tmp_path / "e.mp4"
    assert main(["render", str(tmp_path / "e.npy"), "-o", str(out), "--rig", str(tmp_path / "rig.npz"),
                 "--resolution", "32"]) == 0
    assert probe(out).n_frames == 60  # 2 s at 30 fps, the config defaults
