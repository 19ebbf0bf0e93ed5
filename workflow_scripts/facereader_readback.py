"""Read the run's videos back with the render rig's face reader and score them against the
curves that were rendered (rule facereader_readback)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.arkit import ARKIT_NAMES  # noqa: E402
from blendtalk.io import write_json  # noqa: E402
from blendtalk.models.facereader_run import most_active, read_back  # noqa: E402
from blendtalk.models.text2expr_plots import plot_curves  # noqa: E402
from blendtalk.render.sample import expression_row, read_expressions, weights_of  # noqa: E402
from blendtalk.render.sequences import expression_envelope  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
table = read_expressions(sm.input.expressions)
clips = []
for video in sm.input.expression_videos:
    row = expression_row(table, Path(video).stem, sm.input.expressions)
    curves = expression_envelope(weights_of(row), duration_s=sm.params.video["duration_s"], fps=sm.params.video["fps"])
    clips.append(("expression", video, curves))
for video, animation in zip(sm.input.speech_videos, sm.input.speech_animations, strict=True):
    clips.append(("speech", video, tables.read(animation, tables.ANIMATION)[list(ARKIT_NAMES)].to_numpy()))
report, example = read_back(sm.params.model_dir, clips)
with open(sm.input.scores, encoding="utf-8") as fh:
    scores = json.load(fh)
write_json({"reader": scores, "readback": report}, sm.output.metrics)
names = list(ARKIT_NAMES)
plot_curves(pd.DataFrame(example["rendered"], columns=names), pd.DataFrame(example["read"], columns=names),
            f"{example['name']}: rendered vs read back", sm.output.plot,
            channels=most_active(example["rendered"]), labels=("rendered", "read back"))
