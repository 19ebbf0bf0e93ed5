"""Loss curves and one test utterance's channels (rule speech2face_plots)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk.models.text2expr_plots import plot_curves, plot_loss  # noqa: E402

sm = snakemake  # noqa: F821
plot_loss(pd.read_csv(sm.input.history), sm.output.loss)
first = sorted(Path(sm.input.predictions).glob("*.parquet"))[0]
plot_curves(pd.read_parquet(Path(sm.params.animation_dir) / first.name), pd.read_parquet(first),
            first.stem, sm.output.curves)
