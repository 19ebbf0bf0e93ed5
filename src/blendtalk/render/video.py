"""Video encoding: `(H, W, 3)` uint8 RGB frames piped to ffmpeg as H.264 yuv420p mp4 (30 fps by
default), optionally muxed with a wav; captions and side-by-side labels drawn with Pillow; and
`probe()`, which reads frame count, duration and streams back from ffmpeg's own output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from blendtalk.io import atomic_path

FPS = 30


class FFmpegError(RuntimeError):
    """ffmpeg refused its input or failed writing (the message names the file and quotes ffmpeg)."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The system `ffmpeg` when on PATH, else the binary shipped by imageio-ffmpeg."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class VideoWriter:
    """Write frames to `path` (mp4, H.264, yuv420p, `fps` frames/s), atomically: ffmpeg encodes to
    a temporary file that is renamed onto `path` only when every frame was written and ffmpeg
    succeeded. `audio` (a wav or any file ffmpeg reads) is muxed as AAC; the video keeps its own
    length. Frames must all be `(height, width, 3)` uint8 with even `height` and `width`.

        with VideoWriter("out.mp4", 256, 256, audio="speech.wav") as video:
            for frame in frames:
                video.write(frame)
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: int = FPS,
                 audio: str | os.PathLike | None = None, crf: int = 20, preset: str = "veryfast") -> None:
        if width % 2 or height % 2:
            raise ValueError(f"{path}: H.264 yuv420p needs even frame sizes, got {width}x{height}")
        if audio is not None and not Path(audio).is_file():
            raise FileNotFoundError(f"audio file {audio} does not exist")
        self.path, self.width, self.height = Path(path), width, height
        self.fps, self.audio, self.crf, self.preset = fps, audio, crf, preset
        self.n_frames = 0

    def __enter__(self) -> VideoWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
               "-framerate", str(self.fps), "-i", "pipe:0"]
        if self.audio is not None:
            cmd += ["-i", str(self.audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "128k"]
        cmd += ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p",
                "-r", str(self.fps), "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one `(H, W, 3)` uint8 frame."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"{self.path}: frame {self.n_frames} is {frame.shape} {frame.dtype}, "
                             f"expected ({self.height}, {self.width}, 3) uint8")
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            self._proc.wait()
            raise FFmpegError(f"ffmpeg stopped while writing {self.path}: "
                               f"{self._proc.stderr.read().decode(errors='replace')}") from None
        self.n_frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._proc.stdin.close()
            stderr = self._proc.stderr.read().decode(errors="replace")
            rc = self._proc.wait()
            if exc_type is None and rc != 0:
                raise FFmpegError(f"ffmpeg failed ({rc}) writing {self.path}: {stderr.strip()}")
            if exc_type is None and self.n_frames == 0:
                raise ValueError(f"{self.path}: no frames were written")
        except BaseException as err:
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, tb)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: int = FPS,
                audio: str | os.PathLike | None = None) -> int:
    """Encode an iterable of `(H, W, 3)` uint8 frames (size taken from the first) to `path`;
    returns the number of frames written."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError(f"{path}: no frames to write")
    with VideoWriter(path, first.shape[1], first.shape[0], fps=fps, audio=audio) as video:
        video.write(first)
        for frame in iterator:
            video.write(frame)
    return video.n_frames


# --- captions and side-by-side ----------------------------------------------------------------

