# Stage: annotate (see ../shared/DESIGN.md): corpus sentences → FACS descriptions, one job per
# shard (shard membership from the text_id hash), then a merge with stats. Answers are cached in
# results/annotations/cache/ (not a rule output, so it survives failed or killed jobs and lets a
# rerun resume). Library code: src/blendtalk/annotate/.
ANNOTATE = config["annotate"]

ANNOTATE_SHARDS = [f"{i:03d}" for i in range(ANNOTATE["shards"])]


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
        annotate=ANNOTATE,
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
