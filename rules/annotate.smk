# Stage: annotate (see docs/DESIGN.md): corpus sentences → FACS descriptions, one job per
# shard (shard membership from the text_id hash), then a merge with stats. Answers are cached in
# results/annotations/cache/ (not a rule output, so it survives failed or killed jobs and lets a
# rerun resume). Library code: src/blendtalk/annotate/.
from blendtalk.annotate.settings import output_settings
from blendtalk.annotate.shards import shard_names

ANNOTATE = config["annotate"]

ANNOTATE_SHARDS = shard_names(ANNOTATE["shards"])


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
