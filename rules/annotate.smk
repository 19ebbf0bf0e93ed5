# Stage: annotate (see docs/DESIGN.md): corpus sentences → FACS descriptions, one job per
# shard (shard membership from the text_id hash), then a merge with stats. Answers are cached in
# results/annotations/cache/ (not a rule output, so it survives failed or killed jobs and lets a
# rerun resume). Library code: src/blendtalk/annotate/.
from blendtalk.annotate.settings import output_settings
from blendtalk.annotate.shards import shard_names

ANNOTATE = config["annotate"]

ANNOTATE_SHARDS = shard_names(ANNOTATE["shards"])

# Upper bounds per backend for the resource callables below: seconds per row and the job's base
# memory (interpreter, model weights in host memory) in MB. rules: measured 1.2 ms a row on one
# CPU (bench/rules_faces.py); transformers: the offline Gemma 270M config's ~10 s a row on 2 CPU
# cores (a GPU is faster: an upper bound); vllm: batched Llama-3.3-70B on 2 GPUs, ~1 s a row,
# with the safetensors shards passing through host memory while they load.
ANNOTATE_COST = {"rules": (0.002, 600), "transformers": (10.0, 8000), "vllm": (1.0, 64000)}


def annotate_shard_rows(input) -> int:
    """Rows one shard annotates: the corpus' rows (the `limit`, if set) over the shards; the
    corpus' MB stand in for its rows when the footer cannot be read."""
    rows = parquet_rows(input.corpus) or int(input.size_mb * 5000)
    if ANNOTATE["limit"] is not None:
        rows = min(rows, ANNOTATE["limit"])
    return -(-rows // ANNOTATE["shards"])


def annotate_shard_mem_mb(wildcards, input) -> int:
    """The backend's base memory plus the corpus table in pandas (about 10x its Parquet size: the
    job reads the whole corpus and keeps its shard) and ~20 KB of answers and cache a row."""
    return int(ANNOTATE_COST[ANNOTATE["backend"]][1] + 10 * input.size_mb
               + 0.02 * annotate_shard_rows(input))


def annotate_shard_runtime(wildcards, input) -> int:
    """Minutes of one shard: its rows at the backend's seconds a row, times the retries of
    invalid answers as a bound, plus 10 minutes of start-up (loading the model)."""
    seconds = ANNOTATE_COST[ANNOTATE["backend"]][0] * annotate_shard_rows(input)
    return int(10 + seconds * (1 + ANNOTATE["max_retries"]) / 60)


rule annotate_shard:
    input:
        corpus=result("corpora", "corpus.parquet"),
    output:
        result("annotations", "shards", "{shard}.parquet"),
    log:
        log_for("annotate", "shard_{shard}.log"),
    wildcard_constraints:
        shard=r"\d{3}",
    params:
        # Only the settings that change a shard's rows (blendtalk.annotate.settings): changing a
        # resource or a speed setting (gpus_per_shard, batch_size, ...) re-runs nothing. The
        # script reads the whole section from the config.
        outputs=canonical(output_settings(ANNOTATE)),
        cache_dir=result("annotations", "cache"),
    threads: 1 if ANNOTATE["backend"] == "rules" else workflow.cores
    resources:
        gpu=annotate_gpus(),
        mem_mb=annotate_shard_mem_mb,
        runtime=annotate_shard_runtime,
    conda:
        "../envs/annotate.yaml" if ANNOTATE["backend"] == "rules" else "../envs/annotate-llm.yaml"
    script:
        "../workflow_scripts/annotate_shard.py"


rule annotate_merge:
    input:
        shards=expand(result("annotations", "shards", "{shard}.parquet"), shard=ANNOTATE_SHARDS),
        corpus=result("corpora", "corpus.parquet"),
    output:
        descriptions=result("annotations", "descriptions.parquet"),
        stats=result("annotations", "stats.json"),
    log:
        log_for("annotate", "merge.log"),
    conda:
        "../envs/annotate.yaml"
    script:
        "../workflow_scripts/annotate_merge.py"


ALL_TARGETS.extend([result("annotations", "descriptions.parquet"),
                    result("annotations", "stats.json")])
