"""The procedural animator on hand-built utterances: frame counts, determinism, closures on the
curves and on the reference head, the smile through speech, silence, prosody and blinks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from blendtalk.arkit import INDEX, REGIONS
from blendtalk.blendshapes.mapping import expression, load_mapping, parse_aus
from blendtalk.metrics.lipsync import REFERENCE_HEAD_CLOSED_CM, closure_rate
from blendtalk.render.reference_head import build_reference_head
from blendtalk.speech.animate import animate, blink_curve
from blendtalk.speech.visemes import n_frames
from test_speech_visemes import centre_frame, utterance

#: "a bomb, move five": open vowels around short bilabials, a rounded vowel, labiodentals.
SENTENCE = utterance(("sil", 0.25), ("AH", 0.08), ("B", 0.05), ("AA", 0.16), ("M", 0.05), ("B", 0.05),
                     ("sil", 0.12), ("M", 0.06), ("UW", 0.14), ("V", 0.06), ("F", 0.05), ("AY", 0.18),
                     ("V", 0.06), ("sil", 0.4))
BILABIAL_ROWS = [2, 4, 5, 7]
VOWEL_ROWS = [3, 11]


def face(aus: str) -> np.ndarray:
    return expression(parse_aus(aus), load_mapping())


def prosody(duration: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame energy in [0, 1] and F0 in Hz (0 unvoiced) for an utterance of `duration` s."""
    g = np.random.default_rng(seed)
    count = n_frames(duration)
    f0 = np.where(g.random(count) < 0.3, 0.0, 120 + 40 * g.random(count))
    return g.random(count), f0


@pytest.mark.parametrize("duration, frames", [(0.01, 1), (1.0, 30), (2.345, 71)])
def test_frame_count_dtype_and_range(duration, frames):
    alignment, _ = utterance(("sil", duration / 3), ("AA", duration / 3), ("sil", duration / 3))
    out = animate(alignment, duration, expression=face("1D 2D 5C 26D"))
    assert out.shape == (frames, 52) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_same_inputs_give_byte_identical_output():
    alignment, duration = SENTENCE
    energy, f0 = prosody(duration)
    kwargs = dict(expression=face("6D 12E"), energy=energy, f0=f0,
                  stressed=alignment.phone.isin(["AA", "UW"]).to_numpy(), seed=7)
    assert animate(alignment, duration, **kwargs).tobytes() == animate(alignment, duration, **kwargs).tobytes()


@pytest.mark.parametrize("aus", ["", "6D 12E", "9D 10D 15C 17C", "1D 2D 5C 26D", "4D 7D 23D 24D"])
def test_bilabials_close_the_lips_of_the_reference_head(aus):
    alignment, duration = SENTENCE
    energy, f0 = prosody(duration)
    out = animate(alignment, duration, expression=face(aus) if aus else None, energy=energy, f0=f0)
    for row in BILABIAL_ROWS:
        frame = out[centre_frame(alignment, row)]
        assert frame[INDEX["jawOpen"]] <= 0.05 and frame[INDEX["mouthClose"]] >= 0.03
    rig = build_reference_head()
    opening = rig.mouth_opening(rig.pose(out))
    bilabial = alignment.iloc[BILABIAL_ROWS]
    assert closure_rate(opening, bilabial.start_s, bilabial.end_s, threshold=REFERENCE_HEAD_CLOSED_CM) == 1.0
    assert all(opening[centre_frame(alignment, row)] > 0.5 for row in VOWEL_ROWS)


def test_labiodentals_and_rounding_survive_the_animator():
    alignment, duration = SENTENCE
    out = animate(alignment, duration, expression=face("6D 12E"))
    assert all(out[centre_frame(alignment, row), INDEX["mouthRollLower"]] >= 0.5 for row in (9, 10, 12))
    assert out[centre_frame(alignment, 8), INDEX["mouthPucker"]] >= 0.4


def test_the_smile_of_joy_survives_speech():
    alignment, duration = SENTENCE
    joy = face("6D 12E")
    out = animate(alignment, duration, expression=joy)
    talking = slice(centre_frame(alignment, 3), centre_frame(alignment, 12))  # after the onset
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"):
        assert out[talking, INDEX[name]].min() >= 0.9 * joy[INDEX[name]]
    neutral = animate(alignment, duration)
    assert np.abs(out[talking, INDEX["jawOpen"]] - neutral[talking, INDEX["jawOpen"]]).max() < 0.05


