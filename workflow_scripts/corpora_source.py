"""Read, clean and label one corpus source (rule corpora_source)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging

from blendtalk.corpora import CleanOptions, build_source
from blendtalk import tables
from blendtalk.io import write_parquet

sm = snakemake  # noqa: F821
table, rejected, qc = build_source(sm.wildcards.source, sm.params.spec,
                                   CleanOptions(**sm.params.clean), sm.params.splits)
logging.getLogger("corpora").info("%s: %s", sm.wildcards.source, qc)
table.attrs["qc"] = qc  # stored in the Parquet metadata; rule corpora_corpus gathers it
tables.write(table, sm.output.table, tables.CORPUS)
if sm.output.get("rejected"):
    write_parquet(rejected, sm.output.rejected)
