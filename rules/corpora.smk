# Stage: corpora (see docs/DESIGN.md): raw corpus files → one clean, labelled, deduplicated,
# split and capped corpus. Library code: src/blendtalk/corpora/.
# Config paths `.cache/...` lie under the cache root ($BLENDTALK_CACHE, default .cache/); download
# paths were checked to stay inside it at start-up (blendtalk.config).
import re

CORPORA = config["corpora"]


def _cached_source(spec: dict) -> dict:
    """`spec` with its `.cache/...` paths mapped onto the cache root."""
    return {**spec,
            "files": [in_cache(f) for f in spec["files"]],
            "labels_file": spec["labels_file"] and in_cache(spec["labels_file"]),
            "download": [{**d, "path": in_cache(d["path"])} for d in spec["download"]]}


CORPUS_SOURCES = {name: _cached_source(spec) for name, spec in CORPORA["sources"].items()
                  if spec["enabled"]}
CORPUS_DOWNLOADS = {d["path"]: d for spec in CORPUS_SOURCES.values()
                    for d in spec["download"]}
CORPUS_CACHE = in_cache(".cache/corpora")


rule corpora_download:
    output:
        f"{CORPUS_CACHE}/{{path}}",
    log:
        log_for("corpora", "download", "{path}.log"),
    wildcard_constraints:
        path="|".join(re.escape(str(Path(p).relative_to(CORPUS_CACHE))) for p in CORPUS_DOWNLOADS)
        or "(?!)",
    params:
        url=lambda wc: CORPUS_DOWNLOADS[f"{CORPUS_CACHE}/{wc.path}"]["url"],
        sha256=lambda wc: CORPUS_DOWNLOADS[f"{CORPUS_CACHE}/{wc.path}"]["sha256"],
    conda:
        "../envs/corpora.yaml"
    resources:
        downloads=1,
    script:
        "../workflow_scripts/corpora_download.py"


rule corpora_source:
    input:
        # the data files, then the labels file and label map when the source has them
        lambda wc: [*CORPUS_SOURCES[wc.source]["files"],
                    *(CORPUS_SOURCES[wc.source][key] for key in ("labels_file", "label_map")
                      if CORPUS_SOURCES[wc.source][key])],
    output:
        table=result("corpora", "{source}.parquet"),
        rejected=(result("corpora", "rejected", "{source}.parquet")
                  if CORPORA["write_rejected"] else []),
    log:
        log_for("corpora", "{source}.log"),
    wildcard_constraints:
        source="|".join(map(re.escape, CORPUS_SOURCES)) or "(?!)",
    params:
        spec=lambda wc: canonical(CORPUS_SOURCES[wc.source]),
        clean=canonical(CORPORA["clean"]),
        splits=canonical(CORPORA["splits"]),
    conda:
        "../envs/corpora.yaml"
    threads: 1
    script:
        "../workflow_scripts/corpora_source.py"


rule corpora_corpus:
    input:
        tables=expand(result("corpora", "{source}.parquet"), source=CORPUS_SOURCES),
    output:
        corpus=result("corpora", "corpus.parquet"),
        qc=result("corpora", "qc.json"),
    log:
        log_for("corpora", "corpus.log"),
    params:
        sources=list(CORPUS_SOURCES),
        cap=canonical(CORPORA["cap"]),
        seed=config["seed"],
    resources:
        # the source tables in pandas (Python strings: about 10x their Parquet size) plus the
        # interpreter; linear in the input
        mem_mb=lambda wildcards, input: int(800 + 10 * input.size_mb),
    conda:
        "../envs/corpora.yaml"
    threads: 1
    script:
        "../workflow_scripts/corpora_corpus.py"


ALL_TARGETS.extend([result("corpora", "qc.json"), result("corpora", "corpus.parquet")])
if CORPORA["write_rejected"]:
    ALL_TARGETS.extend(expand(result("corpora", "rejected", "{source}.parquet"),
                              source=CORPUS_SOURCES))