def test_the_expression_jaw_yields_to_speech_but_not_in_pauses():
    alignment, duration = utterance(("sil", 1.0), ("B", 0.06), ("IY", 0.1), ("B", 0.06), ("sil", 1.0))
    surprise = face("1D 2D 5C 26E")
    out = animate(alignment, duration, expression=surprise, blinks=False)
    pause_jaw = out[12:24, INDEX["jawOpen"]]
    assert pause_jaw.min() > 0.8 * surprise[INDEX["jawOpen"]]
    assert out[centre_frame(alignment, 1), INDEX["jawOpen"]] <= 0.05
    assert out[:, INDEX["browInnerUp"]].max() > 0.5  # the upper face is the expression's


def test_silence_gives_a_near_neutral_mouth():
    alignment, duration = utterance(("sil", 2.0))
    energy, f0 = prosody(duration)
    out = animate(alignment, duration, energy=energy, f0=np.zeros_like(f0))
    mouth = list(REGIONS["jaw"] + REGIONS["mouth"] + REGIONS["tongue"])
    assert np.abs(out[:, mouth]).max() < 0.01


def test_energy_scales_the_jaw_and_f0_peaks_raise_the_brows():
    alignment, duration = utterance(("sil", 0.2), ("AA", 0.3), ("sil", 0.1), ("AA", 0.3), ("sil", 0.2))
    count = n_frames(duration)
    quiet_then_loud = np.where(np.arange(count) < count // 2, 0.1, 1.0)
    jaw = animate(alignment, duration, energy=quiet_then_loud)[:, INDEX["jawOpen"]]
    assert jaw[centre_frame(alignment, 3)] > 1.2 * jaw[centre_frame(alignment, 1)]
    f0 = np.full(count, 120.0)
    f0[centre_frame(alignment, 3) - 2: centre_frame(alignment, 3) + 3] = 180.0  # +7 semitones
    brows = animate(alignment, duration, f0=f0)[:, INDEX["browInnerUp"]]
    assert brows[centre_frame(alignment, 3)] > 0.2 and brows[centre_frame(alignment, 1)] < 0.01


def test_stressed_vowels_get_more_expression():
    alignment, duration = utterance(("sil", 0.6), ("AA", 0.2), ("sil", 0.3), ("AA", 0.2), ("sil", 0.6))
    anger = face("4C 5C 7C")
    stressed = alignment.index.to_numpy() == 3
    out = animate(alignment, duration, expression=anger, stressed=stressed, blinks=False)
    brow = out[:, INDEX["browDownLeft"]]
    assert brow[centre_frame(alignment, 3)] > 1.1 * brow[centre_frame(alignment, 1)]


def test_blinks_are_seeded_natural_and_both_eyes_together():
    alignment, duration = utterance(("sil", 20.0))
    out = animate(alignment, duration, seed=3)
    left, right = out[:, INDEX["eyeBlinkLeft"]], out[:, INDEX["eyeBlinkRight"]]
    assert np.array_equal(left, right)
    assert np.array_equal(out, animate(alignment, duration, seed=3))
    assert not np.array_equal(left, animate(alignment, duration, seed=4)[:, INDEX["eyeBlinkLeft"]])
    lids = blink_curve(600, 3)
    onsets = np.flatnonzero((lids[1:] > 0) & (lids[:-1] == 0)) + 1
    assert 20 / 6 - 1 <= len(onsets) <= 20 / 2 + 1
    assert np.all((np.diff(onsets) >= 2 * 30 - 1) & (np.diff(onsets) <= 6 * 30 + 1))
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, lids > 0, 0])))[::2]  # frames of each blink
    assert np.all((runs >= 3) & (runs <= 8)) and lids.max() == 1.0


def test_bad_inputs_are_refused():
    alignment, duration = SENTENCE
    with pytest.raises(ValueError, match="energy"):
        animate(alignment, duration, energy=np.ones(3))
    with pytest.raises(ValueError, match="expression"):
        animate(alignment, duration, expression=np.ones(51))
    with pytest.raises(ValueError, match="stressed"):
        animate(alignment, duration, expression=np.ones(52), stressed=np.ones(2, bool))
    with pytest.raises(ValueError, match="sorted"):
        animate(alignment.iloc[::-1], duration)


def test_animation_speed():
    alignment, duration = utterance(*[(p, 0.08) for p in ["sil", "HH", "AH", "L", "OW", "B", "AA", "M", "F"] * 200])
    energy, f0 = prosody(duration)
    start = time.perf_counter()
    out = animate(alignment, duration, expression=face("6D 12E"), energy=energy, f0=f0,
                  stressed=alignment.phone.eq("AA").to_numpy())
    seconds = time.perf_counter() - start
    print(f"\nanimate: {len(out) / seconds:.0f} frames/s, {duration / seconds:.0f}x real time")
