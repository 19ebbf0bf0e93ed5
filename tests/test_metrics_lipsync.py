"""Lip-sync metrics on hand-built sequences with known answers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from blendtalk.arkit import INDEX
from blendtalk.metrics.lipsync import (PROXY_CLOSED, av_offset, closure_rate, jitter,
                                       mouth_opening_distance, opening_from_curves,
                                       openness_correlation, rounding_from_curves, rounding_rate,
                                       segment_frames)
from blendtalk.speech.visemes import load_visemes

# Two 100 ms segments at 30 fps: frames 3..6 and 15..18.
START, END = np.array([0.1, 0.5]), np.array([0.2, 0.6])


def test_segment_frames_include_the_centre_of_a_segment_shorter_than_a_frame():
    first, last = segment_frames(np.array([0.1, 0.41]), np.array([0.2, 0.42]), 30)
    assert first.tolist() == [3, 12] and last.tolist() == [6, 12]


def test_closure_rate():
    open_mouth = np.full(30, 0.5)
    assert closure_rate(open_mouth, START, END, threshold=0.05) == 0.0
    one_closed = open_mouth.copy()
    one_closed[5] = 0.01  # inside the first segment only
    assert closure_rate(one_closed, START, END, threshold=0.05) == 0.5
    one_closed[10] = 0.0  # between the segments: does not count
    assert closure_rate(one_closed, START, END, threshold=0.05) == 0.5
    assert np.isnan(closure_rate(open_mouth, START[:0], END[:0], threshold=0.05))


def test_rounding_rate_on_pucker_or_funnel():
    curves = np.zeros((30, 52))
    curves[4, INDEX["mouthPucker"]] = 0.6
    curves[16, INDEX["mouthFunnel"]] = 0.2
    assert rounding_rate(rounding_from_curves(curves), START, END, threshold=0.3) == 0.5
    assert rounding_rate(rounding_from_curves(curves), START, END, threshold=0.2) == 1.0


def test_openness_correlation():
    start, end = np.array([0.0, 0.3, 0.6]), np.array([0.2, 0.5, 0.8])
    opening = np.zeros(30)
    opening[[3, 12, 21]] = [0.2, 0.4, 0.6]
    assert openness_correlation(opening, start, end, np.array([0.1, 0.2, 0.3])) == pytest.approx(1.0)
    assert openness_correlation(opening, start, end, np.array([0.3, 0.2, 0.1])) == pytest.approx(-1.0)


@pytest.mark.parametrize("shift", [-4, 0, 3])
def test_av_offset_finds_a_known_shift(shift):
    envelope = np.convolve(np.random.default_rng(0).random(240), np.ones(5) / 5, mode="same")
    opening = np.roll(envelope, shift)  # opening[t] = envelope[t - shift]
    assert av_offset(opening, envelope, max_lag=8) == shift


def test_jitter():
    assert jitter(np.linspace(0, 1, 30)) == pytest.approx(0.0)
    assert jitter(np.tile([0.0, 1.0], 10)[:, None]) == pytest.approx(2.0)
    assert jitter(np.zeros(2)) == 0.0


def test_mouth_opening_distance():
    assert mouth_opening_distance(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        mouth_opening_distance(np.zeros(3), np.zeros(4))


def test_opening_from_curves():
    table = load_visemes()
    poses = np.zeros((4, 52))
    poses[1, INDEX["jawOpen"]] = 0.5
    poses[2] = table.targets[table.phones.index("B")]
    poses[3] = table.targets[table.phones.index("AA")]
    opening = opening_from_curves(poses)
    assert opening[0] == 0.0 and opening[1] == pytest.approx(0.5)
    assert opening[2] <= PROXY_CLOSED < opening[3]


def test_lipsync_metrics_do_not_import_models():
    code = "import sys, blendtalk.metrics.lipsync; print(any(m.startswith('blendtalk.models') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
