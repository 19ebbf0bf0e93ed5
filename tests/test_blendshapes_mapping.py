"""AU → ARKit mapping, intensity scale, combination rule and vectorised conversion (issue 4, item 3)."""

import csv

import numpy as np
import pyarrow as pa
import pytest

from blendtalk.arkit import ARKIT_NAMES, INDEX, LR_PAIRS, mirror
from blendtalk.blendshapes.convert import (ACTION_UNITS_TYPE, FlatAnnotations, aus_to_arkit,
                                           entry_problems, flatten_action_units)
from blendtalk.blendshapes.mapping import (DEFAULT_INTENSITY_SCALE, MAPPING_CSV, check_scale, combine,
                                           expression, load_mapping, parse_aus)
from blendtalk.config import REPO_ROOT

CATALOGUE_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26, 27, 28,
                 41, 42, 43, 44, 45, 61, 62, 63, 64)
# Prototypes of the basic emotions (EMFACS-style), as an annotator would score them.
PROTOTYPES = {
    "joy": "6D 12D 25B",
    "sadness": "1C 4B 15C 17B",
    "surprise": "1D 2D 5C 25C 26C",
    "anger": "4D 5B 7C 23C 24C",
    "fear": "1C 2C 4C 5D 7B 20C 25C",
    "disgust": "9D 10C 15B 16B",
    "contempt": "12B 14C",
    "neutral": "",
}


@pytest.fixture(scope="module")
def mapping():
    return load_mapping()


def _catalogue_aus():
    try:
        from blendtalk.facs.catalogue import load_catalogue
        return tuple(load_catalogue().numbers)
    except ImportError:
        path = REPO_ROOT / "resources" / "facs" / "action_units.csv"
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                return tuple(int(r["au"]) for r in csv.DictReader(fh))
        return CATALOGUE_AUS


def _expr(spec, mapping):
    return expression(parse_aus(spec), mapping)


