"""The rules backend's prototypes and output, and the shard/cache/resume machinery."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from blendtalk.annotate.backends import Identity, Row, make_backend
from blendtalk.annotate.backends.rules import load_displays, load_prototypes
from blendtalk.annotate.run import row_key
from blendtalk.annotate.cache import AnswerCache
from blendtalk.annotate.run import annotate_shard, merge_shards
from blendtalk.corpora.labels import load_label_map
from blendtalk.annotate.validate import parse_answer
from blendtalk.emotions import EMOTIONS
from blendtalk.ids import text_id
from blendtalk.paths import resource

from conftest import make_workdir, run_snakemake

PROTOTYPE_CORE = {"joy": {6, 12}, "sadness": {1, 4, 15}, "surprise": {1, 2, 5, 26},
                  "fear": {1, 2, 4, 5, 20}, "disgust": {9, 15, 16}, "contempt": {12, 14},
                  "anger": {4, 23}}


def annotate(rows):
    backend = make_backend({"backend": "rules"})
    return [parse_answer(a.raw) for a in backend.annotate(rows, seed=0)]


@pytest.mark.parametrize("emotion, core", PROTOTYPE_CORE.items())
def test_prototypes_sensible(emotion, core):
    anns = annotate([Row(f"{i:016x}", f"sentence {i}", (emotion,)) for i in range(8)])
    for ann in anns:
        assert ann.status == "ok", ann.problems
        assert ann.emotions == [emotion]
        assert core <= {au for au, _ in ann.action_units}
    if emotion == "contempt":
        assert all("one side" in a.description for a in anns)
    assert len({a.description for a in anns}) > 1  # phrasing varies with text_id


def test_every_emotion_has_cited_prototype_and_neutral_is_blank():
    protos = load_prototypes()
    assert set(protos) == set(EMOTIONS)
    assert all(p.source for ps in protos.values() for p in ps)
    (ann,) = annotate([Row("0" * 16, "The bus leaves at five.", ("neutral",))])
    assert ann.action_units == [] and ann.emotions == ["neutral"]


def test_intensity_and_lexicon():
    weak, strong = annotate([Row("a" * 16, "ok", ("joy",), 0.1), Row("a" * 16, "ok", ("joy",), 0.95)])
    assert dict(weak.action_units)[12] == "A" and dict(strong.action_units)[12] == "E"
    guess, boosted = annotate([Row("b" * 16, "I am scared of the dark", ()),
                               Row("b" * 16, "I am so scared of the dark", ())])
    assert guess.emotions == boosted.emotions == ["fear"]
    # the prototype's core AU carries the letter (later ones are graded within it)
    assert dict(guess.action_units)[1] == "B"  # lexicon guesses are weaker than labels
    assert dict(boosted.action_units)[1] == "C"  # "so" boosts the word after it
    (blank,) = annotate([Row("c" * 16, "The report is due on Monday.", ())])
    assert blank.emotions == ["neutral"] and blank.action_units == []


def test_fine_labels_add_their_displays():
    def face(emotion, *labels, text="Well, that happened today"):
        (ann,) = annotate([Row("d" * 16, text, (emotion,), None, labels)])
        return {au: "ABCDE".index(letter) for au, letter in ann.action_units}

    joy, amused = face("joy", "joy"), face("joy", "amusement")
    assert {6, 12} <= set(amused) and {25, 26} <= set(amused) and 26 not in joy  # laughter
    sad, grief = face("sadness", "sadness"), face("sadness", "grief")
    assert grief[1] == sad[1] + 1 and 17 in grief  # intense sadness, chin raised
    assert face("surprise", "confusion")[4] >= 1 and 4 not in face("surprise", "surprise")
    assert 64 in face("sadness", "embarrassment")  # gaze down (Keltner 1995)
    # a display belongs to its emotion: amusement's laughter is not added to an angry face
    assert face("anger", "amusement") == face("anger", "anger")


def test_label_displays_cite_and_agree_with_the_goemotions_map():
    displays = load_displays()
    ekman = load_label_map(resource("resources/labels/goemotions.tsv"))
    assert {"amusement", "grief", "confusion", "embarrassment"} <= set(displays)
    for label, display in displays.items():
        assert display.source and ekman[label] == display.emotion, label


def test_bad_display_names_file_and_line(tmp_path):
    bad = tmp_path / "displays.csv"
    bad.write_text("label,emotion,shift,aus,note,source\n"
                   "amusement,joy,0,25;99,,somebody (2020)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"displays.csv:2: AU 99 is not in the catalogue"):
        load_displays(bad)
    bad.write_text("label,emotion,shift,aus,note,source\namusement,joy,3,25,,x\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"displays.csv:2: shift must be -1, 0 or 1"):
        load_displays(bad)


def test_cache_key_holds_fine_labels_only_where_the_backend_reads_them():
    rules = make_backend({"backend": "rules"})
    vllm = Identity("vllm", "some/model", "f" * 12)
    a = Row("e" * 16, "Ha, good one.", ("joy",), None, ("amusement",))
    b = Row("e" * 16, "Ha, good one.", ("joy",), None, ("joy",))
    assert row_key(rules, {}, a) != row_key(rules, {}, b)
    assert row_key(vllm, {}, a) == row_key(vllm, {}, b)  # the prompt does not show them


def test_rules_deterministic():
    rows = [Row(text_id(t), t, ("anger", "disgust"), 0.6) for t in ("a", "b", "c")]
    backend = make_backend({"backend": "rules"})
    assert backend.annotate(rows, 0) == backend.annotate(rows, 7)


def test_unimplemented_backend_is_clear():
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend({"backend": "gpt"})


TEXTS = [("I won!!", ["joy"], None), ("My dog died.", ["sadness"], 0.8), ("Bus at 5.", [], None),
         ("How dare you", ["anger"], 0.6), ("Ew, rotten eggs", ["disgust"], None)]


def make_corpus(path, n):
    rows = []
    for i in range(n):
        text, emotions, intensity = TEXTS[i % len(TEXTS)]
        text = f"{text} #{i}"
        rows.append(dict(text_id=text_id(text), source="test", source_row=i, text=text,
                         emotion=emotions[0] if emotions else None, emotions=emotions,
                         source_labels=emotions, intensity=intensity, split="train"))
    pd.DataFrame(rows).to_parquet(path)
    return pd.DataFrame(rows)


def test_shards_merge_and_cache(tmp_path):
    corpus = make_corpus(tmp_path / "corpus.parquet", 30)
    cfg = {"backend": "rules", "shards": 3, "batch_size": 4}
    shard_paths = [tmp_path / f"{s}.parquet" for s in ("000", "001", "002")]
    for s, p in zip(("000", "001", "002"), shard_paths):
        annotate_shard(tmp_path / "corpus.parquet", s, cfg, p, tmp_path / "cache")
    out = merge_shards(shard_paths, tmp_path / "corpus.parquet", tmp_path / "d.parquet",
                       tmp_path / "stats.json")
    assert sorted(out["text_id"]) == sorted(corpus["text_id"])
    assert all(len(pd.read_parquet(p)) > 0 for p in shard_paths)
    table = pd.read_parquet(tmp_path / "d.parquet")
    assert list(table.columns) == ["text_id", "text", "emotions", "action_units", "description",
                                   "status", "problems", "backend", "model", "prompt_version",
                                   "attempts", "raw"]
    assert set(table["status"]) == {"ok"} and set(table["model"]) == {"blendtalk-rules-v1"}
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["status"] == {"ok": 30, "repaired": 0, "invalid": 0}
    assert stats["au_frequency_by_primary_emotion"]["joy"]["12"] == 6
    again = annotate_shard(tmp_path / "corpus.parquet", "001", cfg, tmp_path / "x.parquet",
                           tmp_path / "cache")
    assert again["cached"].all()
    first = pd.read_parquet(shard_paths[1])
    for column in ("text_id", "description", "raw", "status"):
        assert again[column].tolist() == first[column].tolist()


class FlakyBackend:
    """Invalid JSON on the first attempt (seed 0), valid from the rules annotator after."""

    name, model, fingerprint = "fake", "flaky", "f1"

    def __init__(self, fail_always=False):
        self.inner = make_backend({"backend": "rules"})
        self.fail_always = fail_always
        self.seeds = []

    def annotate(self, rows, seed):
        from blendtalk.annotate.backends.base import Answer
        self.seeds.append(seed)
        if seed == 0 or self.fail_always:
            return [Answer(raw='{"emotions": ["joy"], "action_units": [', tokens_out=5) for _ in rows]
        return self.inner.annotate(rows, seed)


def test_retries_with_new_seed_and_invalid_kept(tmp_path):
    make_corpus(tmp_path / "corpus.parquet", 6)
    cfg = {"shards": 1, "batch_size": 10, "max_retries": 2, "sampling": {"seed": 0}}
    flaky = FlakyBackend()
    df = annotate_shard(tmp_path / "corpus.parquet", "000", cfg, tmp_path / "a.parquet",
                        tmp_path / "c1", backend=flaky)
    assert flaky.seeds == [0, 1] and set(df["attempts"]) == {2} and set(df["status"]) == {"ok"}
    broken = FlakyBackend(fail_always=True)
    df = annotate_shard(tmp_path / "corpus.parquet", "000", cfg, tmp_path / "b.parquet",
                        tmp_path / "c2", backend=broken)
    assert broken.seeds == [0, 1, 2] and len(df) == 6
    assert set(df["status"]) == {"invalid"} and set(df["attempts"]) == {3}
    assert df["raw"].str.startswith('{"emotions"').all() and df["tokens_out"].eq(15).all()


DRIVER = textwrap.dedent("""
    import sys, time
    from blendtalk.annotate.backends import make_backend
    from blendtalk.annotate.run import annotate_shard

    class Slow:
        name, model = "rules", "blendtalk-rules-v1"
        def __init__(self):
            self.inner = make_backend({"backend": "rules"})
            self.fingerprint = self.inner.fingerprint
        def annotate(self, rows, seed):
            time.sleep(float(sys.argv[3]))
            return self.inner.annotate(rows, seed)

    cfg = {"backend": "rules", "shards": 1, "batch_size": 2}
    df = annotate_shard(sys.argv[1], "000", cfg, sys.argv[2], sys.argv[4], backend=Slow())
    print(int(df["cached"].sum()))
