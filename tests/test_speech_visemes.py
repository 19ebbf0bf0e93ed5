"""The viseme table and the coarticulated viseme curves on hand-built phone sequences."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from blendtalk.arkit import INDEX
from blendtalk.speech.phones import PHONES, phone_table
from blendtalk.speech.visemes import (VISEMES_CSV, load_visemes, n_frames, segments,
                                      viseme_curves)


def utterance(*phones: tuple[str, float]) -> tuple[pd.DataFrame, float]:
    """An alignment of contiguous `(phone, seconds)` pairs from 0 s, and its duration (s)."""
    names, lengths = zip(*phones)
    end = np.cumsum(lengths)
    alignment = pd.DataFrame({"phone": list(names), "start_s": end - np.array(lengths), "end_s": end,
                              "word": ["" if p == "sil" else "w" for p in names]})
    return alignment, float(end[-1])


def centre_frame(alignment: pd.DataFrame, row: int, fps: int = 30) -> int:
    return int(np.rint((alignment.start_s[row] + alignment.end_s[row]) / 2 * fps))


def test_table_covers_the_phone_set_with_the_classes_of_phones_csv():
    table = load_visemes()
    assert table.phones == PHONES
    classes = phone_table()["viseme"]
    assert all(classes[p] == v for p, v in zip(table.phones, table.visemes))
    assert set(np.array(table.phones)[table.must_reach]) == {"P", "B", "M", "F", "V"}
    assert table.dominance[table.phones.index("B")] > table.dominance[table.phones.index("AH")]


def test_open_vowels_open_the_jaw_by_their_openness():
    table = load_visemes()
    vowels = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "EY", "IH", "IY", "OW", "UW"]
    jaw = table.targets[table.rows(vowels), INDEX["jawOpen"]]
    openness = phone_table().loc[vowels, "openness"].to_numpy()
    assert np.corrcoef(jaw, openness)[0, 1] > 0.95


@pytest.mark.parametrize("change, message", [
    (lambda df: df.assign(mouthClose=df.jawOpen + 0.1), "mouthClose must not exceed jawOpen"),
    (lambda df: df.rename(columns={"mouthPucker": "mouthPuck"}), "not an ARKit name"),
    (lambda df: df[df.phone != "ZH"], "phone set"),
    (lambda df: df.assign(dominance=0.0), "dominance"),
])
def test_table_validation(tmp_path, change, message):
    path = tmp_path / "visemes.csv"
    change(pd.read_csv(VISEMES_CSV, keep_default_na=False)).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message):
        load_visemes(path)


@pytest.mark.parametrize("phone", ["P", "B", "M"])
@pytest.mark.parametrize("length", [0.04, 0.05, 0.06])
def test_short_bilabials_between_open_vowels_close_at_their_centre(phone, length):
    alignment, duration = utterance(("sil", 0.2), ("AA", 0.15), (phone, length), ("AA", 0.15), ("sil", 0.2))
    curves = viseme_curves(alignment, duration)
    target = load_visemes().targets[load_visemes().phones.index(phone)]
    frame = curves[centre_frame(alignment, 2)]
    assert frame[INDEX["mouthClose"]] == pytest.approx(target[INDEX["mouthClose"]], abs=1e-9)
    assert frame[INDEX["jawOpen"]] <= 0.05
    assert frame[INDEX["mouthPressLeft"]] >= 0.5
    assert curves[:, INDEX["jawOpen"]].max() > 0.3  # the vowels around it do open


def test_labiodentals_roll_the_lower_lip_in():
    for phone in ("F", "V"):
        alignment, duration = utterance(("sil", 0.2), ("IY", 0.12), (phone, 0.05), ("IY", 0.12), ("sil", 0.2))
        frame = viseme_curves(alignment, duration)[centre_frame(alignment, 2)]
        assert frame[INDEX["mouthRollLower"]] >= 0.5
        assert frame[INDEX["mouthUpperUpLeft"]] >= 0.2


def test_uw_rounds_and_is_anticipated():
    alignment, duration = utterance(("sil", 0.3), ("T", 0.06), ("UW", 0.15), ("sil", 0.3))
    pucker = viseme_curves(alignment, duration)[:, INDEX["mouthPucker"]]
    assert pucker[centre_frame(alignment, 2)] >= 0.5
    onset = int(np.floor(alignment.start_s[2] * 30))
    assert pucker[onset - 1] > 0.1  # rounding already rising during the /t/


def test_silence_is_the_neutral_mouth():
    alignment, duration = utterance(("sil", 1.0))
    assert np.all(viseme_curves(alignment, duration) == 0)


def test_uncovered_time_is_silence():
    alignment, _ = utterance(("AA", 0.2))
    segs = segments(alignment.assign(start_s=alignment.start_s + 0.5, end_s=alignment.end_s + 0.5), 1.0,
                    load_visemes())
    assert [load_visemes().phones[r] for r in segs.rows] == ["sil", "AA", "sil"]
    assert segs.start_s.tolist() == [0.0, 0.5, 0.7] and segs.end_s[-1] == 1.0


def test_unknown_phones_are_named():
    alignment, duration = utterance(("AA1", 0.2))
    with pytest.raises(ValueError, match="AA1"):
        viseme_curves(alignment, duration)


@pytest.mark.parametrize("duration, frames", [(0.01, 1), (0.1, 3), (1.0, 30), (2.345, 71)])
def test_n_frames_is_the_ceiling_of_30_times_the_duration(duration, frames):
    assert n_frames(duration) == frames


def test_viseme_curves_speed():
    phones = ["sil", "HH", "AH", "L", "OW", "W", "ER", "L", "D", "B", "AA", "M", "F", "IY", "S", "T"] * 100
    alignment, duration = utterance(*[(p, 0.08) for p in phones])
    start = time.perf_counter()
    curves = viseme_curves(alignment, duration)
    seconds = time.perf_counter() - start
    print(f"\nviseme_curves: {len(curves) / seconds:.0f} frames/s, {duration / seconds:.0f}x real time")
