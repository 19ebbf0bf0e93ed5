"""Audio in and out, and frame-synchronous prosody.

Conventions: audio arrays are mono float32 at 16 kHz (``SAMPLE_RATE``) in [-1, 1]; times are in
seconds; feature frames are at 30 fps (``FPS``), frame ``t`` covering ``[t/30, (t+1)/30)`` s, and
a clip of ``d`` seconds has exactly ``ceil(30 × d)`` frames.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blendtalk.io import atomic_path

SAMPLE_RATE = 16_000
FPS = 30
#: Peak amplitude below which a clip counts as all-silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Default longest clip returned in one piece by `iter_chunks` (seconds).
MAX_CHUNK_S = 30.0


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, all-silent or non-finite. The message
    names the file (or ``<array>``)."""


def _soundfile():
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AudioError("reading audio needs the 'soundfile' package (pip install soundfile)"
                         ) from exc
    return soundfile


def resample(audio: np.ndarray, sr_in: float, sr_out: float = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono (or ``(n, channels)``) float array from ``sr_in`` to ``sr_out`` Hz with
    soxr (high quality); returns float32. Rates may be non-integer."""
    audio = np.asarray(audio, dtype=np.float32)
    if sr_in == sr_out or audio.shape[0] == 0:
        return audio
    try:
        import soxr
        return np.asarray(soxr.resample(audio, float(sr_in), float(sr_out), quality="HQ"),
                          dtype=np.float32)
    except ImportError:  # pragma: no cover - fallback without soxr
        from fractions import Fraction

        from scipy.signal import resample_poly
        frac = Fraction(float(sr_out) / float(sr_in)).limit_denominator(10_000)
        return resample_poly(audio, frac.numerator, frac.denominator, axis=0).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels of an ``(n, channels)`` array; a 1-D array is returned as is."""
    audio = np.asarray(audio)
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def check_audio(audio: np.ndarray, source: str = "<array>", allow_silent: bool = False) -> None:
    """Raise `AudioError` naming ``source`` if ``audio`` is empty, contains NaN/inf, or (unless
    ``allow_silent``) is all-silent (peak below `SILENCE_PEAK`)."""
    if audio.size == 0:
        raise AudioError(f"{source}: the audio is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        n = int(np.sum(~np.isfinite(audio)))
        raise AudioError(f"{source}: the audio has {n} non-finite samples (NaN or inf)")
    if not allow_silent and float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise AudioError(f"{source}: the audio is all silent (peak below {SILENCE_PEAK:g})")


def load_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE, allow_silent: bool = False
               ) -> np.ndarray:
    """Read any file soundfile reads (wav, flac, ogg…; any rate, channels, int or float
    samples) as mono float32 at ``sr`` Hz (16 kHz by default).

    Raises `AudioError` naming the file when it is missing, corrupt, empty, non-finite or
    all-silent. For long files prefer `iter_chunks`, which never holds the whole file."""
    sf = _soundfile()
    path = Path(path)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / OSError
        raise AudioError(f"{path}: cannot read audio ({exc})") from exc
    audio = to_mono(data)
    check_audio(audio, str(path), allow_silent=True)
    audio = resample(audio, file_sr, sr)
    check_audio(audio, str(path), allow_silent=allow_silent)
    return np.ascontiguousarray(audio, dtype=np.float32)


@dataclass(frozen=True)
class AudioChunk:
    """A piece of a longer recording: ``audio`` (mono float32 at 16 kHz) starting ``start_s``
    seconds into the file."""

    start_s: float
    audio: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / SAMPLE_RATE


def iter_chunks(path: str | os.PathLike, max_duration_s: float = MAX_CHUNK_S,
                sr: int = SAMPLE_RATE) -> Iterator[AudioChunk]:
    """Yield a file as consecutive `AudioChunk` pieces of at most ``max_duration_s`` seconds
    (mono float32 at ``sr`` Hz), reading block by block, so a recording of any length is
    processed with bounded memory; a short file gives one chunk. The chunks concatenate to
    `load_audio`'s result (up to resampling at the joins).

    Raises `AudioError` naming the file for a corrupt, empty, non-finite or all-silent file
    (silence is checked over the whole file, at the end)."""
    if max_duration_s <= 0:
        raise ValueError(f"max_duration_s must be positive, got {max_duration_s}")
    sf = _soundfile()
    path = Path(path)
    try:
        info = sf.info(str(path))
        handle = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioError(f"{path}: cannot read audio ({exc})") from exc
    file_sr = info.samplerate
    block = max(1, int(round(max_duration_s * file_sr)))
    stream = None
    if file_sr != sr:
        import soxr
        stream = soxr.ResampleStream(float(file_sr), float(sr), 1, dtype="float32",
                                     quality="HQ")
    peak, t, n_in = 0.0, 0.0, 0
    pending = np.zeros(0, np.float32)
    out_block = int(round(max_duration_s * sr))
    with handle:
        while True:
            try:
                data = handle.read(block, dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioError(f"{path}: cannot read audio ({exc})") from exc
            last = data.shape[0] < block
            mono = to_mono(data)
            n_in += mono.shape[0]
            if mono.size:
                check_audio(mono, str(path), allow_silent=True)
                peak = max(peak, float(np.max(np.abs(mono))))
            res = stream.resample_chunk(mono, last=last) if stream is not None else mono
            pending = np.concatenate([pending, np.asarray(res, np.float32)])
            while pending.shape[0] >= out_block or (last and pending.shape[0]):
                piece, pending = pending[:out_block], pending[out_block:]
                yield AudioChunk(t, np.ascontiguousarray(piece))
                t += piece.shape[0] / sr
            if last:
                break
    if n_in == 0:
        raise AudioError(f"{path}: the audio is empty (0 samples)")
    if peak < SILENCE_PEAK:
        raise AudioError(f"{path}: the audio is all silent (peak below {SILENCE_PEAK:g})")


def split_chunks(audio: np.ndarray, max_duration_s: float = MAX_CHUNK_S, sr: int = SAMPLE_RATE
                 ) -> list[AudioChunk]:
    """Split an in-memory mono array into `AudioChunk` pieces of at most ``max_duration_s``."""
    n = max(1, int(round(max_duration_s * sr)))
    return [AudioChunk(i / sr, audio[i:i + n]) for i in range(0, max(audio.shape[0], 1), n)]


def write_wav(path: str | os.PathLike, audio: np.ndarray, sr: int = SAMPLE_RATE,
              subtype: str = "PCM_16") -> Path:
    """Write mono float audio (in [-1, 1], clipped) as a WAV file atomically; returns the path.
    ``subtype`` is soundfile's (``PCM_16`` by default, ``FLOAT`` for float32)."""
    sf = _soundfile()
    audio = np.asarray(audio, dtype=np.float32)
    check_audio(audio, str(path), allow_silent=True)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(audio, -1.0, 1.0), sr, subtype=subtype, format="WAV")
    return Path(path)


def n_frames(duration_s: float, fps: int = FPS) -> int:
    """Frames of an utterance of `duration_s` seconds: ceil(fps × duration), at least 1.

    The product is rounded to 1e-9 first, so 0.1 s at 30 fps gives 3 frames, not 4."""
    if not duration_s > 0:
        raise ValueError(f"duration must be > 0 s, got {duration_s}")
    return max(1, math.ceil(round(fps * float(duration_s), 9)))


def frame_energy(audio: np.ndarray, sr: int = SAMPLE_RATE, fps: int = FPS) -> np.ndarray:
    """RMS amplitude (linear, full scale 1) of each frame ``[t/fps, (t+1)/fps)``; shape
    ``(ceil(fps × duration),)``, float32."""
    audio = np.asarray(audio, dtype=np.float64)
    T = n_frames(audio.shape[0] / sr, fps)
    edges = np.minimum(np.round(np.arange(T + 1) * sr / fps).astype(np.int64), audio.shape[0])
    csum = np.concatenate([[0.0], np.cumsum(audio * audio)])
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return np.sqrt(np.maximum(csum[edges[1:]] - csum[edges[:-1]], 0.0) / counts).astype(np.float32)


def frame_f0(audio: np.ndarray, sr: int = SAMPLE_RATE, fps: int = FPS, fmin: float = 60.0,
             fmax: float = 500.0, window_s: float = 0.04, threshold: float = 0.2,
             min_rms_db: float = -40.0) -> np.ndarray:
    """Fundamental frequency (Hz) of each frame by YIN (de Cheveigné & Kawahara 2002): the
    cumulative-mean-normalised difference over a ``window_s`` window centred on the frame's
    centre, first dip below ``threshold``, parabolic refinement. Unvoiced frames (no dip, or
    energy more than ``min_rms_db`` below the clip's loudest frame) are 0. Shape
    ``(ceil(fps × duration),)``, float32."""
    audio = np.asarray(audio, dtype=np.float64)
    T = n_frames(audio.shape[0] / sr, fps)
    W = int(round(window_s * sr))
    tau_min, tau_max = max(2, int(sr / fmax)), int(math.ceil(sr / fmin))
    N = W + tau_max + 1
    centres = np.round((np.arange(T) + 0.5) * sr / fps).astype(np.int64)
    starts = centres - N // 2
    pad = N
    x = np.pad(audio, (pad, pad))
    idx = starts[:, None] + pad + np.arange(N)[None, :]
    frames = x[idx]                                   # (T, N)
    nfft = 1 << int(math.ceil(math.log2(N + W)))
    A = np.fft.rfft(frames, nfft)
    B = np.fft.rfft(frames[:, :W], nfft)
    r = np.fft.irfft(A * np.conj(B), nfft)[:, :tau_max + 1]   # r[τ] = Σ_j x[j] x[j+τ], j < W
    sq = np.concatenate([np.zeros((T, 1)), np.cumsum(frames * frames, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    e0 = sq[:, W][:, None]
    et = sq[:, taus + W] - sq[:, taus]
    d = np.maximum(e0 + et - 2 * r, 0.0)
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1) / np.arange(1, tau_max + 1)[None, :]
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] / np.maximum(cum, 1e-12)
    f0 = np.zeros(T, dtype=np.float64)
    rms = np.sqrt(e0[:, 0] / W)
    floor = rms.max(initial=0.0) * 10 ** (min_rms_db / 20) if T else 0.0
    for t in range(T):
        if rms[t] <= floor or rms[t] < SILENCE_PEAK:
            continue
        c = cmnd[t]
        below = np.nonzero(c[tau_min:tau_max] < threshold)[0]
        if below.size == 0:
            continue
        tau = int(below[0]) + tau_min
        while tau + 1 < tau_max and c[tau + 1] < c[tau]:
            tau += 1
        a, b, cc = c[tau - 1], c[tau], c[tau + 1] if tau + 1 <= tau_max else c[tau]
        denom = a - 2 * b + cc
        shift = 0.5 * (a - cc) / denom if abs(denom) > 1e-12 else 0.0
        f0[t] = sr / (tau + float(np.clip(shift, -1, 1)))
    return f0.astype(np.float32)


def prosody(audio: np.ndarray, sr: int = SAMPLE_RATE, fps: int = FPS) -> dict[str, np.ndarray]:
    """Frame-synchronous prosody of mono audio: ``energy`` (RMS amplitude per frame, linear)
    and ``f0`` (Hz, 0 for unvoiced frames), each of shape ``(ceil(fps × duration),)``."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise AudioError(f"<array>: prosody needs mono audio, got shape {audio.shape}")
    check_audio(audio, allow_silent=True)
    return {"energy": frame_energy(audio, sr, fps), "f0": frame_f0(audio, sr, fps)}
