"""Prompt/schema and the parse-validate-repair path on nasty answers."""

import json

import jsonschema
import pytest

from blendtalk.annotate.backends.base import Row
from blendtalk.annotate.prompt import (EXAMPLES, PROMPT_VERSION, build_messages, json_schema)
from blendtalk.annotate.validate import parse_answer

GOOD = {"emotions": ["joy"], "action_units": [{"au": 6, "intensity": "C"},
                                              {"au": 12, "intensity": "D"}],
        "description": "A warm smile lifting the cheeks."}


def test_examples_obey_their_own_rules():
    for row, answer in EXAMPLES:
        jsonschema.validate(answer, json_schema())
        ann = parse_answer(json.dumps(answer))
        assert ann.status == "ok", (row.text, ann.problems)


def test_messages_structure_and_hints():
    row = Row("t1", "I miss you so much.", ("sadness",), 0.75)
    msgs = build_messages(row, hints=True)
    assert msgs[0]["role"] == "system" and "AU12 Lip Corner Puller" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant"] * len(EXAMPLES) + ["user"]
    assert msgs[-1]["content"].endswith("Sentence: I miss you so much.")
    assert "sadness (intensity 0.75 of 1)" in msgs[-1]["content"]
    plain = build_messages(row, hints=False)
    assert plain[-1]["content"] == "Sentence: I miss you so much."
    other = build_messages(Row("t2", "Hi."), hints=False)
    assert plain[:-1] == other[:-1]  # shared prefix
    assert len(PROMPT_VERSION) == 12


def _parse(raw):
    return parse_answer(raw if isinstance(raw, str) else json.dumps(raw))


def test_ok_answer():
    ann = _parse(GOOD)
    assert ann.status == "ok" and ann.problems == []
    assert ann.action_units == [(6, "C"), (12, "D")]


def test_fenced_and_surrounded_json():
    ann = _parse("Here you go:\n```json\n" + json.dumps(GOOD) + "\n```\nHope it helps")
    assert ann.status == "repaired" and ann.action_units == [(6, "C"), (12, "D")]
    assert "code fence stripped" in ann.problems
    ann = _parse("Sure! " + json.dumps(GOOD) + " Done.")
    assert ann.status == "repaired"
    assert {"text before JSON removed", "text after JSON removed"} <= set(ann.problems)


def test_truncated_json_closed_only_when_safe():
    full = json.dumps(GOOD)
    ann = _parse(full[:-1])  # closing brace lost
    assert ann.status == "repaired" and "truncated JSON closed" in ann.problems
    assert ann.description == GOOD["description"]
    cut = full[:full.index("cheeks")]  # cut inside the description string
    ann = _parse(cut)
    assert ann.status == "invalid" and any("missing keys" in p for p in ann.problems)


def test_names_codes_and_dicts_where_lists_belong():
    ann = _parse({"emotions": "happy, surprised",
                  "action_units": {"lip corner puller": "d", "AU6": 3, "1": "B"},
                  "description": "Smiling."})
    assert ann.status == "repaired"
    assert ann.emotions == ["joy", "surprise"]
    assert ann.action_units == [(1, "B"), (6, "C"), (12, "D")]
    ann = _parse({"emotions": {"anger": 0.2, "disgust": 0.9}, "action_units": "AU9D + AU10C, lip pressor",
                  "description": "Sneer."})
    assert ann.emotions == ["disgust", "anger"]
    assert ann.action_units == [(9, "D"), (10, "C"), (24, "C")]
    assert "action_units: AU24 has no intensity; set to C" in ann.problems


def test_unknown_aus_wrong_letters_extra_keys():
    ann = _parse({"emotions": ["joy", "bliss"], "confidence": 0.9,
                  "action_units": [{"au": 99, "intensity": "A"}, {"au": 12, "intensity": "Z"},
                                   {"au": 6, "intensity": "marked", "side": "left"},
                                   {"au": "AU25", "intensity": 0.5}],
                  "description": "  A   grin. "})
    assert ann.status == "repaired"
    assert ann.emotions == ["joy"]
    assert ann.action_units == [(6, "C"), (25, "C")]
    text = "\n".join(ann.problems)
    for expected in ("extra key 'confidence' dropped", "unknown emotion 'bliss' dropped",
                     "unknown AU 99 dropped", "AU12 intensity 'Z' invalid; AU dropped",
                     "extra keys ['side']", "description: whitespace normalised"):
        assert expected in text
    assert ann.description == "A grin."


def test_duplicates_and_incompatible_pairs():
    ann = _parse({"emotions": ["anger"],
                  "action_units": [{"au": 5, "intensity": "C"}, {"au": 7, "intensity": "D"},
                                   {"au": 12, "intensity": "B"}, {"au": 15, "intensity": "B"},
                                   {"au": 4, "intensity": "B"}, {"au": 4, "intensity": "E"}],
                  "description": "Glare."})
    assert ann.action_units == [(4, "E"), (7, "D"), (12, "B")]  # 7 stronger; 12 listed first
    assert any("AU5 and AU7 cannot co-occur; kept AU7" in p for p in ann.problems)
    assert any("AU12 and AU15 cannot co-occur; kept AU12 (listed first)" in p for p in ann.problems)
    assert "action_units: duplicate AU4 merged (kept intensity E)" in ann.problems


@pytest.mark.parametrize("raw, reason", [
    ("", "empty answer"), ("   ", "empty answer"), ("I cannot help with that.", "no JSON object"),
    ("[1, 2]", "no JSON object"), ("{\"a\": [1, {\"b\": 2}]}", "missing keys"), ('{"emotions": [], "action_units": [], "description": "x"}',
                                  "emotions: none valid"),
    ('{"emotions": ["joy"], "action_units": [], "description": ""}', "description: empty"),
    ('{"emotions": ["joy"], "action_units": []}', "missing keys"),
])
def test_invalid_answers_keep_reason(raw, reason):
    ann = parse_answer(raw)
    assert ann.status == "invalid"
    assert any(reason in p for p in ann.problems), ann.problems


def test_long_description_cut_at_word():
    ann = _parse({**GOOD, "description": "word " * 100})
    assert ann.status == "repaired" and len(ann.description) <= 300
    assert ann.description.endswith("word…")
