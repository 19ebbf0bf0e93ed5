import blendtalk.logs

blendtalk.logs.setup_logging(snakemake.log[0])  # noqa: F821 (injected by Snakemake)

from blendtalk.models.text2expr_run import run  # noqa: E402

sm = snakemake  # noqa: F821
# speed-only settings, not in params (rules/text2expr.smk): the encoder takes all the rule's
# threads, training at most train.threads of them
encoder, train_threads = sm.config["text2expr"]["encoder"], sm.config["text2expr"]["train"]["threads"]
run(expressions=sm.input.expressions, descriptions=sm.input.descriptions,
    params=sm.params.text2expr, seed=sm.params.seed, model_dir=sm.output.config.rsplit("/", 1)[0],
    metrics_path=sm.output.metrics, latents_path=sm.output.latents, cache_dir=sm.params.cache_dir,
    device=encoder["device"], encode_batch_size=encoder["batch_size"],
    threads=min(train_threads, sm.threads), encoder_threads=sm.threads)
