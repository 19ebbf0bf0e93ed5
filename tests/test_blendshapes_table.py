"""The expressions table, its summary, heatmap, augmentation, settings and `blendtalk expr`."""

import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from blendtalk.arkit import ARKIT_NAMES, INDEX, LR_PAIRS
from blendtalk.blendshapes.augment import augment
from blendtalk.blendshapes.mapping import expression, load_mapping, parse_aus
from blendtalk.blendshapes.plot import heatmap
from blendtalk.blendshapes.summary import emotion_means, summarise
from blendtalk.blendshapes.table import EXCLUSION_REASONS, build_expressions
from blendtalk.cli import main
from blendtalk.config import load_config
from blendtalk.io import write_json
from blendtalk.livelink import read_livelink_csv


def _aus(spec):
    return [{"au": au, "intensity": letter} for au, letter in parse_aus(spec).items()]


def _desc(text_id, spec, status="ok", emotions=("joy",)):
    return {"text_id": text_id, "text": f"text {text_id}", "emotions": list(emotions),
            "action_units": None if spec is None else _aus(spec), "description": f"face of {text_id}",
            "status": status, "problems": [], "backend": "rules", "model": "rules-v1",
            "prompt_version": "1", "attempts": 1, "raw": "{}"}


def fixture_frames():
    """Descriptions with one row per exclusion reason, plus the corpus they join to."""
    rows = [
        _desc("00000000000000a1", "6D 12D 25B"),
        _desc("00000000000000a2", "1C 4B 15C 17B", status="repaired"),
        _desc("00000000000000a3", "1D 2D 5C 26C"),
        _desc("00000000000000a4", "4D 5B 7C 23C 24C"),
        _desc("00000000000000a5", ""),                       # neutral: no AUs, kept as zeros
        _desc("00000000000000a6", "6E 12E"),
        _desc("00000000000000b1", "12C", status="invalid"),  # status_invalid
        _desc("00000000000000b2", "12C", status="weird"),    # unknown_status
        _desc("00000000000000a1", "15E"),                    # duplicate_text_id
        _desc("00000000000000b3", "12C"),                    # not_in_corpus
        _desc("00000000000000b4", None),                     # missing_action_units
        _desc("00000000000000b5", "12C 3C"),                 # unmapped_au
        _desc("00000000000000b6", "12C"),                    # bad_intensity (set below)
    ]
    descriptions = pd.DataFrame(rows)
    descriptions.at[12, "action_units"] = [{"au": 12, "intensity": "F"}]
    corpus_ids = ["00000000000000a1", "00000000000000a2", "00000000000000a3", "00000000000000a4",
                  "00000000000000a5", "00000000000000a6", "00000000000000b1", "00000000000000b2",
                  "00000000000000b4", "00000000000000b5", "00000000000000b6", "00000000000000a1"]
    emotions = ["joy", "sadness", "surprise", "anger", "neutral", "joy", "joy", "joy", "joy", "joy",
                "joy", "anger"]
    splits = ["train", "val", "test", "train", "train", "val", "train", "train", "train", "train",
              "train", "test"]
    corpus = pd.DataFrame({"text_id": corpus_ids, "source": "fixture", "source_row": range(12),
                           "text": [f"text {t}" for t in corpus_ids], "emotion": emotions,
                           "emotions": [[e] for e in emotions], "source_labels": [[e] for e in emotions],
                           "intensity": None, "split": splits})
    return descriptions, corpus


@pytest.fixture(scope="module")
def mapping():
    return load_mapping()


@pytest.fixture(scope="module")
def built(mapping):
    descriptions, corpus = fixture_frames()
    return build_expressions(descriptions, corpus, mapping)


