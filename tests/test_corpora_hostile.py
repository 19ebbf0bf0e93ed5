"""Corpus readers on hostile files: every one ends in an error naming file, line or config key,
or in a counted drop (or repair) in qc, never in a silently changed row. All fixtures are written
here, in tmp_path."""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import pytest
import yaml

from blendtalk.corpora import CleanOptions, CorpusFormatError, build_source, read_source
from blendtalk.corpora.goemotions import RAW_META, read_raw, read_simplified
from blendtalk.corpora.isear import read_isear

REPO = Path(__file__).resolve().parents[1]
SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}
LABELS = ["anger", "joy", "neutral"]  # common-set names: no label map needed
FORMATS = ["goemotions_simplified", "goemotions_raw", "tweet_intensity", "isear", "table"]
TEXTS = [("My landlord raised the rent again today", "anger"),
         ("We finally won the cup after ten years", "joy"),
         ("The bus comes at nine every single morning", "neutral")]


def _file_text(fmt: str, rows: list[tuple[str, str]]) -> str:
    """`rows` of (text, label) in the original layout of `fmt`."""
    out = io.StringIO(newline="")
    if fmt == "goemotions_simplified":
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerows((text, LABELS.index(label), f"id{i}")
                         for i, (text, label) in enumerate(rows))
    elif fmt == "goemotions_raw":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*RAW_META, *LABELS])
        for i, (text, label) in enumerate(rows):
            for rater in ("1", "2"):                     # two raters agree on each comment
                writer.writerow([text, f"c{i}", "u", "r", "l", "p", "0.0", rater, "False",
                                 *(int(label == name) for name in LABELS)])
    elif fmt == "tweet_intensity":
        out.write("\n".join(f"{i}\t{text}\t{label}\t0.5" for i, (text, label) in enumerate(rows)))
    elif fmt == "isear":
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["emo", "txt"])
        writer.writerows((label, text) for text, label in rows)
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return out.getvalue()


