"""Corpus stage in the workflow: a Snakemake run on the bundled data, downloads from a local HTTP
server, and (when ../shared is present) row accounting on the real corpora."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from blendtalk.corpora import CleanOptions, build_source
from blendtalk.corpora.download import download
from blendtalk.emotions import EMOTIONS
from conftest import REPO, make_workdir, run_snakemake

CORPUS = ["text_id", "source", "source_row", "text", "emotion", "emotions", "source_labels",
          "intensity", "split"]


@pytest.fixture(scope="module")
def corpora_run(tmp_path_factory) -> Path:
    workdir = make_workdir(tmp_path_factory.mktemp("corpora") / "wf")
    run_snakemake(workdir, "results/corpora/qc.json")
    return workdir


def test_snakemake_builds_corpus_and_qc(corpora_run):
    res = corpora_run / "results" / "corpora"
    qc = json.loads((res / "qc.json").read_text())
    assert set(qc["sources"]) == {"goemotions", "goemotions_raw", "tweet_intensity", "isear"}
    kept = 0
    for name, src in qc["sources"].items():
        assert src["rows_read"] == src["rows_kept"] + sum(src["dropped"].values()), name
        table = pd.read_parquet(res / f"{name}.parquet")
        assert len(table) == src["rows_kept"]
        kept += src["rows_kept"]
    assert qc["sources"]["goemotions_raw"]["dropped"]["rater_row_merged"] == 50
    assert qc["sources"]["isear"]["dropped"]["placeholder"] == 6
    c = qc["corpus"]
    assert c["rows_in"] == kept == c["cross_source_duplicates"] + c["capped"] + c["rows_out"]
    assert c["cross_source_duplicates"] == 3 and c["capped"] == 4

    corpus = pd.read_parquet(res / "corpus.parquet")
    assert list(corpus.columns[:len(CORPUS)]) == CORPUS
    assert len(corpus) == c["rows_out"] and 150 <= len(corpus) <= 250
    assert corpus["text_id"].is_unique
    assert corpus["emotion"].isin(EMOTIONS).all()
    assert {"shame", "guilt", "anger", "joy", "fear", "sadness"} <= set(corpus["emotion"])
    assert corpus.groupby(["source", "emotion"]).size().max() <= 16
    assert corpus["split"].value_counts().to_dict() == c["by_split"]
    assert all(list(e)[0] == p for e, p in zip(corpus["emotions"], corpus["emotion"]))
    tweets = corpus[corpus["source"] == "tweet_intensity"]
    assert tweets["intensity"].between(0, 1).all() and tweets["intensity"].notna().all()
    assert not corpus["text"].str.contains(r"\[NAME\]|\\n|https?://|@\w", regex=True).any()
    assert not (res / "rejected").exists()  # write_rejected is off by default


def test_snakemake_rerun_is_reproducible(corpora_run, tmp_path):
    again = make_workdir(tmp_path / "wf")
    run_snakemake(again, "results/corpora/corpus.parquet")
    a = pd.read_parquet(corpora_run / "results" / "corpora" / "corpus.parquet")
    b = pd.read_parquet(again / "results" / "corpora" / "corpus.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_snakemake_names_a_wrong_key(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    (workdir / "bad.yaml").write_text("corpora:\n  foo: 1\n")
    proc = run_snakemake(workdir, "results/corpora/qc.json", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "corpora.foo" in proc.stdout + proc.stderr


@pytest.fixture()
def http_server(tmp_path):
    root = tmp_path / "served"
    (root / "data").mkdir(parents=True)
    sim = REPO / "resources" / "corpora" / "goemotions" / "simplified"
    shutil.copy(sim / "dev.tsv", root / "data" / "dev.tsv")
    shutil.copy(sim / "labels.txt", root / "data" / "emotions.txt")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_download_checks_scheme_and_sha256(http_server, tmp_path):
    base, root = http_server
    digest = hashlib.sha256((root / "data" / "dev.tsv").read_bytes()).hexdigest()
    download(f"{base}/data/dev.tsv", tmp_path / "ok.tsv", sha256=digest)
    assert (tmp_path / "ok.tsv").read_bytes() == (root / "data" / "dev.tsv").read_bytes()
    with pytest.raises(ValueError, match="does not match"):
        download(f"{base}/data/dev.tsv", tmp_path / "bad.tsv", sha256="0" * 64)
    assert not (tmp_path / "bad.tsv").exists()
    with pytest.raises(ValueError, match="only http"):
        download("file:///etc/passwd", tmp_path / "x")


def test_snakemake_downloads_when_configured(http_server, tmp_path):
    base, _ = http_server
    workdir = make_workdir(tmp_path / "wf")
    overlay = {"corpora": {"sources": {
        "goemotions": {"format": "goemotions_simplified",
                       "files": [".cache/corpora/goemotions/dev.tsv"],
                       "labels_file": ".cache/corpora/goemotions/emotions.txt",
                       "label_map": "resources/labels/goemotions.tsv",
                       "download": [{"url": f"{base}/data/dev.tsv",
                                     "path": ".cache/corpora/goemotions/dev.tsv"},
                                    {"url": f"{base}/data/emotions.txt",
                                     "path": ".cache/corpora/goemotions/emotions.txt"}]},
        "goemotions_raw": {"enabled": False}, "tweet_intensity": {"enabled": False},
        "isear": {"enabled": False}}}}
    (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    run_snakemake(workdir, "results/corpora/qc.json", "--configfile", "overlay.yaml")
    assert (workdir / ".cache" / "corpora" / "goemotions" / "dev.tsv").is_file()
    qc = json.loads((workdir / "results" / "corpora" / "qc.json").read_text())
    assert set(qc["sources"]) == {"goemotions"}
    assert qc["sources"]["goemotions"]["rows_read"] == 63


@pytest.mark.needs_shared
def test_real_corpora_row_accounting(shared_dir):
    data = shared_dir / "data"
    splits = {"train": 0.8, "val": 0.1, "test": 0.1}
    go_spec = {"format": "goemotions_simplified", "files": [str(data / "goemotions" / "dev.tsv")],
               "labels_file": str(data / "goemotions" / "labels.txt"),
               "label_map": str(REPO / "resources" / "labels" / "goemotions.tsv")}
    go, _, go_qc = build_source("goemotions", go_spec, CleanOptions(), splits)
    assert go_qc["rows_read"] == 5426
    assert go_qc["rows_read"] == go_qc["rows_kept"] + sum(go_qc["dropped"].values())
    assert not go["text"].str.contains(r"\[NAME\]|\[RELIGION\]", regex=True).any()
    tw_files = sorted((data / "tweet_intensity").glob("*_dataset_*.csv"))
    assert len(tw_files) == 12
    tw_spec = {"format": "tweet_intensity", "files": [str(f) for f in tw_files],
               "label_map": str(REPO / "resources" / "labels" / "tweet_intensity.tsv")}
    tw, _, tw_qc = build_source("tweet_intensity", tw_spec, CleanOptions(), splits)
    assert tw_qc["rows_read"] == 7102
    assert tw_qc["rows_read"] == tw_qc["rows_kept"] + sum(tw_qc["dropped"].values())
    assert tw["intensity"].between(0, 1).all()
    # 795 raw tweets hold emoji mojibake; a few lost a byte (0x81, 0x9d...) and cannot be repaired
    assert tw["text"].str.contains("ðŸ", regex=False).sum() <= 5
    assert set(tw["emotion"]) == {"anger", "fear", "joy", "sadness"}
    print(json.dumps({"goemotions_dev": go_qc, "tweet_intensity": tw_qc}, indent=1))
