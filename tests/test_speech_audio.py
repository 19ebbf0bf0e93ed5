"""Audio I/O, validation, chunking and prosody (blendtalk.speech.audio)."""

from __future__ import annotations

import math

import numpy as np
import pytest

sf = pytest.importorskip("soundfile", reason="soundfile is not installed")
pytest.importorskip("soxr", reason="soxr is not installed")

from blendtalk.speech.audio import (AudioError, SAMPLE_RATE, iter_chunks, load_audio, n_frames,
                                    prosody, write_wav)
from blendtalk.speech.phones import (PHONES, ipa_to_arpabet, make_phone_table,
                                     normalize_arpabet, phone_table, validate_phone_table)


def _signal(sr: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
    return x.astype(np.float32)


def test_stereo_int16_44k_equals_mono_float_16k(tmp_path):
    stereo = np.stack([_signal(44100), _signal(44100)], axis=1)
    sf.write(tmp_path / "a.wav", (stereo * 32767).astype(np.int16), 44100, subtype="PCM_16")
    sf.write(tmp_path / "b.flac", _signal(16000), 16000)
    sf.write(tmp_path / "c.wav", _signal(16000), 16000, subtype="FLOAT")
    a, b, c = (load_audio(tmp_path / n) for n in ("a.wav", "b.flac", "c.wav"))
    assert a.dtype == np.float32 and a.ndim == 1
    assert a.shape == b.shape == c.shape == (16000,)
    inner = slice(200, -200)  # resampling edges
    assert np.max(np.abs(a[inner] - c[inner])) < 2e-3
    assert np.max(np.abs(b - c)) < 1e-4  # 16-bit FLAC quantisation


def test_ogg_and_odd_rate(tmp_path):
    sf.write(tmp_path / "x.ogg", _signal(22050), 22050, format="OGG", subtype="VORBIS")
    x = load_audio(tmp_path / "x.ogg")
    assert abs(x.shape[0] - 16000) <= 2


@pytest.mark.parametrize("kind, message", [("corrupt", "cannot read"), ("empty", "empty"),
                                           ("silent", "silent"), ("nan", "non-finite"),
                                           ("missing", "cannot read")])
def test_bad_audio_gives_clear_error(tmp_path, kind, message):
    path = tmp_path / f"{kind}.wav"
    if kind == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    elif kind == "empty":
        sf.write(path, np.zeros(0, np.float32), 16000)
    elif kind == "silent":
        sf.write(path, np.zeros(16000, np.float32), 16000, subtype="FLOAT")
    elif kind == "nan":
        x = _signal(16000)
        x[100] = np.nan
        sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=message) as err:
        load_audio(path)
    assert path.name in str(err.value)
    assert isinstance(err.value, ValueError)


def test_chunks_cover_the_file(tmp_path):
    sig = np.concatenate([_signal(44100, 2.5)] * 1)
    sf.write(tmp_path / "long.wav", sig, 44100, subtype="FLOAT")
    chunks = list(iter_chunks(tmp_path / "long.wav", max_duration_s=1.0))
    assert [round(c.start_s, 3) for c in chunks] == [0.0, 1.0, 2.0]
    assert all(c.duration_s <= 1.0 + 1e-9 for c in chunks)
    joined = np.concatenate([c.audio for c in chunks])
    whole = load_audio(tmp_path / "long.wav")
    assert abs(joined.shape[0] - whole.shape[0]) <= 2
    n = min(joined.shape[0], whole.shape[0])
    assert np.max(np.abs(joined[300:n - 300] - whole[300:n - 300])) < 5e-3
    sf.write(tmp_path / "silent.wav", np.zeros(48000, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        list(iter_chunks(tmp_path / "silent.wav", max_duration_s=1.0))


def test_write_wav_atomic_roundtrip(tmp_path):
    x = _signal(16000)
    out = write_wav(tmp_path / "sub" / "x.wav", x)
    assert out.is_file() and not list(out.parent.glob(".*tmp"))
    back, sr = sf.read(out, dtype="float32")
    assert sr == SAMPLE_RATE and np.max(np.abs(back - x)) < 1e-4


@pytest.mark.parametrize("seconds", [1.0, 1.01, 0.5, 2.345])
def test_prosody_frame_count_and_values(seconds):
    sr = SAMPLE_RATE
    t = np.arange(int(round(seconds * sr))) / sr
    f = 180.0
    x = sum(0.2 / k * np.sin(2 * np.pi * k * f * t) for k in (1, 2, 3)).astype(np.float32)
    x[: int(0.2 * sr)] = 0.0  # 0.2 s of silence first
    p = prosody(x)
    T = math.ceil(30 * x.shape[0] / sr - 1e-9)
    assert p["energy"].shape == p["f0"].shape == (T,) == (n_frames(x.shape[0] / sr),)
    assert np.all(p["f0"][:5] == 0) and np.all(p["energy"][:5] == 0)
    voiced = p["f0"][8:-1]
    assert np.all(np.abs(voiced - f) < 2.0), voiced
    rms = np.sqrt(np.mean(x[int(0.3 * sr):] ** 2))
    assert abs(float(np.median(p["energy"][10:-1])) - rms) < 0.01


def test_prosody_unvoiced_noise_has_no_f0():
    x = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    assert np.mean(prosody(x)["f0"] > 0) < 0.1


def test_phone_tables():
    table = phone_table()
    assert len(PHONES) == 40 and list(table.index) == list(PHONES)
    assert set(table["kind"]) == {"vowel", "consonant", "silence"}
    assert table.loc["AA", "openness"] > table.loc["IY", "openness"]
    assert ipa_to_arpabet("ˈoʊ") == ("OW",)
    assert ipa_to_arpabet("n̩") == ("AH", "N")
    assert ipa_to_arpabet("ɑːɹ") == ("AA", "R")
    assert ipa_to_arpabet("") == ("sil",)
    assert ipa_to_arpabet("ˈʃæ") == ("SH", "AE")  # greedy split of an unknown name
    assert normalize_arpabet("ah0") == ("AH",) and normalize_arpabet("SIL") == ("sil",)
    assert normalize_arpabet("+NSN+") == ("sil",)
    with pytest.raises(ValueError):
        normalize_arpabet("QQ")
    df = make_phone_table([("HH", 0.1, 0.2, "hi"), ("AY", 0.2, 0.4, "hi")], 0.5)
    assert list(df["phone"]) == ["sil", "HH", "AY", "sil"]
    validate_phone_table(df, 0.5)
