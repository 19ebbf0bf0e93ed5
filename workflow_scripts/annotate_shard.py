"""Annotate one corpus shard with the configured backend (rule annotate_shard)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.annotate.run import annotate_shard

sm = snakemake  # noqa: F821
annotate_shard(sm.input.corpus, sm.wildcards.shard, sm.params.annotate, sm.output[0],
               sm.params.cache_dir)
