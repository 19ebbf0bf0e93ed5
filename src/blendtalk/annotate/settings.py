"""Which `annotate` settings change the annotation tables, for the rules' `params`.

A shard's rows are fixed by the shard selection (`shards`, `limit`) and, through the answer
cache, by the cache key: the backend, its model and fingerprint (`gguf_file`, `dtype`,
`chat_template`), the sampling and the hints. Every other setting only changes how fast the
answers come (`batch_size`, `prefix_cache`, `tensor_parallel_size`, `max_model_len`,
`gpu_memory_utilization`, `engine_args`, `gpus_per_shard`) or which answers are retried before
they are cached (`max_retries`): rows already cached keep their answers whatever these say, so
re-running a shard for them would only rewrite the same rows. Batch size and tensor
parallelism can change an LLM's floating-point rounding, but each row's answer is cached
under a key without them, so a re-run reproduces the cached answer anyway.
"""

from __future__ import annotations

from typing import Any

#: The settings that change the annotation tables (see the module docstring).
OUTPUT_KEYS = ("backend", "model", "gguf_file", "chat_template", "dtype", "sampling", "hints",
               "shards", "limit")


def output_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The OUTPUT_KEYS part of the `annotate` section (keys absent from `cfg` left out)."""
    return {key: cfg[key] for key in OUTPUT_KEYS if key in cfg}
