import blendtalk.logs

blendtalk.logs.setup_logging(snakemake.log[0])  # noqa: F821 (injected by Snakemake)

from blendtalk.models.text2expr_run import run  # noqa: E402

run(expressions=snakemake.input.expressions, descriptions=snakemake.input.descriptions,  # noqa: F821
    params=snakemake.params.text2expr, seed=snakemake.params.seed,  # noqa: F821
    model_dir=snakemake.output.config.rsplit("/", 1)[0],  # noqa: F821
    metrics_path=snakemake.output.metrics, latents_path=snakemake.output.latents,  # noqa: F821
    cache_dir=snakemake.params.cache_dir, threads=snakemake.threads)  # noqa: F821
