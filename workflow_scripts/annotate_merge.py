"""Merge the annotation shards into descriptions.parquet and stats.json (rule annotate_merge)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.annotate.run import merge_shards

sm = snakemake  # noqa: F821
merge_shards(sm.input.shards, sm.input.corpus, sm.output.descriptions, sm.output.stats)
