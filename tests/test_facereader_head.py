"""The face reader on the reference head: what it cannot see it is unsure of (eyeLook* behind
shut lids), and a neutral face reads as near-zero curves. A close camera (zoom 2.5) so that a
64-px frame shows the eyes."""

import numpy as np
import pytest
import torch

from blendtalk.arkit import INDEX, N_BLENDSHAPES
from blendtalk.models.facereader import FaceReader, ReaderConfig, ReaderTrainConfig, predict, train_reader
from blendtalk.render.reference_head import build_reference_head
from blendtalk.render.renderer import Renderer, RenderSettings

SIZE = 64
GAZE = [INDEX[f"eyeLook{d}{s}"] for d in ("Up", "Down", "In", "Out") for s in ("Left", "Right")]
BLINK = [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]
JAW, TONGUE = INDEX["jawOpen"], INDEX["tongueOut"]


def states(n: int, seed: int) -> np.ndarray:
    """`(n, 52)`: gaze and tongue uniform; lids shut or open and the jaw closed or open, half the
    time each; one frame in ten all neutral."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n, N_BLENDSHAPES), np.float32)
    w[:, GAZE] = rng.uniform(0, 1, (n, len(GAZE)))
    w[:, BLINK] = (rng.uniform(size=n) < 0.5)[:, None]
    w[:, JAW] = np.where(rng.uniform(size=n) < 0.5, 0.0, rng.uniform(0.6, 1.0, n))
    w[:, TONGUE] = rng.uniform(0, 1, n)
    w[rng.uniform(size=n) < 0.1] = 0.0
    return w


@pytest.fixture(scope="module")
def reader_and_renders():
    torch.set_num_threads(2)
    weights = {split: states(n, seed) for split, n, seed in (("train", 1500, 0), ("val", 200, 1), ("test", 300, 2))}
    with Renderer(build_reference_head(), RenderSettings(width=SIZE, height=SIZE, zoom=2.5)) as renderer:
        frames = {split: renderer.render_sequence(w) for split, w in weights.items()}
        neutral = renderer.render_sequence(np.zeros((1, N_BLENDSHAPES), np.float32))
    model = FaceReader(ReaderConfig(image_size=SIZE))
    train_reader(model, (frames["train"], weights["train"]), (frames["val"], weights["val"]),
                 ReaderTrainConfig(epochs=16, patience=16, shift=0.0, seed=0))
    return model, frames["test"], weights["test"], neutral


def test_sigma_grows_where_the_channel_is_hidden(reader_and_renders):
    # eyeLook* behind shut lids (the reference head's tongueOut pokes through closed lips, so it
    # is no hidden channel there)
    model, frames, truth, _ = reader_and_renders
    mean, sigma = predict(model, frames)
    shut = truth[:, BLINK[0]] == 1
    seen = (truth[:, BLINK[0]] == 0) & (truth[:, GAZE].sum(1) > 0)
    assert sigma[shut][:, GAZE].mean() > 1.2 * sigma[seen][:, GAZE].mean()
    # where the eyes show, it reads the gaze better than the prior does
    error = np.abs(mean[seen][:, GAZE] - truth[seen][:, GAZE]).mean()
    assert error < 0.8 * np.abs(truth[seen][:, GAZE] - 0.5).mean()


def test_neutral_frame_reads_near_zero(reader_and_renders):
    model, _, _, neutral = reader_and_renders
    mean, _ = predict(model, neutral)
    assert mean.max() < 0.15 and mean.mean() < 0.02
