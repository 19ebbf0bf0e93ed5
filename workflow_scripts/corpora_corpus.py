"""Merge the per-source tables, cap, and write corpus.parquet and qc.json (rule corpora_corpus)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging

import pandas as pd

from blendtalk.corpora import combine
from blendtalk.io import write_json, write_parquet

sm = snakemake  # noqa: F821
tables = [pd.read_parquet(path) for path in sm.input.tables]
corpus, corpus_qc = combine(tables, sm.params.cap["per_source"],
                            sm.params.cap["per_emotion"], sm.params.seed)
qc = {"sources": {name: t.attrs["qc"] for name, t in zip(sm.params.sources, tables)},
      "corpus": corpus_qc}
logging.getLogger("corpora").info("corpus: %s", corpus_qc)
write_parquet(corpus, sm.output.corpus)
write_json(qc, sm.output.qc)
