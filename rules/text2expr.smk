# Stage: text2expr (see ../shared/DESIGN.md): the contrastive text ↔ expression model.
# Text embeddings are cached under results/text_embeddings/ (a cache, not a declared output).
T2E = config["text2expr"]
T2E_MODEL = result("models", "text2expr")


rule text2expr_train:
    input:
        expressions=result("blendshapes", "expressions.parquet"),
        descriptions=result("annotations", "descriptions.parquet"),
    output:
        model=f"{T2E_MODEL}/model.safetensors",
        config=f"{T2E_MODEL}/config.json",
        history=f"{T2E_MODEL}/history.csv",
        latents=f"{T2E_MODEL}/test_latents.parquet",
        metrics=result("metrics", "text2expr.json"),
    params:
        text2expr={k: v for k, v in T2E.items() if k != "plots"},
        seed=config["seed"],
        cache_dir=result("text_embeddings"),
    log:
        log_for("text2expr", "train.log"),
    threads: T2E["train"]["threads"]
    resources:
        mem_mb=4000,
    conda:
        "../envs/text2expr.yaml"
    script:
        "../workflow_scripts/text2expr_train.py"


rule text2expr_plots:
    input:
        history=rules.text2expr_train.output.history,
        latents=rules.text2expr_train.output.latents,
        metrics=rules.text2expr_train.output.metrics,
    output:
        loss=result("plots", "text2expr_loss.png"),
        joint_map=result("plots", "text2expr_joint_map.png"),
        channel_errors=result("plots", "text2expr_channel_errors.png"),
    params:
        perplexity=T2E["plots"]["perplexity"],
        seed=config["seed"],
    log:
        log_for("text2expr", "plots.log"),
    threads: 1
    conda:
        "../envs/text2expr.yaml"
    script:
        "../workflow_scripts/text2expr_plots.py"


ALL_TARGETS.extend(
    [
        *rules.text2expr_train.output,
        *rules.text2expr_plots.output,
    ]
)
