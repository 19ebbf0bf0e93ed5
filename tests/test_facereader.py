"""The face reader (models/facereader.py) and its scores (metrics/facereader.py)."""

import json

import numpy as np
import pytest
import torch

from blendtalk.arkit import INDEX, MIRROR_INDEX, N_BLENDSHAPES
from blendtalk.metrics.facereader import calibration, r2_per_channel, reading_scores, weakest_channels
from blendtalk.models.facereader import (LOG_VAR_RANGE, MEAN_MARGIN, FaceReader, ReaderConfig, ReaderTrainConfig,
                                         augment, load_reader, predict, reader_loss, save_reader, to_input,
                                         train_reader)

SEEN = (INDEX["jawOpen"], INDEX["eyeBlinkLeft"])  # drawn into the synthetic frames
HIDDEN = INDEX["tongueOut"]  # varies like the seen ones but changes no pixel


def synthetic_frames(n: int, seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Frames whose left half's red level is jawOpen and right half's green level eyeBlinkLeft,
    with pixel noise; tongueOut is drawn too but never drawn into the image."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((n, N_BLENDSHAPES), np.float32)
    weights[:, [*SEEN, HIDDEN]] = rng.uniform(0, 1, (n, 3))
    frames = rng.normal(60, 8, (n, size, size, 3))
    frames[:, :, : size // 2, 0] += 180 * weights[:, SEEN[0], None, None]
    frames[:, :, size // 2:, 1] += 180 * weights[:, SEEN[1], None, None]
    return np.clip(frames, 0, 255).astype(np.uint8), weights


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(2)
    cfg = ReaderConfig(image_size=32, widths=(8, 16))
    model = FaceReader(cfg)
    history = train_reader(model, synthetic_frames(768, 0), synthetic_frames(256, 1),
                           ReaderTrainConfig(loss="gnll", epochs=20, batch_size=32, lr=3e-3, seed=0,
                                             flip=False, shift=0.0))  # the halves are not a face
    return model, history


def test_reader_reads_visible_channels_and_is_unsure_of_hidden_ones(trained):
    model, history = trained
    frames, truth = synthetic_frames(256, 2)
    mean, sigma = predict(model, frames)
    assert history["val_loss"].min() < history["val_loss"].iloc[0]
    for channel in SEEN:
        assert np.abs(mean[:, channel] - truth[:, channel]).mean() < 0.05
    # the hidden channel: the prior's centre with the prior's spread (uniform: std 0.29)
    assert abs(float(mean[:, HIDDEN].mean()) - 0.5) < 0.1
    assert sigma[:, HIDDEN].mean() > 3 * max(sigma[:, c].mean() for c in SEEN)
    assert 0.15 < sigma[:, HIDDEN].mean() < 0.5


def test_reading_of_a_frame_does_not_depend_on_its_batch(trained):
    model, _ = trained
    frame = np.full((1, 32, 32, 3), 128, np.uint8)
    others, _ = synthetic_frames(7, 3)
    alone = predict(model, frame)
    batched = predict(model, np.concatenate([others[:3], frame, others[3:]]), batch_size=8)
    np.testing.assert_allclose(batched[0][3], alone[0][0], atol=1e-5)
    np.testing.assert_allclose(batched[1][3], alone[1][0], rtol=1e-4)


def test_saved_reader_reads_the_same(trained, tmp_path):
    model, _ = trained
    save_reader(model, tmp_path / "reader", extra={"rig": "synthetic"})
    loaded, config = load_reader(tmp_path / "reader")
    frames, _ = synthetic_frames(5, 4)
    assert config["rig"] == "synthetic" and config["model"]["widths"] == [8, 16]
    for a, b in zip(predict(model, frames), predict(loaded, frames)):
        np.testing.assert_array_equal(a, b)


def test_mse_ablation_trains_the_mean_only():
    model = FaceReader(ReaderConfig(image_size=32, widths=(8,)))
    heads = model.log_var_head.weight.detach().clone()
    train_reader(model, synthetic_frames(128, 5), synthetic_frames(64, 6),
                 ReaderTrainConfig(loss="mse", epochs=2, batch_size=32, flip=False))
    # only the prior start (`init_heads` shrinks the weights tenfold), no training step
    torch.testing.assert_close(model.log_var_head.weight.detach(), 0.1 * heads)
    with pytest.raises(ValueError, match="unknown face reader loss"):
        ReaderTrainConfig(loss="l1")


def test_input_is_resized_and_checked():
    x = to_input(np.zeros((2, 64, 48, 3), np.uint8), 32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8"):
        to_input(np.zeros((2, 32, 32), np.uint8), 32)


def test_scores_and_calibration_values():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, (20000, N_BLENDSHAPES))
    truth[:, INDEX["tongueOut"]] = 0.0  # constant: R² undefined
    sigma = np.full_like(truth, 0.05)
    mean = truth + rng.normal(0, 0.05, truth.shape)
    cal = calibration(truth, mean, sigma)
    assert abs(cal["within_1sigma"] - 0.6827) < 0.01 and abs(cal["within_2sigma"] - 0.9545) < 0.01
    assert abs(cal["nll"] - (0.5 * np.log(2 * np.pi * 0.05 ** 2) + 0.5)) < 0.01
    r2 = r2_per_channel(truth, mean)
    assert np.isnan(r2[INDEX["tongueOut"]])
    assert np.allclose(np.delete(r2, INDEX["tongueOut"]), 1 - 0.05 ** 2 / (1 / 12), atol=0.01)
    mean[:, INDEX["jawOpen"]] = 0.5  # a channel read as its average: R² ≈ 0
    scores = reading_scores(truth, mean, sigma)
    assert weakest_channels(scores, 1)[0][0] == "jawOpen"
    assert abs(scores["channels"]["jawOpen"]["r2"]) < 0.02
    assert scores["channels"]["tongueOut"]["r2"] is None and scores["regions"]["tongue"]["r2"] is None
    assert scores["calibration"]["within_1sigma"] < 0.6827  # jawOpen's errors exceed its σ
    with pytest.raises(ValueError, match=r"must both be \(N, 52\)"):
        reading_scores(truth[:, :10], mean[:, :10])


def test_augment_mirrors_the_weights_with_the_image_and_shifts_within_bounds():
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    y = torch.rand(2, N_BLENDSHAPES)
    flipped, y_flipped = augment(x, y, ReaderTrainConfig(flip=True, shift=0.0), torch.Generator().manual_seed(3))
    for i in range(2):
        mirrored = torch.equal(flipped[i], x[i].flip(-1))
        assert mirrored or torch.equal(flipped[i], x[i])
        torch.testing.assert_close(y_flipped[i], y[i, list(MIRROR_INDEX)] if mirrored else y[i])
    shifted, y_shifted = augment(x, y, ReaderTrainConfig(flip=False, shift=0.25), gen)
    assert shifted.shape == x.shape and torch.equal(y_shifted, y)
    # a shift by at most 2 pixels: every row of the shifted image is a row of the edge-padded one
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
    for i in range(2):
        assert any(torch.equal(shifted[i], padded[i, :, dy:dy + 8, dx:dx + 8]) for dy in range(5) for dx in range(5))


def test_heads_start_at_the_prior_and_readings_stay_in_range():
    torch.manual_seed(0)
    model = FaceReader(ReaderConfig(image_size=32, widths=(8,)))
    targets = torch.zeros(100, N_BLENDSHAPES)
    targets[:50, INDEX["jawOpen"]] = 1.0  # mean 0.5, variance 0.25; every other channel always 0
    model.init_heads(targets)
    mean, log_var = model(to_input(np.full((4, 32, 32, 3), 100, np.uint8), 32))
    assert torch.allclose(mean[:, INDEX["jawOpen"]], torch.tensor(0.5), atol=0.05)
    assert (mean[:, INDEX["eyeBlinkLeft"]].abs() < 0.02).all()
    assert torch.allclose(log_var[:, INDEX["jawOpen"]], torch.tensor(0.25).log(), atol=0.3)
    assert (log_var[:, INDEX["eyeBlinkLeft"]] <= LOG_VAR_RANGE[0] + 0.3).all()
    assert mean.min() >= -MEAN_MARGIN and mean.max() <= 1 + MEAN_MARGIN
    read, sigma = predict(model, np.full((4, 32, 32, 3), 100, np.uint8))
    assert read.min() >= 0.0 and read.max() <= 1.0 and sigma.min() >= 0.0099


def test_beta_nll_weights_each_value_by_its_detached_variance():
    mean = torch.tensor([[0.2, 0.8]], requires_grad=True)
    log_var = torch.tensor([[np.log(0.04), np.log(0.01)]], dtype=torch.float32)
    target = torch.tensor([[0.5, 0.5]])
    nll = 0.5 * (np.log(2 * np.pi) + log_var + (mean - target) ** 2 / log_var.exp())
    expected = (nll * log_var.exp() ** 0.5).mean()
    torch.testing.assert_close(reader_loss(mean, log_var, target, "gnll", beta=0.5), expected)
    torch.testing.assert_close(reader_loss(mean, log_var, target, "gnll"), nll.mean())
    # the variance weight is not differentiated through: the gradient on the mean is w * (m - t) / var
    reader_loss(mean, log_var, target, "gnll", beta=1.0).backward()
    torch.testing.assert_close(mean.grad, torch.tensor([[-0.15, 0.15]]))


def test_spatial_head_tells_where_a_feature_is():
    """The same bright square on the left half is jawLeft, on the right half jawRight: the two
    frames hold the same pixels in another place, and the spatial head reads them apart."""
    def frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        weights = np.zeros((n, N_BLENDSHAPES), np.float32)
        side = rng.integers(0, 2, n)
        value = rng.uniform(0.2, 1.0, n).astype(np.float32)
        weights[np.arange(n), np.where(side == 0, INDEX["jawLeft"], INDEX["jawRight"])] = value
        images = rng.normal(60, 8, (n, 32, 32, 3))
        for i in range(n):
            x = 4 if side[i] == 0 else 20
            images[i, 12:20, x:x + 8] += 180 * value[i]
        return np.clip(images, 0, 255).astype(np.uint8), weights

    torch.manual_seed(0)
    model = FaceReader(ReaderConfig(image_size=32, widths=(8, 16), head="spatial"))
    train_reader(model, frames(512, 0), frames(128, 1),
                 ReaderTrainConfig(loss="mse", epochs=15, batch_size=32, lr=3e-3, flip=False, shift=0.0))
    test, truth = frames(128, 2)
    mean, _ = predict(model, test)
    for channel in ("jawLeft", "jawRight"):
        assert np.abs(mean[:, INDEX[channel]] - truth[:, INDEX[channel]]).mean() < 0.08
    with pytest.raises(ValueError, match="unknown face reader head"):
        ReaderConfig(head="attention")


def test_checkpoint_without_a_head_setting_loads_as_pooled(tmp_path):
    model = FaceReader(ReaderConfig(image_size=32, widths=(8,), head="pooled"))
    save_reader(model, tmp_path / "reader")
    config_file = tmp_path / "reader" / "config.json"
    config = json.loads(config_file.read_text())
    del config["model"]["head"]
    config_file.write_text(json.dumps(config))
    loaded, _ = load_reader(tmp_path / "reader")
    assert loaded.cfg.head == "pooled"
