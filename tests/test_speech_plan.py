"""The speech corpus plan: reproducible, balanced, every sentence in two styles of two emotions."""

import pandas as pd
import pytest

from blendtalk.ids import split_of, text_id
from blendtalk.speech.plan import plan_utterances, utt_id
from blendtalk.speech.styles import load_styles

STYLES = "resources/speech/styles.csv"
VOICES = ["espeak:en-us", "espeak:en-gb+m3", "piper:joe"]


def _corpus(n: int = 120) -> pd.DataFrame:
    emotions = ["joy", "anger", "sadness", "fear"]
    texts = [f"this is sentence number {i} for the speech corpus" for i in range(n)]
    ids = [text_id(t) for t in texts]
    return pd.DataFrame({"text_id": ids, "text": texts, "emotion": [emotions[i % 4] for i in range(n)],
                         "intensity": [None] * n,
                         "split": split_of(ids, {"train": 0.6, "val": 0.2, "test": 0.2})})


def test_plan_is_reproducible_balanced_and_two_styled():
    styles = load_styles(STYLES)
    per_split = {"train": 8, "val": 2, "test": 4}
    plan = plan_utterances(_corpus(), styles, per_split, 25, 2, VOICES, seed=0)
    again = plan_utterances(_corpus().sample(frac=1, random_state=1), styles, per_split, 25, 2, VOICES, seed=0)
    pd.testing.assert_frame_equal(plan, again)
    sentences = plan.drop_duplicates("text_id")
    assert sentences["split"].value_counts().to_dict() == per_split
    assert sentences.loc[sentences["split"] == "train", "sentence_emotion"].value_counts().tolist() == [2, 2, 2, 2]
    for _, group in plan.groupby("text_id"):
        assert len(group) == 2 and group["emotion"].nunique() == 2
        assert group["sentence_emotion"].iloc[0] in set(group["emotion"])
    assert plan["utt_id"].is_unique
    row = plan.iloc[0]
    assert row["utt_id"] == utt_id(row["text_id"], row["style"], row["voice"])
    assert set(plan["voice"]) <= set(VOICES) and plan["voice"].nunique() > 1
    other_seed = plan_utterances(_corpus(), styles, per_split, 25, 2, VOICES, seed=1)
    assert set(other_seed["text_id"]) != set(plan["text_id"])


def test_style_table_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "styles.csv"
    text = open(STYLES, encoding="utf-8").read().splitlines()
    text[3] = text[3].replace(",0.95,", ",9.5,", 1)
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"styles.csv line 4: rate 9.5 is outside"):
        load_styles(bad)


def test_video_sample_is_test_split_and_stable():
    from blendtalk.speech.plan import video_sample

    plan = plan_utterances(_corpus(), load_styles(STYLES), {"train": 4, "val": 2, "test": 4}, 25, 2, VOICES, 0)
    picked = video_sample(plan, 3, seed=0)
    assert len(picked) == 3 and set(plan.set_index("utt_id").loc[picked, "split"]) == {"test"}
    assert video_sample(plan.iloc[::-1], 3, seed=0) == picked