def _source(tmp_path: Path, fmt: str, contents: list[bytes], **extra) -> dict:
    """A source spec of `fmt` over files holding `contents` (bytes, one file each)."""
    names = {"goemotions_simplified": "dev{}.tsv", "goemotions_raw": "goemotions_{}.csv",
             "tweet_intensity": "joy_dataset_{}.csv", "isear": "isear_dataset{}.csv",
             "table": "mine{}.csv"}
    files = []
    for i, data in enumerate(contents):
        path = tmp_path / names[fmt].format(i)
        path.write_bytes(data)
        files.append(str(path))
    spec = {"format": fmt, "files": files, "label_map": None, **extra}
    if fmt == "goemotions_simplified":
        (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
        spec["labels_file"] = str(tmp_path / "labels.txt")
    if fmt == "table":
        spec["label_column"] = "label"
    return spec


def _build(name: str, spec: dict):
    table, rejected, qc = build_source(name, spec, CleanOptions(), SPLITS)
    assert qc["rows_read"] == qc["rows_kept"] + sum(qc["dropped"].values()), qc
    assert len(rejected) == sum(qc["dropped"].values())
    return table, qc


# ------------------------------------------------------------- 1. GoEmotions simplified label ids

@pytest.mark.parametrize("ids", ["-1", "1,-3", "99", "3", "abc", "", "1,", "+1", "٣"])
def test_simplified_bad_label_id_names_file_and_line(tmp_path, ids):
    path = tmp_path / "dev.tsv"
    path.write_text(f"A good sentence here\t1\tid1\nAnother fine sentence\t{ids}\tid2\n")
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    with pytest.raises(CorpusFormatError, match=r"dev\.tsv, line 2: label ids .* are not ids in "
                                                r"0\.\.2 of"):
        read_simplified([path], tmp_path / "labels.txt")


# ------------------------------------------------------------- 2. GoEmotions raw

def _raw_csv(rows: list[list[str]]) -> bytes:
    """A raw GoEmotions CSV; each row: text, id, rater_id, unclear flag, then the LABELS flags."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*RAW_META, *LABELS])
    for text, cid, rater, unclear, *flags in rows:
        writer.writerow([text, cid, "u", "r", "l", "p", "0.0", rater, unclear, *flags])
    return out.getvalue().encode()


def test_raw_duplicate_rater_row_is_one_vote(tmp_path):
    text = "The referee ignored that foul completely"
    spec = _source(tmp_path, "goemotions_raw", [_raw_csv([
        [text, "c1", "7", "False", "0", "1", "0"],
        [text, "c1", "7", "False", "0", "1", "0"],             # the same rater once more
        [text, "c1", "8", "False", "1", "0", "0"],
        [TEXTS[0][0], "c2", "7", "False", "1", "0", "0"],
        [TEXTS[0][0], "c2", "8", "False", "1", "0", "0"]])])
    table, qc = _build("raw", spec)
    # two raters, one vote each: joy has 1 vote, not the 2 the repeated row would give it
    assert qc["dropped"] == {"duplicate_rater_row": 1, "rater_row_merged": 2,
                             "no_agreed_label": 1}
    assert table["text"].tolist() == [TEXTS[0][0]]
    raw = read_raw(spec["files"])
    assert raw["raters"].tolist() == [2, 2, 2, 2, 2]


@pytest.mark.parametrize("flag, unclear", [("True", True), ("true", True), ("1", True),
                                           ("False", False), ("false", False), ("0", False)])
def test_raw_unclear_flag_accepts_the_written_forms(tmp_path, flag, unclear):
    text = "That was the strangest dinner of my life"
    spec = _source(tmp_path, "goemotions_raw", [_raw_csv([
        [text, "c1", "1", flag, "0", "1", "0"], [text, "c1", "2", flag, "0", "1", "0"]])])
    raw = read_raw(spec["files"])
    assert raw["drop_reason"].fillna("kept").tolist() == ["very_unclear" if unclear else "kept",
                                                          "rater_row_merged"]


@pytest.mark.parametrize("flag", ["TRUE", "yes", "", "2", "0.0"])
def test_raw_bad_unclear_flag_names_file_line_and_column(tmp_path, flag):
    spec = _source(tmp_path, "goemotions_raw", [_raw_csv([
        ["Fine sentence with words", "c1", "1", "False", "0", "1", "0"],
        ["Fine sentence with words", "c1", "2", flag, "0", "1", "0"]])])
    with pytest.raises(CorpusFormatError, match=r"goemotions_0\.csv, line 3: "
                                                r"example_very_unclear '.*' is not a flag"):
        read_raw(spec["files"])


# ------------------------------------------------------------- 3. encodings and mojibake

ISEAR_ROWS = [("When I heard I don’t have to move after all", "joy"),
              ("Someone took my seat at the café again", "anger")]


def test_isear_utf8_file_is_read_as_utf8(tmp_path):
    path = tmp_path / "isear_dataset.csv"
    path.write_bytes(_file_text("isear", ISEAR_ROWS).encode("utf-8"))
    df = read_isear(path)                                  # configured latin-1, file is UTF-8
    assert df["text"].tolist() == [t for t, _ in ISEAR_ROWS]


def test_isear_bom_wins_over_configured_encoding(tmp_path):
    path = tmp_path / "isear_dataset.csv"
    path.write_bytes(_file_text("isear", ISEAR_ROWS).encode("utf-16"))   # writes a BOM
    assert read_isear(path)["text"].tolist() == [t for t, _ in ISEAR_ROWS]


def test_isear_cp1252_file_is_repaired_and_counted(tmp_path):
    data = _file_text("isear", ISEAR_ROWS).encode("cp1252")              # 0x92 for ’
    spec = _source(tmp_path, "isear", [data])
    table, qc = _build("isear", spec)                          # read as latin-1: C1 controls
    assert sorted(table["text"]) == sorted(t for t, _ in ISEAR_ROWS)
    assert qc["repaired"] == {"mojibake": 1}
    table, qc = _build("isear", dict(spec, encoding="cp1252"))  # read right: nothing to repair
    assert sorted(table["text"]) == sorted(t for t, _ in ISEAR_ROWS)
    assert qc["repaired"] == {"mojibake": 0}


def test_mojibake_repaired_only_where_provable_and_counted(tmp_path):
    rows = [("I donâ€™t like waiting in long lines", "anger"),          # UTF-8 read as cp1252
            ("I don\u00e2\x80\x99t like rainy mondays at all", "anger"),  # UTF-8 read as latin-1
            ("Un café normal con el señor López", "joy"),              # proper text: untouched
            ("Look at this mess Ã× right here now", "anger")]          # no UTF-8 run: untouched
    spec = _source(tmp_path, "table", [_file_text("table", rows).encode("utf-8")])
    table, qc = _build("mine", spec)
    assert table["text"].tolist() == ["I don’t like waiting in long lines",
                                      "I don’t like rainy mondays at all",
                                      "Un café normal con el señor López",
                                      "Look at this mess Ã× right here now"]
    assert qc["repaired"] == {"mojibake": 2}


def test_bundled_isear_reads_as_before():
    spec = {"format": "isear", "files": [str(REPO / "resources/corpora/isear/isear_dataset.csv")]}
    raw = read_source("isear", spec)
    assert len(raw) == 51 and raw["text"].str.contains("café", regex=False).any()
    assert not raw["text"].str.contains("\xe1\r\n", regex=False).any()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_honours_the_encoding_setting(tmp_path, fmt):
    rows = [*TEXTS, ("Coffee at the café was cold again", "anger")]
    spec = _source(tmp_path, fmt, [_file_text(fmt, rows).encode("cp1252")], encoding="cp1252")
    table, _ = _build("src", spec)
    assert "Coffee at the café was cold again" in table["text"].tolist()
    if fmt != "isear":                                     # the others default to UTF-8
        name = re.escape(Path(spec["files"][0]).name)
        with pytest.raises(CorpusFormatError, match=rf"{name}, line \d+: not valid utf-8"):
            read_source("src", dict(spec, encoding=None))


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-32"])   # each writes a BOM
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_honours_a_bom(tmp_path, fmt, codec):
    spec = _source(tmp_path, fmt, [_file_text(fmt, TEXTS).encode(codec)])
    table, _ = _build("src", spec)
    assert sorted(table["text"]) == sorted(t for t, _ in TEXTS)


def test_undecodable_byte_names_file_line_and_codec(tmp_path):
    data = _file_text("tweet_intensity", TEXTS).encode() + b"\n9\tbad \xff here now ok\tjoy\t0.5"
    spec = _source(tmp_path, "tweet_intensity", [data])
    with pytest.raises(CorpusFormatError, match=r"joy_dataset_0\.csv, line 4: not valid utf-8"):
        read_source("tw", spec)


@pytest.mark.parametrize("encoding", ["klingon", "hex", "rot13"])
def test_unknown_encoding_names_the_config_key(tmp_path, encoding):
    spec = _source(tmp_path, "table", [_file_text("table", TEXTS).encode()], encoding=encoding)
    with pytest.raises(ValueError, match=rf"corpora\.sources\.mine\.encoding: '{encoding}' is "
                                         "not a known text encoding"):
        read_source("mine", spec)


def test_schema_refuses_a_malformed_encoding():
    from snakemake.utils import validate
    schema = str(REPO / "schemas" / "corpora.schema.yaml")
    ok = {"sources": {"mine": {"format": "table", "files": ["a.csv"], "encoding": "cp1252"}}}
    validate(ok, schema)
    bad = {"sources": {"mine": {"format": "table", "files": ["a.csv"], "encoding": "utf 8; x"}}}
    with pytest.raises(Exception, match="does not match"):
        validate(bad, schema)


# ------------------------------------------------------------- 4. empty and header-only files

@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_and_header_only_files_are_warned_and_counted(tmp_path, fmt, caplog):
    header_only = _file_text(fmt, []).encode()
    contents = [_file_text(fmt, TEXTS).encode(), b"", b"\n\n"]
    if header_only:
        contents.append(header_only)
    if fmt == "isear":                                     # one file only: see the next test
        contents = contents[:1]
    spec = _source(tmp_path, fmt, contents)
    with caplog.at_level(logging.WARNING, logger="blendtalk.corpora"):
        table, qc = _build("src", spec)
    assert qc["empty_files"] == spec["files"][1:]
    assert len(table) == len(TEXTS)
    for path in spec["files"][1:]:
        assert f"{path} is empty or holds only a header" in caplog.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_source_without_rows_is_an_error_naming_it_and_its_files(tmp_path, fmt):
    spec = _source(tmp_path, fmt, [_file_text(fmt, []).encode()])
    with pytest.raises(ValueError, match=r"corpora\.sources\.src: no rows in its files \[.*"
                                         + Path(spec["files"][0]).name):
        build_source("src", spec, CleanOptions(), SPLITS)


# ------------------------------------------------------------- 5. oversized fields

@pytest.mark.parametrize("fmt", FORMATS)
def test_oversized_field_drops_its_row_and_keeps_the_rest(tmp_path, fmt):
    huge = " ".join(["word"] * 200_000)                    # 1 MB, 200,000 words
    spec = _source(tmp_path, fmt, [_file_text(fmt, [TEXTS[0], (huge, "joy"), *TEXTS[1:]])
                                   .encode()])
    table, qc = _build("src", spec)
    assert sorted(table["text"]) == sorted(t for t, _ in TEXTS)
    assert qc["dropped"]["oversized_field"] == 1


def test_oversized_ignored_field_is_harmless(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text(f"A good sentence here\t1\t{'x' * 1_000_000}\nAnother fine sentence\t0\tid2\n")
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    df = read_simplified([path], tmp_path / "labels.txt")
    assert df["drop_reason"].isna().all() and len(df) == 2


# ------------------------------------------------------------- the invariant on all of it

def test_hostile_mix_accounts_for_every_row(tmp_path):
    huge = "many words here " * 70_000
    rows = [*TEXTS, ("two words", "joy"), (huge, "anger"), (TEXTS[0][0], "anger"),
            ("So sad ðŸ˜ž about the news today", "neutral")]
    spec = _source(tmp_path, "tweet_intensity",
                   [_file_text("tweet_intensity", rows).encode(), b""])
    table, qc = _build("tw", spec)
    assert qc["rows_read"] == len(rows)
    assert qc["dropped"] == {"duplicate_in_source": 1, "oversized_field": 1, "too_short": 1}
    assert qc["rows_kept"] == len(table) == 4
    assert qc["repaired"] == {"mojibake": 1} and len(qc["empty_files"]) == 1
    assert yaml.safe_load(yaml.safe_dump(qc)) == qc                  # plain JSON-able values
