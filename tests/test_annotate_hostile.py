"""Hostile answers: nothing a backend returns may crash validation, the cache, a shard or the merge."""

from __future__ import annotations

import json
import logging
import random

import pandas as pd
import pytest

from blendtalk.annotate.backends.base import Answer
from blendtalk.annotate.cache import AnswerCache
from blendtalk.annotate.run import annotate_shard, merge_shards
from blendtalk.annotate.validate import MAX_PROBLEMS, MAX_RAW_CHARS, STATUSES, parse_answer
from blendtalk.ids import text_id

GOOD = {"emotions": ["joy"], "action_units": [{"au": 6, "intensity": "C"},
                                              {"au": 12, "intensity": "D"}],
        "description": "A warm smile lifting the cheeks."}


def good(**fields) -> str:
    """GOOD as JSON text with some fields replaced by raw JSON text."""
    parts = {k: json.dumps(v) for k, v in GOOD.items()} | fields
    return "{" + ", ".join(f'"{k}": {v}' for k, v in parts.items()) + "}"


DEEP = "[" * 10_000 + "]" * 10_000

#: (raw answer: any object a backend might return, expected status)
HOSTILE: list[tuple[object, str]] = [
    (json.dumps(GOOD), "ok"),
    # numbers past every limit
    (good(action_units='[{"au": ' + "9" * 400 + ', "intensity": "C"}, {"au": 12, "intensity": "D"}]'),
     "repaired"),
    (good(action_units='[{"au": 6, "intensity": 1e309}, {"au": 12, "intensity": "D"}]'), "repaired"),
    (good(action_units='[{"au": 6, "intensity": ' + "9" * 400 + '}]'), "repaired"),
    (good(action_units='[{"au": 1e309, "intensity": "C"}]'), "repaired"),
    (good(action_units='[{"au": -1e309, "intensity": NaN}, {"au": 12, "intensity": Infinity}]'),
     "repaired"),
    (good(action_units='[{"au": 6, "intensity": "1e400"}]'), "repaired"),
    (good(action_units='[{"au": ' + "9" * 5000 + '}]'), "invalid"),  # past Python's int parsing
    (good(emotions='{"joy": ' + "9" * 400 + ', "anger": NaN}'), "repaired"),
    (good(action_units='[{"au": 6, "intensity": -0.0}]'), "repaired"),
    # nesting past the recursion limit, and deep but parseable nesting in every field
    (DEEP, "invalid"),
    (good(emotions=DEEP), "invalid"),
    ("[" * 20_000, "invalid"),
    ("{" * MAX_RAW_CHARS, "invalid"),
    ('{"a": ' * 5000, "invalid"),
    (good(emotions='["joy", ' + "[" * 300 + "]" * 300 + "]"), "repaired"),
    (good(action_units='[{"au": ' + "[" * 300 + "]" * 300 + '}, {"au": 12}]'), "repaired"),
    (good(description="[" * 300 + "]" * 300), "invalid"),
    # surrogates, NUL, control characters, arbitrary bytes
    ("\ud800" + json.dumps(GOOD), "repaired"),
    (json.dumps(GOOD, ensure_ascii=False) + "\udfff\ud800", "repaired"),
    ("\ud83d\ude00" + json.dumps(GOOD), "repaired"),  # a surrogate pair: re-encoded as one emoji
    (good(description='"A smile \\ud800 lifting the cheeks."'), "repaired"),
    (good(emotions='["jo\\ud800y", "joy"]'), "repaired"),
    (good(action_units='["AU\\udc00", "AU12D"]'), "repaired"),
    ('{"\\ud800": 1, ' + good()[1:], "repaired"),
    (json.dumps(GOOD) + "\x00", "repaired"),
    ('{"emotions": ["joy"\x00], "action_units": [], "description": "x"}', "invalid"),
    (good(description='"A smile\\u0000 with a bell\\u0007."'), "repaired"),
    ("\x00\x00\x00", "invalid"),
    (json.dumps(GOOD).encode("utf-8"), "repaired"),
    (b"\xff\xfe\x00garbage\x80", "invalid"),
    (bytearray(json.dumps(GOOD).encode("utf-16")), "invalid"),
    # not text at all
    (None, "invalid"),
    (42, "invalid"),
    (10 ** 5000, "invalid"),
    (float("nan"), "invalid"),
    (dict(GOOD), "repaired"),
    ([GOOD], "repaired"),
    (object(), "invalid"),
    # enormous strings
    ("x" * 10_000_000, "invalid"),
    (json.dumps(GOOD) + " " * 1_000_000, "repaired"),
    (good(description=json.dumps("word " * 100_000)), "invalid"),  # cut inside the string
    (good(**{"k" * 15_000: "1"}), "repaired"),
    (good(emotions=json.dumps(["bliss"] * 2000 + ["joy"])), "repaired"),
    # wrong types everywhere
    (good(emotions="5"), "invalid"),
    (good(emotions="null"), "invalid"),
    (good(emotions="[null, {}, [], true]"), "invalid"),
    (good(action_units="5"), "invalid"),
    (good(action_units="true"), "invalid"),
    (good(action_units='[null, true, [], {}, "AU' + "12" * 1000 + '"]'), "repaired"),
    (good(action_units='{"au": {"au": {"au": 6}}}'), "repaired"),
    (good(description="5"), "invalid"),
    (good(description='["a", 1]'), "invalid"),
    (good(description="null"), "invalid"),
    ("null", "invalid"), ("true", "invalid"), ('"just a string"', "invalid"), ("1e999", "invalid"),
    ('{"emotions": ["joy"}', "invalid"),  # mismatched brackets
    ("```json\n{{{{\n```", "invalid"),
]


