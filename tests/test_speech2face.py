"""speech2face (blendtalk.models.speech2face, speech2face_data) on small synthetic data.

The synthetic task: features carry a syllable envelope e(t) (silences included); the target's
mouth follows the audio only (jawOpen = 0.6 e, funnel, closure at the dips) and its upper face
follows the style only (style A raises brows and widens eyes, style B lowers brows and squints),
so a model that learned the task moves the upper face, not the lips, when only the style changes.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch

from blendtalk.arkit import ARKIT_NAMES, INDEX, REGIONS
from blendtalk.models import speech2face as s2f
from blendtalk.models.speech2face_data import SPLITS, cached_features, load_corpus

D, S = 8, 16
TINY = dict(d_model=32, conv_layers=2, kernel=5, layers=2, heads=2, ff=64, attn_window=8,
            style_hidden=32)
LIPS = REGIONS["jaw"] + REGIONS["mouth"]
UPPER = REGIONS["upper_face"]


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


STYLE_A = unit(np.r_[np.ones(S // 2), np.zeros(S // 2)])
STYLE_B = unit(np.r_[np.zeros(S // 2), np.ones(S // 2)])


def envelope(T: int, seed: int) -> np.ndarray:
    """(T,) syllable envelope in [0, 1] with silent stretches (0 exactly)."""
    g = np.random.default_rng(seed)
    t = np.arange(T) / 30.0
    rate = g.uniform(3.0, 5.0)
    e = np.clip(np.sin(2 * np.pi * rate * t + g.uniform(0, 6)), 0, None) ** 0.7
    e *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.4 * t + g.uniform(0, 6)) ** 2
    e[:8] = 0.0
    e[-8:] = 0.0
    gap = int(g.integers(20, max(21, T - 30)))
    e[gap:gap + 12] = 0.0
    return e.astype(np.float32)


def features_of(e: np.ndarray, style_voice: float = 0.0, seed: int = 0) -> np.ndarray:
    """(T, D) features: the envelope, its derivative, nonlinear views, a style cue, little noise."""
    g = np.random.default_rng(seed + 1000)
    de = np.gradient(e)
    voiced = (e > 0.05).astype(np.float32)
    cols = [e, de * 5, e ** 2, np.sqrt(e), voiced, voiced * style_voice, np.roll(e, 2), np.roll(e, -2)]
    x = np.stack(cols, axis=1).astype(np.float32)
    return x + 0.01 * g.standard_normal(x.shape).astype(np.float32)


def target_of(e: np.ndarray, style: str | None) -> np.ndarray:
    """(T, 52): mouth from the envelope only; upper face from the style only; silence neutral."""
    T = len(e)
    y = np.zeros((T, 52), np.float32)
    y[:, INDEX["jawOpen"]] = 0.6 * e
    y[:, INDEX["mouthFunnel"]] = 0.3 * e ** 2
    y[:, INDEX["mouthLowerDownLeft"]] = y[:, INDEX["mouthLowerDownRight"]] = 0.4 * e
    if style == "A":
        for n in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight"):
            y[:, INDEX[n]] = 0.6
    elif style == "B":
        for n in ("browDownLeft", "browDownRight", "eyeSquintLeft", "eyeSquintRight", "cheekSquintLeft"):
            y[:, INDEX[n]] = 0.55
    return y


def clip(seed: int, style: str | None, T: int = 120) -> s2f.Clip:
    """A synthetic utterance. The voice hints at the style (a feature whose sign follows it in
    about 3 clips of 4), so the style head has something to hear while the style vector stays
    the reliable signal for the face."""
    e = envelope(T, seed)
    hint = np.random.default_rng(seed + 7).uniform(-0.5, 1.5)
    voice = {"A": hint, "B": -hint, None: 0.0}[style]
    latent = {"A": STYLE_A, "B": STYLE_B, None: None}[style]
    return s2f.Clip(features_of(e, voice, seed), target_of(e, style), latent, f"u{seed}{style}")


def tiny_cfg(**kw) -> s2f.Speech2FaceConfig:
    return s2f.Speech2FaceConfig(in_dim=D, style_dim=S, **{**TINY, **kw})


@pytest.fixture(scope="module")
def trained():
    """A tiny model trained on 12 clips (6 per style, with silences), ~10 s on one core."""
    torch.set_num_threads(1)
    clips = [clip(i, "A" if i % 2 else "B") for i in range(12)]
    val = [clip(100 + i, "A" if i % 2 else "B") for i in range(2)]
    cfg = s2f.TrainConfig(epochs=120, batch_size=16, window=60, windows_per_clip=4, lr=3e-3,
                          patience=120, seed=0)
    model, history = s2f.train(clips, val, tiny_cfg(dropout=0.0, style_dropout=0.2), cfg)
    return model, history, clips


def test_overfits_two_utterances():
    torch.set_num_threads(1)
    clips = [clip(1, "A", 90), clip(2, "B", 90)]
    cfg = s2f.TrainConfig(epochs=120, batch_size=8, window=90, windows_per_clip=4, lr=3e-3,
                          patience=200, w_style=0.0, seed=1)
    model, history = s2f.train(clips, clips, tiny_cfg(dropout=0.0, style_dropout=0.0), cfg)
    assert history["train_mse"].iloc[0] > 5 * history["train_mse"].iloc[-5:].min()
    for c in clips:
        pred = model.predict(c.features, c.style)
        jaw = INDEX["jawOpen"]
        assert np.corrcoef(pred[:, jaw], c.target[:, jaw])[0, 1] > 0.95
        assert np.mean((pred - c.target) ** 2) < 2e-3


def test_style_changes_upper_face_not_lips(trained):
    model, _, _ = trained
    c = clip(7, "A")
    a, b = model.predict(c.features, STYLE_A), model.predict(c.features, STYLE_B)
    upper = np.abs(a - b)[:, UPPER].mean()
    lips = np.abs(a - b)[:, LIPS].mean()
    assert upper > 5 * lips, (upper, lips)
    # and in the right direction
    assert a[:, INDEX["browInnerUp"]].mean() > b[:, INDEX["browInnerUp"]].mean() + 0.2
    assert b[:, INDEX["browDownLeft"]].mean() > a[:, INDEX["browDownLeft"]].mean() + 0.2


def test_silence_gives_a_neutral_mouth(trained):
    model, _, _ = trained
    silent = features_of(np.zeros(90, np.float32))
    for style in (STYLE_A, None):
        pred = model.predict(silent, style)
        assert pred[:, INDEX["jawOpen"]].max() < 0.1
        assert pred[:, LIPS].mean() < 0.05
    speaking = model.predict(clip(9, "A").features, STYLE_A)[:, INDEX["jawOpen"]]
    assert speaking.max() > 0.3


def test_style_none_and_auto(trained):
    model, _, _ = trained
    c = clip(5, "B")
    for style in (None, "auto", STYLE_B):
        pred = model.predict(c.features, style)
        assert pred.shape == (len(c.features), 52) and pred.dtype == np.float32
        assert np.isfinite(pred).all() and pred.min() >= 0 and pred.max() <= 1
    inferred = model.infer_style(c.features)
    assert inferred.shape == (S,) and abs(np.linalg.norm(inferred) - 1) < 1e-4
    with pytest.raises(ValueError, match="style"):
        model.predict(c.features, np.zeros(S + 1, np.float32))
    with pytest.raises(ValueError, match="auto"):
        model.predict(c.features, "furious")


def test_style_head_hears_the_style(trained):
    model, _, _ = trained
    right, margin = 0, 0.0
    for seed in range(20, 30):
        za, zb = model.infer_style(clip(seed, "A").features), model.infer_style(clip(seed, "B").features)
        right += int(za @ STYLE_A > za @ STYLE_B) + int(zb @ STYLE_B > zb @ STYLE_A)
        margin += float(za @ STYLE_A - za @ STYLE_B + zb @ STYLE_B - zb @ STYLE_A)
    assert right >= 11 and margin > 0  # of 20: the hint agrees with the style in ~3 clips of 4


def test_history_and_training_loss_drops(trained):
    _, history, _ = trained
    for col in ("epoch", "train_total", "train_mse", "train_velocity", "val_face", "val_mse",
                "lr", "seconds", "samples_per_s", "best"):
        assert col in history.columns
    assert history["train_mse"].iloc[-5:].mean() < history["train_mse"].iloc[0] / 5
    assert history["best"].sum() >= 1


def test_receptive_field_is_bounded(trained):
    model, _, _ = trained
    x = features_of(envelope(200, 3))
    y = x.copy()
    y[100] += 5.0
    diff = np.abs(model.predict(x, STYLE_A) - model.predict(y, STYLE_A)).max(axis=1)
    rf = model.receptive_field
    assert diff[100] > 0
    assert np.all(diff[: 100 - rf - 1] < 1e-5) and np.all(diff[100 + rf + 1:] < 1e-5)


def test_predict_long_ten_minutes_no_seam_bounded_memory(trained):
    model, _, _ = trained
    T = 30 * 600
    feats = features_of(envelope(T, 11), 1.0, 11)
    window, overlap = 300, 60
    lengths = []
    original = model.forward

    def spy(f, *args, **kwargs):
        lengths.append(f.shape[1])
        return original(f, *args, **kwargs)

    model.forward = spy
    tracemalloc.start()
    try:
        out = model.predict_long(feats, STYLE_A, window=window, overlap=overlap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        del model.forward
    assert out.shape == (T, 52) and np.isfinite(out).all()
    assert max(lengths) <= window                      # the model never sees more than a window
    assert peak < out.nbytes + feats.nbytes + 20e6     # O(T) output + O(window) work
    # no seam: frame-to-frame motion in the crossfades is like the motion elsewhere
    delta = np.abs(np.diff(out, axis=0)).max(axis=1)
    hop = window - overlap
    zone = np.zeros(T - 1, bool)
    for s in range(hop, T - window, hop):
        zone[s - 1:s + overlap] = True
    zone[T - window - 1:T - window + overlap] = True
    assert delta[zone].max() <= 2 * np.percentile(delta[~zone], 99)
    # and it agrees with a single pass (the receptive field fits in the overlap)
    part = feats[:1000]
    one = model.predict(part, STYLE_A)
    assert np.abs(model.predict_long(part, STYLE_A, window, overlap) - one).max() < 0.02


def test_save_load_round_trip(trained, tmp_path):
    model, history, _ = trained
    s2f.save_model(model, tmp_path / "m", history, extra={"encoder": {"kind": "synthetic"}})
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"model.safetensors", "config.json",
                                                            "history.csv"}
    loaded, config = s2f.load_model(tmp_path / "m")
    assert config["encoder"]["kind"] == "synthetic"
    c = clip(4, "A")
    for style in (STYLE_A, None, "auto"):
        assert np.array_equal(model.predict(c.features, style), loaded.predict(c.features, style))
    assert len(pd.read_csv(tmp_path / "m" / "history.csv")) == len(history)


def test_expression_faithfulness_with_a_tiny_expr_encoder():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    enc = torch.nn.Linear(52, S)
    before = enc.weight.detach().clone()
    enc.requires_grad_(False)
    calls = []

    def expr_encoder(x):
        calls.append(x.shape)
        return torch.nn.functional.normalize(enc(x), dim=-1)

    clips = [clip(i, "A" if i % 2 else "B", 60) for i in range(4)]
    cfg = s2f.TrainConfig(epochs=4, window=60, w_expr=1.0, seed=0)
    _, history = s2f.train(clips, clips[:2], tiny_cfg(), cfg, expr_encoder=expr_encoder)
    assert calls and calls[0][1] == 52
    assert "train_expr" in history and np.isfinite(history["train_expr"]).all()
    assert torch.equal(enc.weight, before)


def test_training_is_seeded():
    torch.set_num_threads(1)
    clips = [clip(i, "A" if i % 2 else "B", 60) for i in range(3)]
    cfg = s2f.TrainConfig(epochs=3, window=40, seed=5)
    h1 = s2f.train(clips, clips, tiny_cfg(), cfg)[1]
    h2 = s2f.train(clips, clips, tiny_cfg(), cfg)[1]
    assert np.allclose(h1["train_total"], h2["train_total"])
    assert np.allclose(h1["val_face"], h2["val_face"])


def test_random_windows_and_batches():
    rng = np.random.default_rng(0)
    clips = [clip(0, "A", 50), clip(1, None, 120)]
    pairs = s2f.random_windows(clips, 60, 3, rng)
    assert len(pairs) == 6
    assert all(s == 0 for i, s in pairs if i == 0)
    assert all(0 <= s <= 60 for i, s in pairs if i == 1)
    b = s2f.batch([clips[0], clips[1]], [0, 10], 60, S)
    assert b["feats"].shape == (2, 60, D) and b["target"].shape == (2, 60, 52)
    assert b["valid"][0].sum() == 50 and b["valid"][1].all()
    assert b["has_style"].tolist() == [True, False]


# ----------------------------------------------------------------------------- corpus loading

def _corpus(tmp_path, n=6):
    import soundfile as sf

    audio_dir, anim_dir = tmp_path / "audio", tmp_path / "animation"
    audio_dir.mkdir()
    anim_dir.mkdir()
    rows = []
    styles = ["furious, shouting", "whispering, ashamed"]
    for i in range(n):
        duration = 1.0 + 0.25 * i
        t = np.arange(int(duration * 16000)) / 16000
        audio = (0.2 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
        utt = f"{i:016x}"
        sf.write(audio_dir / f"{utt}.wav", audio, 16000)
        T = int(np.ceil(30 * duration))
        table = pd.DataFrame(np.random.default_rng(i).random((T, 52)).astype(np.float32),
                             columns=list(ARKIT_NAMES))
        table.insert(0, "frame", np.arange(T, dtype=np.int32))
        table.to_parquet(anim_dir / f"{utt}.parquet")
        rows.append({"utt_id": utt, "text_id": f"t{i // 2}", "text": "x", "style": styles[i % 2],
                     "emotion": "anger", "voice": "espeak:en-us", "split": SPLITS[(i // 2) % 3],
                     "duration_s": duration, "sample_rate": 16000})
    return pd.DataFrame(rows), audio_dir, anim_dir, styles


class CountingEncoder:
    name, dim = "counting-v0", 3

    def __init__(self):
        self.calls = 0

    def encode(self, audio, n_frames):
        self.calls += 1
        return np.full((n_frames, 3), float(len(audio)), np.float32)


def test_load_corpus_splits_shapes_and_cache(tmp_path):
    table, audio_dir, anim_dir, styles = _corpus(tmp_path)
    latents = {styles[0]: STYLE_A}  # the second style has no latent: style None
    enc = CountingEncoder()
    data = load_corpus(table, audio_dir, anim_dir, enc, latents, cache_dir=tmp_path / "cache")
    assert set(data) == set(SPLITS)
    assert sum(len(v) for v in data.values()) == len(table) and enc.calls == len(table)
    for split, clips in data.items():
        for c in clips:
            row = table.set_index("utt_id").loc[c.utt_id]
            assert row["split"] == split == c.meta["split"]
            T = int(np.ceil(30 * row["duration_s"]))
            assert c.features.shape == (T, 3) and c.target.shape == (T, 52)
            assert (c.style is None) == (row["style"] == styles[1])
    # one text_id never spans two splits
    assert table.groupby("text_id")["split"].nunique().max() == 1
    assert len(list((tmp_path / "cache" / enc.name).glob("*.npy"))) == len(table)
    again = load_corpus(table, audio_dir, anim_dir, enc, latents, cache_dir=tmp_path / "cache")
    assert enc.calls == len(table)  # all from the cache
    assert np.array_equal(again["train"][0].features, data["train"][0].features)


def test_cached_features_recomputes_a_stale_shape(tmp_path):
    table, audio_dir, _, _ = _corpus(tmp_path, n=1)
    enc = CountingEncoder()
    utt = table["utt_id"][0]
    (tmp_path / "cache" / enc.name).mkdir(parents=True)
    np.save(tmp_path / "cache" / enc.name / f"{utt}.npy", np.zeros((2, 3), np.float32))
    feats = cached_features(enc, utt, audio_dir / f"{utt}.wav", 30, tmp_path / "cache")
    assert feats.shape == (30, 3) and enc.calls == 1


def test_load_corpus_rejects_wrong_frame_count(tmp_path):
    table, audio_dir, anim_dir, styles = _corpus(tmp_path, n=1)
    table.loc[0, "duration_s"] = 3.0
    with pytest.raises(ValueError, match="frames"):
        load_corpus(table, audio_dir, anim_dir, CountingEncoder(), {})