@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at `size` pixels (identical on every machine)."""
    return ImageFont.load_default(size=size)


def caption_size(width: int) -> int:
    """Caption text size in pixels for frames `width` pixels wide (12 px on 256-px frames)."""
    return max(9, round(width / 21))


def caption_lines(text: str, emotions: Iterable[str] = (), width_px: int = 256, size: int = 12,
                  max_lines: int = 3) -> list[str]:
    """`text` wrapped to fit `width_px` (at most `max_lines`, the last ending in "…" when cut),
    followed by one line listing `emotions`."""
    chars = max(8, int(width_px / (0.55 * size)))
    lines = textwrap.wrap(" ".join(text.split()), chars) if text.strip() else []
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: chars - 1].rstrip() + "…"
    emotions = [e for e in emotions if e]
    if emotions:
        lines.append(" · ".join(emotions))
    return lines


def caption_overlay(width: int, height: int, lines: list[str], size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A caption band at the bottom of a `(height, width)` frame: `(H, W, 3)` uint8 colour and
    `(H, W, 1)` float32 alpha, for `blend()`. Text is white on a translucent black band."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if lines:
        draw = ImageDraw.Draw(image)
        line_h = size + 3
        top = height - line_h * len(lines) - 6
        draw.rectangle([0, top, width, height], fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((5, top + 3 + i * line_h), line, fill=(255, 255, 255, 255), font=font(size))
    rgba = np.asarray(image)
    return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3:].astype(np.float32) / 255.0


def blend(frame: np.ndarray, overlay: tuple[np.ndarray, np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """Alpha-composite `caption_overlay` output onto a `(H, W, 3)` uint8 frame."""
    rgb, alpha = overlay
    mixed = frame * (1.0 - alpha) + rgb * alpha
    if out is None:
        out = np.empty_like(frame)
    np.rint(mixed, out=mixed)
    out[...] = mixed
    return out


def side_by_side(left: np.ndarray, right: np.ndarray, labels: tuple[str, str] = ("ground truth", "prediction"),
                 size: int = 12) -> np.ndarray:
    """Two `(H, W, 3)` uint8 frames joined horizontally into `(H, 2W, 3)`, each labelled at its
    top-left corner."""
    if left.shape != right.shape:
        raise ValueError(f"side-by-side frames differ in shape: {left.shape} and {right.shape}")
    image = Image.fromarray(np.concatenate([left, right], axis=1))
    draw = ImageDraw.Draw(image)
    for offset, label in zip((0, left.shape[1]), labels, strict=True):
        draw.text((offset + 5, 4), label, fill=(255, 255, 255), font=font(size),
                  stroke_width=1, stroke_fill=(0, 0, 0))
    return np.array(image)


# --- probing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a file: decoded video frame count, container duration (s),
    frame size, nominal frame rate, video codec and pixel format, and whether an audio stream
    is present."""

    n_frames: int
    duration_s: float
    width: int
    height: int
    fps: float
    codec: str
    pix_fmt: str
    has_audio: bool


def probe(path: str | os.PathLike) -> VideoInfo:
    """Decode `path`'s video stream with ffmpeg (to the null muxer) and parse its report."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"video {path} does not exist")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:v:0",
                           "-f", "null", "-progress", "pipe:1", "-"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg could not read {path}: {proc.stderr.strip()[-500:]}")
    report = proc.stderr
    duration = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", report)
    video = re.search(r"Stream #0:\d+\S*: Video: (\w+)[^,]*, (\w+)[^,]*(?:\([^)]*\))?, (\d+)x(\d+).*?([\d.]+) fps",
                      report)
    frames = re.findall(r"^frame=(\d+)$", proc.stdout, flags=re.MULTILINE)
    if not (duration and video and frames):
        raise RuntimeError(f"could not parse ffmpeg's report on {path}:\n{report[-1000:]}")
    h, m, s = duration.groups()
    return VideoInfo(n_frames=int(frames[-1]), duration_s=int(h) * 3600 + int(m) * 60 + float(s),
                     width=int(video.group(3)), height=int(video.group(4)), fps=float(video.group(5)),
                     codec=video.group(1), pix_fmt=video.group(2),
                     has_audio=re.search(r"Stream #0:\d+\S*: Audio:", report) is not None)


def read_frames(path: str | os.PathLike) -> np.ndarray:
    """Decode every frame of a video as `(T, H, W, 3)` uint8 RGB (a writable array)."""
    info = probe(path)
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                           "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                          capture_output=True, check=True)
    return np.frombuffer(bytearray(proc.stdout), np.uint8).reshape(-1, info.height, info.width, 3)  # writable
