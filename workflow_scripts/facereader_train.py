"""Train one rig's face readers (GNLL and the MSE ablation), score them, write its legibility
report (rule facereader_train)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from blendtalk.models.facereader_run import reader_configs, train_and_score  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
model_cfg, train_cfg = reader_configs(sm.params.settings, sm.params.seed)
train_and_score(sm.input.dataset, Path(sm.output.model).parent, sm.output.scores, sm.output.legibility,
                sm.wildcards.reader_rig, model_cfg, train_cfg, sm.params.camera)
