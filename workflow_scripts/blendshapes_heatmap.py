"""Snakemake script of rule blendshapes_heatmap: expressions → mean expression per emotion PNG."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import pandas as pd  # noqa: E402

from blendtalk.blendshapes.plot import heatmap  # noqa: E402
from blendtalk.blendshapes.summary import emotion_means  # noqa: E402

sm = snakemake  # noqa: F821
table = pd.read_parquet(sm.input.table)
heatmap(emotion_means(table), sm.output[0], counts=table["emotion"].value_counts().to_dict(),
        dpi=int(sm.params.dpi))