def test_table_columns_values_and_order(built, mapping):
    t = built.table
    assert list(t.columns) == ["text_id", "split", "emotion", "description", *ARKIT_NAMES]
    assert all(t[c].dtype == np.float32 for c in ARKIT_NAMES)
    assert t["text_id"].tolist() == [f"00000000000000a{i}" for i in range(1, 7)]
    assert t["split"].tolist() == ["train", "val", "test", "train", "train", "val"]
    assert t["emotion"].tolist() == ["joy", "sadness", "surprise", "anger", "neutral", "joy"]
    assert t["description"].iloc[0] == "face of 00000000000000a1"
    w = t[list(ARKIT_NAMES)].to_numpy()
    assert np.all((w >= 0) & (w <= 1))
    np.testing.assert_allclose(w[0], expression(parse_aus("6D 12D 25B"), mapping), atol=1e-6)
    assert w[5, INDEX["mouthSmileLeft"]] == 1.0 and np.all(w[4] == 0)
    assert w[0, INDEX["mouthSmileLeft"]] > 0.6 and w[1, INDEX["browInnerUp"]] > 0.4
    assert w[2, INDEX["jawOpen"]] == pytest.approx(0.6 * 0.6) and w[3, INDEX["mouthPressRight"]] > 0.4
    for left, right in LR_PAIRS:
        assert np.array_equal(w[:, left], w[:, right])


def test_every_exclusion_is_counted_with_its_reason(built):
    assert built.n_descriptions == 13
    assert built.exclusions == {reason: 1 for reason in EXCLUSION_REASONS}
    assert built.corpus_duplicates == 1


def test_same_input_same_table_whatever_the_row_order(mapping, built):
    descriptions, corpus = fixture_frames()
    shuffled = build_expressions(descriptions.iloc[[0, *range(12, 0, -1)]], corpus, mapping)
    pd.testing.assert_frame_equal(shuffled.table, built.table)


def test_missing_columns_are_named(mapping):
    descriptions, corpus = fixture_frames()
    with pytest.raises(ValueError, match=r"results/x.parquet lacks column\(s\) \['status'\]"):
        build_expressions(descriptions.drop(columns="status"), corpus, mapping,
                          descriptions_name="results/x.parquet")
    with pytest.raises(ValueError, match=r"corpus lacks column\(s\) \['split'\]"):
        build_expressions(descriptions, corpus.drop(columns="split"), mapping)


def test_augmentation_is_seeded_bounded_and_off_by_default(mapping, built):
    descriptions, corpus = fixture_frames()
    kw = dict(seed=7, asymmetry=0.3, jitter=0.2)
    a = build_expressions(descriptions, corpus, mapping, **kw).table
    b = build_expressions(descriptions, corpus, mapping, **kw).table
    c = build_expressions(descriptions, corpus, mapping, **{**kw, "seed": 8}).table
    pd.testing.assert_frame_equal(a, b)
    wa, wc = a[list(ARKIT_NAMES)].to_numpy(), c[list(ARKIT_NAMES)].to_numpy()
    assert not np.array_equal(wa, wc)
    assert np.all((wa >= 0) & (wa <= 1))
    l, r = INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]
    assert wa[0, l] != wa[0, r]
    base = built.table[list(ARKIT_NAMES)].to_numpy()
    assert np.all((wa == 0) == (base == 0))  # augmentation never creates or removes activity
    assert np.array_equal(augment(base, built.table["text_id"], seed=1), base)


def test_augment_draws_follow_the_row_not_the_table():
    rng = np.random.default_rng(0)
    w = rng.random((50, 52)).astype(np.float32)
    ids = pd.Series([f"{i:016x}" for i in range(50)])
    full = augment(w, ids, seed=3, asymmetry=0.2, jitter=0.1)
    part = rng.permutation(50)[:20]
    np.testing.assert_array_equal(augment(w[part], ids[part], seed=3, asymmetry=0.2, jitter=0.1),
                                  full[part])
    assert not np.array_equal(augment(w, ids, seed=4, asymmetry=0.2, jitter=0.1), full)
    with pytest.raises(ValueError, match="20 ids for 50 rows"):
        augment(w, ids[:20], seed=3, jitter=0.1)


