# Stage: text2expr (see docs/DESIGN.md): the contrastive text ↔ expression model.
# Text embeddings are cached under the cache root (.cache/text_embeddings, $BLENDTALK_CACHE).
from blendtalk.models.budget import epoch_budget

T2E = config["text2expr"]
T2E_MODEL = result("models", "text2expr")

# Settings of the text2expr section that change how fast rule text2expr_train runs, not what it
# writes. They stay out of its params (so changing one re-runs nothing); its script reads them
# from the config.
# - encoder.device, encoder.batch_size, encoder.threads: the embedding cache is keyed by the
#   encoder's weights and arithmetic (kind, model, pretrained, precision) only, so by
#   construction they do not change the embeddings.
# - train.threads (the rule's `threads:`): torch's thread count changes float results only at
#   rounding level (measured: 5e-7 in the val loss after 3 epochs of the small model), as another
#   CPU or BLAS build would, which params do not track either; and Snakemake scales a rule's
#   threads down to --cores, so the configured number is not even always the one used.
T2E_SPEED_ONLY = ("encoder.device", "encoder.batch_size", "encoder.threads", "train.threads")


def text2expr_strings_per_row() -> int:
    """Strings embedded per training row: every view, each with its augmented variants."""
    return len(T2E["views"]) * (1 + T2E["augment"]["variants"])


def text2expr_threads() -> int:
    """Threads of text2expr_train: the encoder's (encoder.threads, default train.threads) or the
    training's, whichever is more; the script encodes with all of them and trains with at most
    train.threads. Snakemake scales them down to --cores."""
    return max(T2E["train"]["threads"], T2E["encoder"]["threads"] or 1)


def text2expr_mem_mb(wildcards, input) -> int:
    """Peak memory of text2expr_train from the size of its input, linear in the rows (the stage
    holds no (N, N) array; bench/scale.py measures it): about 1.5 GB of interpreter, torch and the
    encoder, plus three float32 copies of the training rows' string embeddings (the cache, the
    pair table, the training tensor; 80% of the rows train), plus the tables and metric arrays
    (about 5 KB a row). The input's MB stand in for its rows when the footer cannot be read."""
    rows = parquet_rows(input.expressions) or int(input.size_mb * 2000)
    dim = 384 if T2E["encoder"]["kind"] == "minilm" else 1024
    embeddings = 0.8 * rows * text2expr_strings_per_row() * dim * 4 * 3
    return int(1500 + embeddings / 1e6 + rows * 0.005)


def text2expr_runtime(wildcards, input) -> int:
    """Minutes of text2expr_train, an upper bound linear in the rows: encoding (at most 12 ms a
    string, as on one CPU thread: 6 ms measured with bf16 on one AMD EPYC thread, 3.7 ms on two;
    more threads only shorten it) and the trainings (the model, and the reference-loss baseline
    when on) of at most `epoch_budget` epochs, the training's own cap (0.3 ms a training row per
    epoch, validation included; 0.22 ms measured on that CPU at 53k rows)."""
    rows = parquet_rows(input.expressions) or int(input.size_mb * 2000)
    train_rows = max(1, int(0.8 * rows))
    encode_s = train_rows * text2expr_strings_per_row() * 12e-3
    epochs = epoch_budget(T2E["train"]["epochs"], T2E["train"]["max_samples"], train_rows)
    trainings = 2 if T2E["baselines"]["reference_loss"] else 1
    train_s = trainings * epochs * train_rows * 3e-4
    return int(10 + (encode_s + train_s) / 60)


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
        # only what changes the outputs (see T2E_SPEED_ONLY)
        text2expr=canonical({k: v for k, v in T2E.items() if k != "plots"}, drop=T2E_SPEED_ONLY),
        seed=config["seed"],
        cache_dir=in_cache(".cache/text_embeddings"),  # a cache keyed by encoder and text
    log:
        log_for("text2expr", "train.log"),
    threads: text2expr_threads()
    resources:
        mem_mb=text2expr_mem_mb,
        runtime=text2expr_runtime,
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
