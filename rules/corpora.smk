# Stage: corpora (see ../shared/DESIGN.md): raw corpus files → one clean, labelled, deduplicated,
# split and capped corpus. Library code: src/blendtalk/corpora/.
import re

CORPORA = config["corpora"]
CORPUS_SOURCES = {name: spec for name, spec in CORPORA["sources"].items()
                  if spec["enabled"]}
CORPUS_DOWNLOADS = {d["path"]: d for spec in CORPUS_SOURCES.values()
                    for d in spec["download"]}


rule corpora_download:
    output:
        ".cache/corpora/{path}",
    log:
        log_for("corpora", "download", "{path}.log"),
    wildcard_constraints:
        path="|".join(re.escape(p.removeprefix(".cache/corpora/")) for p in CORPUS_DOWNLOADS)
        or "(?!)",
    params:
        url=lambda wc: CORPUS_DOWNLOADS[f".cache/corpora/{wc.path}"]["url"],
        sha256=lambda wc: CORPUS_DOWNLOADS[f".cache/corpora/{wc.path}"].get("sha256"),
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
        spec=lambda wc: CORPUS_SOURCES[wc.source],
        clean=CORPORA["clean"],
        splits=CORPORA["splits"],
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
        cap=CORPORA["cap"],
        seed=config["seed"],
    conda:
        "../envs/corpora.yaml"
    threads: 1
    script:
        "../workflow_scripts/corpora_corpus.py"


ALL_TARGETS.extend([result("corpora", "qc.json"), result("corpora", "corpus.parquet")])
if CORPORA["write_rejected"]:
    ALL_TARGETS.extend(expand(result("corpora", "rejected", "{source}.parquet"),
                              source=CORPUS_SOURCES))