@pytest.mark.parametrize("raw, status", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_parse_answer_is_total(raw, status):
    ann = parse_answer(raw)
    assert ann.status == status, ann.problems
    assert_storable(ann)
    if status != "ok":
        assert ann.problems


def assert_storable(ann) -> None:
    """Everything an annotation puts in a table is bounded text that UTF-8 (and so Parquet) takes."""
    assert ann.status in STATUSES and len(ann.problems) <= MAX_PROBLEMS
    for text in [ann.description, *ann.emotions, *ann.problems]:
        assert isinstance(text, str) and len(text) < 1000
        text.encode("utf-8")
        assert "\x00" not in text
    assert len(ann.description) <= 300


def test_problem_list_is_capped():
    ann = parse_answer(good(emotions=json.dumps(["bliss"] * 2000 + ["joy"])))
    assert ann.emotions == ["joy"] and len(ann.problems) == MAX_PROBLEMS
    assert ann.problems[-1] == f"{2000 - MAX_PROBLEMS + 1} more problems not listed"


def test_raw_problems_named():
    problems = "\n".join(parse_answer("\ud800" + json.dumps(GOOD)).problems)
    assert "raw: surrogate code points re-encoded" in problems
    problems = "\n".join(parse_answer(json.dumps(GOOD) + " " * 1_000_000).problems)
    assert f"raw: 1000{len(json.dumps(GOOD)):03d} characters cut to {MAX_RAW_CHARS}" in problems
    assert "JSON nested too deeply" in parse_answer(good(emotions=DEEP)).problems


def _nasty(rng: random.Random, depth: int = 0):
    """A random JSON-ish value with hostile leaves."""
    leaves = [None, True, False, 0, -1, 10 ** 400, 1e308, float("inf"), float("nan"), -0.0, "",
              "\ud800", "\x00", "AU12", "12C", "joy", "marked", "E", "x" * 500, "\u202e", "{", "]"]
    kind = rng.random()
    if depth > 4 or kind < 0.4:
        return rng.choice(leaves)
    if kind < 0.7:
        return [_nasty(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["emotions", "action_units", "description", "au", "intensity", "EMOTION", "aus", "x"]
    return {rng.choice(keys + [str(rng.random())]): _nasty(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_fuzzed_answers_never_raise():
    rng = random.Random(1234)
    for _ in range(1500):
        answer = {k: _nasty(rng) for k in GOOD if rng.random() < 0.8}
        text = json.dumps(answer, ensure_ascii=rng.random() < 0.5)
        cut = text[:rng.randrange(len(text) + 1)] if rng.random() < 0.3 else text
        assert_storable(parse_answer(cut))
        assert_storable(parse_answer(answer))


class HostileBackend:
    """Answers each row with the HOSTILE answer its text names (`hostile #<i>`), on every
    attempt; token counts of wrong types for some rows."""

    name, model, fingerprint = "hostile", "hostile-model", "h1"

    def __init__(self) -> None:
        self.calls = 0

    def annotate(self, rows, seed):
        self.calls += 1
        out = []
        for row in rows:
            i = int(row.text.split("#")[1])
            tokens = [(3, 4), (None, "5"), (True, -1), (2 ** 70, 1.5)][i % 4]
            out.append(Answer(raw=HOSTILE[i][0], tokens_in=tokens[0], tokens_out=tokens[1]))
        return out


def hostile_corpus(path) -> pd.DataFrame:
    rows = []
    for i in range(len(HOSTILE)):
        text = f"hostile #{i}"
        rows.append(dict(text_id=text_id(text), source="test", source_row=i, text=text,
                         emotion="joy", emotions=["joy"], source_labels=["joy"], intensity=0.5,
                         split="train"))
    df = pd.DataFrame(rows)
    df.to_parquet(path)
    return df


def run_hostile(tmp_path, run: str, backend: HostileBackend) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Annotate the hostile corpus in 2 shards and merge; returns (descriptions, shard tables)."""
    cfg = {"backend": "hostile", "shards": 2, "batch_size": 7, "max_retries": 1}
    paths = [tmp_path / run / f"{s}.parquet" for s in ("000", "001")]
    shards = [annotate_shard(tmp_path / "corpus.parquet", s, cfg, p, tmp_path / "cache", backend=backend)
              for s, p in zip(("000", "001"), paths)]
    out = merge_shards(paths, tmp_path / "corpus.parquet", tmp_path / run / "descriptions.parquet",
                       tmp_path / run / "stats.json")
    return out, shards


def test_hostile_corpus_through_shards_twice(tmp_path):
    corpus = hostile_corpus(tmp_path / "corpus.parquet")
    first_backend, second_backend = HostileBackend(), HostileBackend()
    first, first_shards = run_hostile(tmp_path, "first", first_backend)
    second, second_shards = run_hostile(tmp_path, "second", second_backend)

    assert first_backend.calls > 0 and second_backend.calls == 0  # second run: all from cache
    assert all(s["cached"].all() for s in second_shards)
    assert sorted(first["text_id"]) == sorted(corpus["text_id"]) and first["text_id"].is_unique
    by_text = first.set_index("text")
    for i, (_, status) in enumerate(HOSTILE):
        row = by_text.loc[f"hostile #{i}"]
        assert row["status"] == status, (i, list(row["problems"]))
        assert row["attempts"] == (2 if status == "invalid" else 1)
        assert len(row["raw"]) <= MAX_RAW_CHARS
    pd.testing.assert_frame_equal(first, second)
    on_disk = [pd.read_parquet(tmp_path / run / "descriptions.parquet") for run in ("first", "second")]
    pd.testing.assert_frame_equal(*on_disk)
    for a, b in zip(first_shards, second_shards):
        pd.testing.assert_frame_equal(a.drop(columns=["cached", "seconds"]),
                                      b.drop(columns=["cached", "seconds"]))
    tokens = pd.concat(first_shards).set_index("text")["tokens_in"]
    assert tokens["hostile #0"] == 3 and tokens["hostile #1"] == tokens["hostile #3"] == 0
    stats = json.loads((tmp_path / "first" / "stats.json").read_text())
    assert sum(stats["status"].values()) == len(HOSTILE)


# --- the answer cache ------------------------------------------------------------------------

def record(key: str, raw: str) -> dict:
    return {"key": key, "text_id": "t", "seconds": 0.5,
            "attempts": [{"raw": raw, "raw_problems": [], "tokens_in": 1, "tokens_out": 2, "seed": 0}]}


@pytest.mark.parametrize("raw", ["plain", "\ud800 lone", "a\udfffb\ud800", "\x00nul\x00", "\u2028\u2029",
                                 "emoji \U0001f600", "é" * 1000, "\\u0000", '"}\n{"key": "x"}'])
def test_cache_round_trips_any_text(tmp_path, raw):
    cache = AnswerCache(tmp_path, "w")
    cache.add([record("k", raw)])
    cache.close()
    assert cache.get("k")["attempts"][0]["raw"] == raw
    again = AnswerCache(tmp_path, "reader")
    assert again.get("k") == record("k", raw) and again.skipped_lines == 0
    assert (tmp_path / "w.jsonl").read_bytes().isascii()


BAD_LINES = [
    b'{"key": "cut", "attempts": [{"raw": "{\\"emo',  # a line cut by a kill
    b'\xff\xfe\x00\x80 not utf-8',
    json.dumps(record("cut-in-char", "é")).encode("utf-8")[:-3] + "é".encode("utf-8")[:1],
    b'[1, 2, 3]',
    b'{"key": 5, "attempts": []}',
    b'{"key": "no-attempts"}',
    json.dumps({"key": "raw-not-text", "attempts": [{"raw": 5, "tokens_in": 0, "tokens_out": 0}]}).encode(),
    json.dumps({"key": "bad-tokens", "attempts": [{"raw": "x", "tokens_in": "1", "tokens_out": 0}]}).encode(),
    json.dumps({"key": "bad-noted", "attempts": [{"raw": "x", "raw_problems": [1], "tokens_in": 0,
                                                 "tokens_out": 0}]}).encode(),
    DEEP.encode(),
    b'{"key": ' + b"9" * 5000 + b"}",
    b"\x00" * 50,
    json.dumps(record("bad-seconds", "x") | {"seconds": "slow"}).encode(),
]


def test_cache_skips_bad_lines_and_counts_them(tmp_path, caplog):
    good_records = [record(f"good{i}", f"answer {i}") for i in range(3)]
    lines = [json.dumps(good_records[0]).encode(), *BAD_LINES[:6], json.dumps(good_records[1]).encode(),
             *BAD_LINES[6:], b"", json.dumps(good_records[2]).encode(), BAD_LINES[0]]  # cut last line
    (tmp_path / "shard-000.jsonl").write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING, logger="blendtalk.annotate.cache"):
        cache = AnswerCache(tmp_path, "shard-000")
    assert sorted(cache.records) == ["good0", "good1", "good2"]
    assert cache.skipped_lines == len(BAD_LINES) + 1
    assert f"{len(BAD_LINES) + 1} unreadable cache line(s) skipped" in caplog.text
    assert "shard-000.jsonl" in caplog.text
    cache.add([record("new", "after a kill")])  # the cut last line is terminated first
    cache.close()
    again = AnswerCache(tmp_path, "reader")
    assert sorted(again.records) == ["good0", "good1", "good2", "new"]
    assert again.skipped_lines == len(BAD_LINES) + 1


def test_shard_runs_over_a_corrupted_cache(tmp_path):
    hostile_corpus(tmp_path / "corpus.parquet")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "shard-000.jsonl").write_bytes(b"\n".join(BAD_LINES))
    backend = HostileBackend()
    cfg = {"backend": "hostile", "shards": 1, "max_retries": 0}
    df = annotate_shard(tmp_path / "corpus.parquet", "000", cfg, tmp_path / "a.parquet",
                        tmp_path / "cache", backend=backend)
    assert len(df) == len(HOSTILE) and not df["cached"].any()