def test_augment_factors():
    w = np.full((4000, 52), 0.5, np.float32)
    ids = pd.Series([f"id{i}" for i in range(4000)])
    asym = augment(w, ids, seed=0, asymmetry=0.2)
    l, r = INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]
    np.testing.assert_allclose(asym[:, l] + asym[:, r], 1.0, atol=1e-6)  # (1+a)/2 + (1-a)/2
    assert np.abs(asym[:, l] - 0.5).max() <= 0.1 + 1e-6
    assert np.all(asym[:, INDEX["jawOpen"]] == 0.5)
    assert np.std(asym[:, l] - 0.5) == pytest.approx(0.1 / np.sqrt(3), rel=0.1)  # U(-0.1, 0.1)
    gain = augment(w, ids, seed=0, jitter=0.1)
    assert np.all(gain[:, l] == gain[:, r])
    assert np.std(np.log(gain[:, 0] / 0.5)) == pytest.approx(0.1, rel=0.1)
    with pytest.raises(ValueError, match=">= 0"):
        augment(w, ids, seed=0, jitter=-1)


def test_summary_and_heatmap(built, tmp_path):
    s = summarise(built.table, built.n_descriptions, built.exclusions, {"seed": 0}, built.corpus_duplicates)
    assert s["counts"] == {"descriptions": 13, "kept": 6, "excluded": 7,
                           "by_split": {"test": 1, "train": 3, "val": 2},
                           "by_emotion": {"anger": 1, "joy": 2, "neutral": 1, "sadness": 1, "surprise": 1}}
    assert s["exclusions"]["status_invalid"] == 1 and s["corpus_duplicate_text_ids"] == 1
    joy = built.table[built.table["emotion"] == "joy"]["mouthSmileLeft"].mean()
    assert s["per_emotion_means"]["joy"]["mouthSmileLeft"] == pytest.approx(joy, abs=1e-6)
    assert list(s["per_emotion_means"]) == ["anger", "joy", "sadness", "surprise", "neutral"]
    stats = s["channel_stats"]["mouthSmileLeft"]
    assert stats["max"] == 1.0 and stats["min"] == 0.0 and stats["active_fraction"] == pytest.approx(2 / 6)
    write_json(s, tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text())["counts"]["kept"] == 6

    means = emotion_means(built.table)
    assert means.shape == (5, 52)
    heatmap(means, tmp_path / "heat.png", counts={"joy": 2}, dpi=50)
    image = mpimg.imread(tmp_path / "heat.png")
    assert image.ndim == 3 and image.shape[1] == 16 * 50 and image.std() > 0.05


def test_schema_defaults_and_checks(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("blendshapes:\n  augment: {jitter: 0.1}\n")
    s = load_config(path)["blendshapes"]
    assert s["augment"] == {"jitter": 0.1, "asymmetry": 0.0}
    assert s["intensity_scale"] == {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
    assert s["mapping"] == "resources/facs/au_to_arkit.csv" and s["heatmap_dpi"] == 120
    path.write_text("blendshapes:\n  augment: {noise: 0.1}\n")
    with pytest.raises(Exception, match="blendshapes.augment.noise"):
        load_config(path)


def test_cli_expr_prints_vector_and_writes_live_link(tmp_path, capsys, mapping):
    out = tmp_path / "smile.csv"
    assert main(["expr", "--aus", "6C 12D", "-o", str(out), "--frames", "3"]) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line)
    assert float(printed["mouthSmileLeft"]) == pytest.approx(0.8)
    assert float(printed["cheekSquintRight"]) == pytest.approx(1 - 0.4 * 0.84, abs=1e-4)
    assert "jawOpen" not in printed
    clip = read_livelink_csv(out)
    assert clip.weights.shape == (3, 52)
    np.testing.assert_array_equal(clip.weights[2], expression({6: "C", 12: "D"}, mapping))
    assert main(["expr", "--aus", "6Q"]) == 2
    assert "bad AU token" in capsys.readouterr().err
