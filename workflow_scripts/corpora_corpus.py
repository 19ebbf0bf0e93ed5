"""Merge the per-source tables, cap, and write corpus.parquet and qc.json (rule corpora_corpus)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging

from blendtalk.corpora import combine
from blendtalk import tables
from blendtalk.io import write_json

sm = snakemake  # noqa: F821
sources = [tables.read(path, tables.CORPUS) for path in sm.input.tables]
corpus, corpus_qc = combine(sources, sm.params.cap["per_source"],
                            sm.params.cap["per_emotion"], sm.params.seed)
qc = {"sources": {name: t.attrs["qc"] for name, t in zip(sm.params.sources, sources)},
      "corpus": corpus_qc}
logging.getLogger("corpora").info("corpus: %s", corpus_qc)
tables.write(corpus, sm.output.corpus, tables.CORPUS)
write_json(qc, sm.output.qc)
