import blendtalk.logs

blendtalk.logs.setup_logging(snakemake.log[0])  # noqa: F821 (injected by Snakemake)

from blendtalk.models.text2expr_plots import plot_all  # noqa: E402

plot_all(history=snakemake.input.history, latents=snakemake.input.latents,  # noqa: F821
         metrics=snakemake.input.metrics, loss_png=snakemake.output.loss,  # noqa: F821
         joint_map_png=snakemake.output.joint_map,  # noqa: F821
         channel_errors_png=snakemake.output.channel_errors,  # noqa: F821
         perplexity=snakemake.params.perplexity, seed=snakemake.params.seed)  # noqa: F821
