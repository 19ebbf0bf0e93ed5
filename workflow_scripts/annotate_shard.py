"""Annotate one corpus shard with the configured backend (rule annotate_shard)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.annotate.run import annotate_shard  # noqa: E402

sm = snakemake  # noqa: F821
settings = sm.config["annotate"]  # the whole section; sm.params.outputs is its output-relevant part
if settings["backend"] != "rules":
    import torch  # the LLM backends: keep torch to the rule's threads (oversubscription is slow)

    torch.set_num_threads(sm.threads)
annotate_shard(sm.input.corpus, sm.wildcards.shard, settings, sm.output[0], sm.params.cache_dir)