""")


def test_kill_minus_9_then_resume(tmp_path):
    corpus = make_corpus(tmp_path / "corpus.parquet", 40)
    (tmp_path / "driver.py").write_text(DRIVER)
    cache_dir, cache_file = tmp_path / "cache", tmp_path / "cache" / "shard-000.jsonl"
    args = [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "corpus.parquet"),
            str(tmp_path / "000.parquet")]
    proc = subprocess.Popen([*args, "0.15", str(cache_dir)])
    deadline = time.time() + 60
    while time.time() < deadline:
        if cache_file.exists() and cache_file.read_text().count("\n") >= 6:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "000.parquet").exists()
    done_before = len(AnswerCache(cache_dir, "reader").records)
    assert 6 <= done_before < 40
    rerun = subprocess.run([*args, "0", str(cache_dir)], capture_output=True, text=True, check=True)
    assert int(rerun.stdout.strip()) == done_before  # cache hits = rows finished before the kill
    out = pd.read_parquet(tmp_path / "000.parquet")
    assert sorted(out["text_id"]) == sorted(corpus["text_id"])  # every row exactly once
    assert out["text_id"].is_unique
    lines = [json.loads(x) for x in cache_file.read_text().splitlines() if x.strip()]
    assert len({x["key"] for x in lines}) == len(lines) == 40  # nothing recomputed twice


def test_workflow_annotates_corpus(tmp_path):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    if not (repo / "resources" / "corpora").is_dir():
        pytest.skip("the corpora stage's bundled corpora are not in this checkout yet")
    workdir = make_workdir(tmp_path / "wf")
    # "--cores 2" first ends conftest's "--quiet rules" option list, which would swallow a target
    run_snakemake(workdir, "results/annotations/descriptions.parquet")
    table = pd.read_parquet(workdir / "results/annotations/descriptions.parquet")
    corpus = pd.read_parquet(workdir / "results/corpora/corpus.parquet")
    assert sorted(table["text_id"]) == sorted(corpus["text_id"].unique())
    assert set(table["status"]) <= {"ok", "repaired"}
    stats = json.loads((workdir / "results/annotations/stats.json").read_text())
    assert stats["status"]["invalid"] == 0 and stats["rows"] == len(table)
    joy = stats["au_frequency_by_primary_emotion"].get("joy", {})
    assert not joy or joy.get("12", 0) > 0
