"""Corpus stage library: readers on their nasty cases, cleaning, labels, dedup, splits, caps, QC."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from blendtalk.config import load_config
from blendtalk.corpora import (CleanOptions, CorpusFormatError, build_source, cap_mask, clean_texts,
                               combine, load_label_map, map_labels, read_source)
from blendtalk.corpora.clean import fix_mojibake
from blendtalk.corpora.goemotions import read_labels_txt, read_raw, read_simplified
from blendtalk.corpora.isear import read_isear
from blendtalk.corpora.table import read_table
from blendtalk.corpora.tweet_intensity import read_tweet_intensity
from blendtalk.emotions import EMOTIONS
from blendtalk.ids import text_id

REPO = Path(__file__).resolve().parents[1]
RES = REPO / "resources" / "corpora"
SOURCES = yaml.safe_load((REPO / "config.yaml").read_text())["corpora"]["sources"]
SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}


def _abs(spec: dict) -> dict:
    spec = dict(spec, files=[str(REPO / f) for f in spec["files"]])
    for key in ("labels_file", "label_map"):
        if spec.get(key):
            spec[key] = str(REPO / spec[key])
    return spec


def _row(df: pd.DataFrame, needle: str) -> pd.Series:
    hits = df[df["text"].str.contains(needle, regex=False)]
    assert len(hits) == 1, (needle, hits)
    return hits.iloc[0]


# ----------------------------------------------------------------------------- readers

def test_isear_bytes_are_latin1_crlf_with_stray_e1():
    data = (RES / "isear" / "isear_dataset.csv").read_bytes()
    assert data.startswith(b"emo;txt\r\n")
    assert data.count(b"\r\n") == data.count(b"\n")          # every line end is CRLF
    assert b" \xe1\r\n" in data                               # stray byte before in-text breaks
    assert b"caf\xe9" in data                                 # Latin-1 é, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_isear_reader_joins_multiline_fields_and_counts_lines():
    df = read_isear(RES / "isear" / "isear_dataset.csv")
    assert len(df) == 51
    walk = _row(df, "Walking home through the forest")
    assert walk["source_row"] == "isear_dataset.csv:3"
    assert "á" not in walk["text"]
    assert walk["text"] == ("Walking home through the forest at night, I heard someone following "
                            "me.\r\nI started to run and did not stop until I reached the village.")
    # the record after a two-line record starts two lines further down
    assert _row(df, "accepted to the university")["source_row"] == "isear_dataset.csv:2"
    assert _row(df, "When my grandfather died")["source_row"] == "isear_dataset.csv:6"
    assert _row(df, "in the salad")["text"].endswith("at the café.")
    assert _row(df, "naïve little cousin")["source_labels"] == ["joy"]
    assert _row(df, '"come back tomorrow"')["source_labels"] == ["anger"]
    assert set(df["source_labels"].map(tuple)) == {(e,) for e in
                                                    ("joy", "fear", "anger", "sadness", "disgust",
                                                     "shame", "guilt")}


def test_goemotions_simplified_reader():
    sim = RES / "goemotions" / "simplified"
    labels = read_labels_txt(sim / "labels.txt")
    assert len(labels) == 28 and labels[0] == "admiration" and labels[27] == "neutral"
    df = read_simplified([sim / "dev.tsv"], sim / "labels.txt")
    assert len(df) == 63
    quoted = _row(df, "relax, it is only a scratch")
    assert quoted["text"].startswith('He told me "relax')                # doubled quotes undone
    assert quoted["source_labels"] == ["anger", "surprise"]
    assert _row(df, "[RELIGION]")["source_labels"] == ["anger"]
    assert "\\n" in _row(df, "sticky and warm")["text"]                 # literal escape as read
    assert "\x07" in _row(df, "chain messages")["text"]
    assert df["source_row"].iloc[0] == "dev.tsv:1"


def test_goemotions_raw_aggregates_raters():
    raw = RES / "goemotions" / "raw"
    df = read_raw(sorted(raw.glob("goemotions_*.csv")), min_raters=2, max_unclear_fraction=0.5)
    assert len(df) == 74                                     # one row per comment and rater
    kept = df[df["drop_reason"].isna()]
    reasons = df["drop_reason"].value_counts().to_dict()
    assert reasons == {"rater_row_merged": 50, "very_unclear": 1, "no_agreed_label": 1}
    assert len(kept) + 2 == 24                               # 24 comments
    # 2 raters chose anger, 2 annoyance: both hold; ties keep the label-file order
    assert _row(kept, "landlord raised the rent")["source_labels"] == ["anger", "annoyance"]
    # 3 relief votes, 2 joy: ordered by votes
    assert _row(kept, "what a relief")["source_labels"] == ["relief", "joy"]
    assert _row(kept, "sunset over the harbour")["source_labels"] == ["admiration"]
    # one of three raters marked it unclear: kept
    assert _row(kept, "fixed the bug in one day")["source_labels"] == ["admiration", "surprise"]
    first = df[df["drop_reason"] != "rater_row_merged"]
    assert _row(first, "idk what this even means")["drop_reason"] == "very_unclear"
    assert _row(first, "nothing special about it")["drop_reason"] == "no_agreed_label"
    multiline = _row(kept, "drove straight into the lake")
    assert "\n" in multiline["text"] and multiline["raters"] == 3
    stricter = read_raw(sorted(raw.glob("goemotions_*.csv")), min_raters=3)
    assert _row(stricter[stricter["drop_reason"].isna()], "what a relief")["source_labels"] == [
        "relief"]


def test_tweet_intensity_reader():
    files = sorted((RES / "tweet_intensity").glob("*_dataset_*.csv"))
    assert len(files) == 12
    assert all(not f.read_bytes().endswith(b"\n") for f in files)  # as the real files
    df = read_tweet_intensity(files)
    assert len(df) == 50
    assert df["intensity"].between(0, 1).all()
    quoted = _row(df, "Customer service")
    assert quoted["text"].startswith('"Customer service" my foot')  # unquoted TSV
    assert quoted["intensity"] == pytest.approx(0.62)
    assert "ðŸ˜¡" in _row(df, "parking across my driveway")["text"]
    assert set(df["source_labels"].map(tuple)) == {("anger",), ("fear",), ("joy",), ("sadness",)}


def test_generic_table_reader(tmp_path):
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text('sentence,feeling,score\n"I won the lottery, finally!",joy|surprise,0.9\n'
                        "My cat ignored me all day long,sadness,\n", encoding="utf-8")
    df = read_table([csv_path], text_column="sentence", label_column="feeling",
                    label_separator="|", intensity_column="score")
    assert df["text"].tolist() == ["I won the lottery, finally!", "My cat ignored me all day long"]
    assert df["source_labels"].tolist() == [["joy", "surprise"], ["sadness"]]
    assert df["intensity"].iloc[0] == 0.9 and pd.isna(df["intensity"].iloc[1])
    assert df["source_row"].tolist() == ["mine.csv:2", "mine.csv:3"]
    pq = tmp_path / "mine.parquet"
    pd.DataFrame({"t": ["A parquet row with words", None], "l": ["fear", "joy"]}).to_parquet(pq)
    df = read_table([pq], text_column="t", label_column="l")
    assert df["text"].tolist() == ["A parquet row with words", ""]
    assert df["source_row"].tolist() == ["mine.parquet:1", "mine.parquet:2"]
    with pytest.raises(CorpusFormatError, match=r"mine\.csv, line 1: column\(s\) \['text'\]"):
        read_table([csv_path], text_column="text")


@pytest.mark.parametrize("name, content, reader, message", [
    ("anger_dataset_train.csv", "1\tFine tweet here\tanger\t0.5\n2\tBroken tweet\tanger\n",
     read_tweet_intensity, r"anger_dataset_train\.csv, line 2: expected 4 tab-separated fields, got 3"),
    ("fear_dataset_dev.csv", "1\tFine tweet here\tfear\t0.5\n2\tOther tweet\tfear\thigh\n",
     read_tweet_intensity, r"fear_dataset_dev\.csv, line 2: intensity 'high' is not a number"),
    ("joy_dataset_dev.csv", "1\tFine tweet here\tjoy\t1.5\n",
     read_tweet_intensity, r"joy_dataset_dev\.csv, line 1: intensity 1\.5 is outside"),
    ("isear_dataset.csv", 'emo;txt\r\njoy;"A fine answer"\r\nfear;one;two\r\n',
     lambda paths: read_isear(paths[0]), r"isear_dataset\.csv, line 3: expected 2 semicolon"),
    ("isear_dataset.csv", 'emotion;text\r\n', lambda paths: read_isear(paths[0]),
     r"isear_dataset\.csv, line 1: header must be 'emo;txt'"),
    ("dev.tsv", "A good sentence here\t3\tid1\n\"Broken \"quote\t3\tid2\n",
     lambda paths: read_simplified(paths, RES / "goemotions" / "simplified" / "labels.txt"),
     r"dev\.tsv, line 2: malformed record"),
    ("dev.tsv", "A good sentence here\t3\tid1\nAnother one\t3,99\tid2\n",
     lambda paths: read_simplified(paths, RES / "goemotions" / "simplified" / "labels.txt"),
     r"dev\.tsv, line 2: label ids '3,99' are not ids in 0\.\.27"),
])
def test_malformed_files_name_file_and_line(tmp_path, name, content, reader, message):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(CorpusFormatError, match=message):
        reader([path])


def test_malformed_raw_goemotions_flag(tmp_path):
    src = (RES / "goemotions" / "raw" / "goemotions_1.csv").read_text(encoding="utf-8")
    lines = src.split("\n")
    lines[3] = lines[3][:-1] + "7"                            # last label flag of line 4
    bad = tmp_path / "goemotions_1.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"goemotions_1\.csv, line 4: neutral '7' is not a flag"):
        read_raw([bad])


def test_utf8_file_with_bad_bytes_names_line(tmp_path):
    path = tmp_path / "sadness_dataset_test.csv"
    path.write_bytes(b"1\tok tweet words here\tsadness\t0.5\n2\tbad \xff byte\tsadness\t0.5\n")
    with pytest.raises(CorpusFormatError, match=r"sadness_dataset_test\.csv, line 2: not valid utf-8"):
        read_tweet_intensity([path])


# ----------------------------------------------------------------------------- cleaning

def _clean(texts, **options):
    cleaned, reason = clean_texts(pd.Series(texts, dtype="string"), CleanOptions(**options))
    return cleaned.tolist(), reason.tolist()


def test_cleaning_rules_defaults():
    texts = ["@bob_1 Check https://t.co/xyz and www.example.org now #blessed day",
             "[NAME] told [RELIGION] leaders about [UNKNOWN] stuff today",
             "Line one\\nline two\\tand three &amp; &lt;more&gt; &#39;quoted&#39;",
             "Tabs\tand\r\nreal breaks\x00 and\x1b controls \u200b here",
             "So happy today 😂 👨\u200d👩\u200d👧 family",
             "Cafe\u0301 tastes like burnt toast",
             "mail me at a@b.com about #1 issue"]
    cleaned, reason = _clean(texts)
    assert cleaned == ["Check and now blessed day",
                       "Alex told religion leaders about stuff today",
                       "Line one line two and three & <more> 'quoted'",
                       "Tabs and real breaks and controls here",
                       "So happy today 😂 👨\u200d👩\u200d👧 family",
                       "Café tastes like burnt toast",
                       "mail me at a@b.com about 1 issue"]
    assert reason == [pd.NA] * len(texts)


def test_removals_take_their_space_before_punctuation():
    cleaned, _ = _clean(["Thanks so much @amy!", "read this http://x.org/a , it is wild",
                         "[NAME] and I went there today", "we miss you @amy @bob",
                         "so @amy and I laughed"], masks="remove")
    assert cleaned == ["Thanks so much!", "read this, it is wild", "and I went there today",
                       "we miss you", "so and I laughed"]


def test_cleaning_options_and_drop_reasons():
    cleaned, reason = _clean(["@amy thanks for the #great tips", "[NAME] is here with me now"],
                             mentions="replace", mention_token="someone", hashtags="keep",
                             masks="drop")
    assert cleaned[0] == "someone thanks for the #great tips"
    assert reason == [pd.NA, "mask"]
    cleaned, _ = _clean(["Visit https://x.org for more details please"], urls="keep",
                        masks="keep")
    assert cleaned == ["Visit https://x.org for more details please"]
    _, reason = _clean(["", "   ", "[ No response.]", "NO RESPONSE", "Not applicable to myself.",
                        "two words", "one two three four", "w " * 61, "@only"])
    assert reason == ["empty", "empty", "placeholder", "placeholder", "placeholder",
                      "too_short", pd.NA, "too_long", "empty"]
    _, reason = _clean(["one two three", "one two three four five six"], min_words=3,
                       max_words=5)
    assert reason == [pd.NA, "too_long"]
    with pytest.raises(ValueError, match="corpora.clean.mentions"):
        CleanOptions(mentions="shout")


def test_fix_mojibake():
    assert fix_mojibake("so sad ðŸ˜ž today") == "so sad 😞 today"
    assert fix_mojibake("party ðŸŽ‰ðŸŽ‰ and cafÃ© too") == "party 🎉🎉 and café too"
    assert fix_mojibake("un café normal, señor") == "un café normal, señor"   # proper text kept
    cleaned, _ = _clean(["ðŸ˜¡ why is this mojibake here"], fix_mojibake=False)
    assert cleaned == ["ðŸ˜¡ why is this mojibake here"]


def test_schema_defaults_match_clean_options():
    schema = yaml.safe_load((REPO / "schemas" / "corpora.schema.yaml").read_text())
    props = schema["properties"]["clean"]["properties"]
    defaults = CleanOptions()
    for key, spec in props.items():
        value = getattr(defaults, key)
        assert (list(value) if isinstance(value, tuple) else value) == spec["default"], key


# ----------------------------------------------------------------------------- labels

def test_label_tables_cover_sources_and_follow_ekman():
    go = load_label_map(REPO / "resources" / "labels" / "goemotions.tsv")
    labels = read_labels_txt(RES / "goemotions" / "simplified" / "labels.txt")
    assert set(go) == set(labels)
    assert set(go.values()) <= set(EMOTIONS)
    assert {k for k, v in go.items() if v == "anger"} == {"anger", "annoyance", "disapproval"}
    assert {k for k, v in go.items() if v == "fear"} == {"fear", "nervousness"}
    assert {k for k, v in go.items() if v == "surprise"} == {"surprise", "realization",
                                                              "confusion", "curiosity"}
    assert go["remorse"] == "sadness" and go["embarrassment"] == "sadness"
    isear = load_label_map(REPO / "resources" / "labels" / "isear.tsv")
    assert isear["shame"] == "shame" and isear["guilt"] == "guilt"
    tweets = load_label_map(REPO / "resources" / "labels" / "tweet_intensity.tsv")
    assert tweets == {e: e for e in ("anger", "fear", "joy", "sadness")}


def test_map_labels_primary_neutral_and_unknown():
    table = load_label_map(REPO / "resources" / "labels" / "goemotions.tsv")
    labels = pd.Series([["nervousness", "joy"], ["neutral", "amusement"], ["neutral"],
                        ["love", "joy"]])
    primary, emotions = map_labels(labels, table, "goemotions.tsv")
    assert primary.tolist() == ["fear", "joy", "neutral", "joy"]
    assert emotions.tolist() == [["fear", "joy"], ["joy"], ["neutral"], ["joy"]]
    with pytest.raises(ValueError, match=r"goemotions.tsv: no mapping for source label\(s\) "
                                         r"\['hope'\]"):
        map_labels(pd.Series([["hope"]]), table, "goemotions.tsv")


def test_bad_label_table_names_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("source_label\temotion\trationale\nhappy\tjoy\tsame\nlove\tlove\tno\n")
    with pytest.raises(CorpusFormatError, match=r"bad\.tsv, line 3: emotion 'love' is not one"):
        load_label_map(path)


# ----------------------------------------------------------------------------- build & qc

@pytest.fixture(scope="module")
def bundled():
    return {name: build_source(name, _abs(spec), CleanOptions(), SPLITS)
            for name, spec in SOURCES.items()}


def test_qc_adds_up_per_source(bundled):
    expected_read = {"goemotions": 63, "goemotions_raw": 74, "tweet_intensity": 50, "isear": 51}
    for name, (table, rejected, qc) in bundled.items():
        assert qc["rows_read"] == expected_read[name]
        assert qc["rows_read"] == qc["rows_kept"] + sum(qc["dropped"].values()), name
        assert qc["rows_kept"] == len(table) == table["text_id"].nunique()
        assert len(rejected) == sum(qc["dropped"].values())
        assert rejected["drop_reason"].value_counts().to_dict() == qc["dropped"]
    assert bundled["isear"][2]["dropped"] == {"duplicate_in_source": 1, "placeholder": 6,
                                              "too_short": 1}
    assert bundled["tweet_intensity"][2]["dropped"] == {"duplicate_in_source": 2, "too_short": 4}


def test_source_tables_are_clean_and_labelled(bundled):
    for name, (table, _, _) in bundled.items():
        assert not table["text"].str.contains(r"\[NAME\]|\\n|https?://|&amp;|@\w|ðŸ",
                                              regex=True).any(), name
        assert table["emotion"].isin(EMOTIONS).all()
        assert all(e[0] == p for e, p in zip(table["emotions"], table["emotion"]))
        assert table["split"].isin(["train", "val", "test"]).all()
        assert (table["text_id"] == table["text"].map(text_id)).all()
    tweets = bundled["tweet_intensity"][0]
    assert tweets["intensity"].between(0, 1).all()
    # the same tweet under fear and sadness: one row, both labels, first intensity kept
    shaking = _row(tweets, "cannot stop shaking")
    assert shaking["emotions"] == ["fear", "sadness"] and shaking["intensity"] == pytest.approx(0.77)
    assert len(shaking["provenance"]) == 2
    assert "😞" in _row(tweets, "birthday dinner")["text"]
    go = bundled["goemotions"][0]
    assert go["intensity"].isna().all()
    assert _row(go, "grandmother still writes")["provenance"] == [
        "goemotions:dev.tsv:19", "goemotions:dev.tsv:37", "goemotions:dev.tsv:38"]
    assert _row(go, "Alex keeps getting promoted")["emotions"] == ["surprise", "anger"]


def test_dedup_across_sources_keeps_provenance(bundled):
    tables = [bundled[n][0] for n in SOURCES]
    corpus, qc = combine(tables, per_source=None, per_emotion=None, seed=0)
    assert qc["cross_source_duplicates"] == 3 and qc["capped"] == 0
    assert corpus["text_id"].is_unique
    sister = _row(corpus, "My little sister finally came home")
    assert sister["source"] == "goemotions" and sister["source_row"] == "dev.tsv:39"
    assert [p.split(":")[0] for p in sister["provenance"]] == [
        "goemotions", "goemotions_raw", "tweet_intensity", "isear"]
    assert sister["emotions"] == ["joy"]
    assert sister["intensity"] == pytest.approx(0.58)        # from the tweet
    assert qc["rows_in"] == qc["cross_source_duplicates"] + qc["capped"] + qc["rows_out"]


def test_cap_is_balanced_and_seeded(bundled):
    tables = [bundled[n][0] for n in SOURCES]
    corpus, qc = combine(tables, per_source=20, per_emotion=6, seed=0)
    counts = corpus.groupby(["source", "emotion"]).size()
    assert counts.max() <= 6
    assert corpus["source"].value_counts().max() <= 20
    # round-robin: isear has 7 emotions with >= 5 texts each, so 20 spreads as 3 or 2 per emotion
    assert corpus[corpus["source"] == "isear"]["emotion"].value_counts().max() == 3
    again, _ = combine(tables, per_source=20, per_emotion=6, seed=0)
    assert again["text_id"].tolist() == corpus["text_id"].tolist()
    other, _ = combine(tables, per_source=20, per_emotion=6, seed=1)
    assert set(other["text_id"]) != set(corpus["text_id"])
    assert qc["rows_in"] == qc["cross_source_duplicates"] + qc["capped"] + qc["rows_out"]
    assert sum(qc["capped_by_source"].values()) == qc["capped"]


def test_cap_mask_counts():
    df = pd.DataFrame({"text_id": [f"{i:016x}" for i in range(30)], "source": ["a"] * 30,
                       "emotion": ["joy"] * 20 + ["fear"] * 10})
    assert cap_mask(df, None, None, 0).all()
    keep = cap_mask(df, None, 4, 0)
    assert keep.sum() == 8 and keep[:20].sum() == 4
    keep = cap_mask(df, 7, None, 0)
    assert keep.sum() == 7 and abs(keep[:20].sum() - keep[20:].sum()) == 1


def test_split_stability_when_rows_are_added(tmp_path):
    def build(n: int) -> pd.DataFrame:
        path = tmp_path / f"grow{n}.csv"
        pd.DataFrame({"text": [f"sentence number {i} is about something" for i in range(n)],
                      "label": "joy"}).to_csv(path, index=False)
        spec = {"format": "table", "files": [str(path)], "label_column": "label"}
        return build_source("mine", spec, CleanOptions(), SPLITS)[0].set_index("text_id")

    small, large = build(200), build(1000)
    assert (large.loc[small.index, "split"] == small["split"]).all()
    shares = large["split"].value_counts(normalize=True)
    assert 0.74 < shares["train"] < 0.86 and shares["val"] > 0.06 and shares["test"] > 0.06


def test_read_source_errors():
    with pytest.raises(ValueError, match="corpora.sources.x.labels_file is required"):
        read_source("x", {"format": "goemotions_simplified", "files": ["a.tsv"]})
    with pytest.raises(ValueError, match="corpora.sources.x.format 'nope'"):
        read_source("x", {"format": "nope", "files": ["a"]})


# ----------------------------------------------------------------------------- config

@pytest.mark.parametrize("section, key", [
    ({"foo": 1}, "corpora.foo"),
    ({"clean": {"emoji": "drop"}}, "corpora.clean.emoji"),
    ({"sources": {"isear": {"format": "isear", "files": ["x"], "colour": "red"}}},
     "corpora.sources.isear.colour"),
])
def test_wrong_config_key_is_named(tmp_path, section, key):
    from snakemake.exceptions import WorkflowError
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"corpora": section}))
    with pytest.raises(WorkflowError, match=key.replace(".", r"\.")):
        load_config(path)


def test_config_defaults_fill_in():
    from snakemake.utils import validate
    corpora = {"cap": {"per_emotion": 3}}
    validate(corpora, str(REPO / "schemas" / "corpora.schema.yaml"))  # as rules/corpora.smk
    assert corpora["cap"] == {"per_emotion": 3, "per_source": 60}
    assert corpora["clean"]["min_words"] == 4 and corpora["splits"]["train"] == 0.8
    assert set(corpora["sources"]) == {"goemotions", "goemotions_raw", "tweet_intensity", "isear"}