def test_every_catalogue_au_is_mapped_with_reasoning(mapping):
    assert set(mapping.aus) == set(_catalogue_aus())
    with open(MAPPING_CSV, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(len(r["reasoning"]) > 20 for r in rows)
    assert mapping.weights.shape == (len(mapping.aus), 52)
    assert np.all((mapping.weights >= 0) & (mapping.weights <= 1))
    assert np.all(mapping.weights.max(axis=1) > 0)  # every AU drives something


@pytest.mark.parametrize("au, channels", [
    (1, ["browInnerUp"]), (2, ["browOuterUpLeft", "browOuterUpRight"]), (4, ["browDownLeft"]),
    (5, ["eyeWideLeft"]), (6, ["cheekSquintLeft", "eyeSquintLeft"]), (7, ["eyeSquintRight"]),
    (9, ["noseSneerLeft"]), (10, ["mouthUpperUpLeft"]), (12, ["mouthSmileLeft", "mouthSmileRight"]),
    (14, ["mouthDimpleLeft"]), (15, ["mouthFrownRight"]), (16, ["mouthLowerDownLeft"]),
    (17, ["mouthShrugLower"]), (18, ["mouthPucker"]), (20, ["mouthStretchLeft"]), (22, ["mouthFunnel"]),
    (23, ["mouthPressLeft", "mouthRollLower"]), (24, ["mouthPressRight", "mouthRollUpper"]),
    (25, ["jawOpen", "mouthLowerDownLeft"]), (26, ["jawOpen"]), (27, ["jawOpen", "mouthStretchLeft"]),
    (28, ["mouthRollLower", "mouthRollUpper"]), (43, ["eyeBlinkLeft"]), (45, ["eyeBlinkRight"]),
    (41, ["eyeBlinkLeft"]), (42, ["eyeBlinkLeft"]), (44, ["eyeSquintLeft"]),
    (61, ["eyeLookOutLeft", "eyeLookInRight"]), (62, ["eyeLookInLeft", "eyeLookOutRight"]),
    (63, ["eyeLookUpLeft", "eyeLookUpRight"]), (64, ["eyeLookDownLeft", "eyeLookDownRight"]),
])
def test_au_drives_its_documented_channels(mapping, au, channels):
    w = mapping.weights[mapping.row_of(au)]
    for name in channels:
        assert w[INDEX[name]] > 0, (au, name)


def test_jaw_opening_grows_from_25_to_26_to_27_and_partial_blinks_are_partial(mapping):
    jaw = [mapping.weights[mapping.row_of(a)][INDEX["jawOpen"]] for a in (25, 26, 27)]
    assert jaw[0] < jaw[1] < jaw[2] == 1.0
    blink = {a: mapping.weights[mapping.row_of(a)][INDEX["eyeBlinkLeft"]] for a in (41, 42, 43, 45)}
    assert blink[41] < blink[42] < blink[43] == blink[45] == 1.0


def test_emotion_semantics(mapping):
    e = {k: _expr(v, mapping) for k, v in PROTOTYPES.items()}

    def high(emo, *names, floor=0.4):
        for name in names:
            assert e[emo][INDEX[name]] >= floor, (emo, name, e[emo][INDEX[name]])

    high("joy", "mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight", floor=0.6)
    high("sadness", "browInnerUp", "mouthFrownLeft", "mouthFrownRight")
    high("surprise", "browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight", "jawOpen")
    high("anger", "browDownLeft", "browDownRight", "mouthPressLeft", "mouthPressRight")
    # The defining channels separate the emotions from each other.
    top = lambda name: max(e, key=lambda k: e[k][INDEX[name]])  # noqa: E731
    assert top("mouthSmileLeft") == "joy" and top("cheekSquintRight") == "joy"
    assert top("mouthFrownLeft") == "sadness"
    assert top("browOuterUpLeft") == "surprise" and top("jawOpen") == "surprise"
    assert top("mouthPressLeft") == "anger" and top("browDownRight") == "anger"
    assert e["sadness"][INDEX["mouthSmileLeft"]] == 0 and e["joy"][INDEX["mouthFrownLeft"]] == 0
    assert np.all(e["neutral"] == 0)


@pytest.mark.parametrize("au", CATALOGUE_AUS)
def test_intensity_e_gives_more_than_a(mapping, au):
    levels = [expression({au: letter}, mapping) for letter in "ABCDE"]
    active = mapping.weights[mapping.row_of(au)] > 0
    for lower, higher in zip(levels, levels[1:]):
        assert np.all(higher[active] > lower[active])
    assert np.allclose(levels[-1], mapping.weights[mapping.row_of(au)])  # E is the mapped weight
    assert np.allclose(levels[0], 0.2 * mapping.weights[mapping.row_of(au)])


@pytest.mark.parametrize("au", [a for a in CATALOGUE_AUS if a not in (61, 62)])
def test_symmetric_aus_move_left_and_right_equally(mapping, au):
    for letter in "ACE":
        v = expression({au: letter}, mapping)
        for left, right in LR_PAIRS:
            assert v[left] == v[right], (au, ARKIT_NAMES[left])


def test_gaze_left_mirrors_gaze_right(mapping):
    assert np.array_equal(mirror(expression({61: "D"}, mapping)), expression({62: "D"}, mapping))


def test_combination_is_bounded_probabilistic_or(mapping):
    everything = expression({au: "E" for au in CATALOGUE_AUS}, mapping)
    assert np.all((everything >= 0) & (everything <= 1))
    # AU6C (cheekSquint 0.6) with AU12E (cheekSquint 0.2): 1 - 0.4 * 0.8 = 0.68, not the sum 0.8.
    both = expression({6: "C", 12: "E"}, mapping)
    assert both[INDEX["cheekSquintLeft"]] == pytest.approx(0.68)
    # Stacking never lowers a channel and never exceeds 1, even for many strong contributions.
    c = np.full((200, 52), 0.9)
    total = combine(c)
    assert np.all(total <= 1.0) and np.all(total >= 0.9)
    assert combine([np.full(52, 0.3)]) == pytest.approx(np.full(52, 0.3))
    assert combine([]).sum() == 0
    # Order does not matter.
    assert np.array_equal(expression({23: "C", 24: "D", 28: "B"}, mapping),
                          expression({28: "B", 24: "D", 23: "C"}, mapping))


def test_custom_scale_and_its_checks(mapping):
    scale = {"A": 0.1, "B": 0.3, "C": 0.5, "D": 0.7, "E": 0.9}
    assert expression({26: "C"}, mapping, scale)[INDEX["jawOpen"]] == pytest.approx(0.6 * 0.5)
    with pytest.raises(ValueError, match="increase"):
        check_scale({"A": 0.5, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0})
    with pytest.raises(ValueError, match=r"missing \['E'\]"):
        check_scale({"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8})
    assert check_scale(DEFAULT_INTENSITY_SCALE).tolist() == [0.2, 0.4, 0.6, 0.8, 1.0]


def test_parse_aus():
    assert parse_aus("6C 12D") == {6: "C", 12: "D"}
    assert parse_aus("AU1, au2b 12") == {1: "C", 2: "B", 12: "C"}
    assert parse_aus("12B 12D") == {12: "D"}
    with pytest.raises(ValueError, match="'6X'"):
        parse_aus("6X")
    with pytest.raises(KeyError, match="AU 99"):
        expression(parse_aus("99C"), load_mapping())


@pytest.mark.parametrize("content, message", [
    ("au,blendshape,weight\n1,browInnerUp,1\n", "line 1: header"),
    ("au,blendshape,weight,reasoning\n1,browInnerUp,1,why\n2,browOuterUpp,1,why\n",
     "line 3, column blendshape: 'browOuterUpp'"),
    ("au,blendshape,weight,reasoning\n1,browInnerUp,1.5,why\n", "line 2, column weight: '1.5'"),
    ("au,blendshape,weight,reasoning\nAU1,browInnerUp,1,why\n", "line 2, column au: 'AU1'"),
    ("au,blendshape,weight,reasoning\n1,browInnerUp,1,\n", "line 2, column reasoning"),
    ("au,blendshape,weight,reasoning\n2,browOuterUp,1,why\n2,browOuterUpLeft,1,why\n",
     "line 3, column blendshape: AU 2 already drives browOuterUpLeft"),
])
def test_mapping_file_errors_name_file_line_and_column(tmp_path, content, message):
    path = tmp_path / "bad_map.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match="bad_map.csv " + message):
        load_mapping(path)


def _random_annotations(n, seed, aus=CATALOGUE_AUS):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = rng.integers(0, 7)
        out.append([(int(rng.choice(aus)), "ABCDE"[rng.integers(0, 5)]) for _ in range(k)])
    return out


def test_vectorised_conversion_equals_per_annotation_rule(mapping):
    annotations = _random_annotations(500, seed=3)
    annotations[0] = [(26, "A"), (26, "E"), (27, "E")]  # duplicate AU: counts once, at E
    column = pa.array([[{"au": a, "intensity": s} for a, s in ann] for ann in annotations],
                      type=ACTION_UNITS_TYPE)
    weights = aus_to_arkit(flatten_action_units(column), mapping)
    assert weights.shape == (500, 52) and weights.dtype == np.float32
    assert np.all((weights >= 0) & (weights <= 1))
    for row, ann in zip(weights, annotations):
        by_au = {}
        for a, s in ann:
            by_au[a] = max(by_au.get(a, s), s)
        np.testing.assert_allclose(row, expression(by_au, mapping), atol=1e-6)
    assert weights[0, INDEX["jawOpen"]] == 1.0


def test_entry_problems_and_conversion_refusal(mapping):
    column = pa.array([[{"au": 6, "intensity": "C"}], [{"au": 3, "intensity": "C"}],
                       [{"au": 12, "intensity": "F"}, {"au": 12, "intensity": None}], None],
                      type=ACTION_UNITS_TYPE)
    flat = flatten_action_units(column)
    assert flat.n_rows == 4 and flat.rows.tolist() == [0, 1, 2, 2]
    problems = entry_problems(flat, mapping)
    assert problems["unmapped_au"].tolist() == [0, 1, 0, 0]
    assert problems["bad_intensity"].tolist() == [0, 0, 2, 0]
    with pytest.raises(ValueError, match="unmapped_au"):
        aus_to_arkit(flat, mapping)
    empty = FlatAnnotations(3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8))
    assert np.array_equal(aus_to_arkit(empty, mapping), np.zeros((3, 52), np.float32))
