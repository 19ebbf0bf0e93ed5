"""Train the speech → face model on the speech corpus (rule speech2face_train)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from blendtalk.models.speech2face_run import train_on_corpus  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
train_on_corpus(sm.params.utterances, sm.params.speech_dir, sm.params.text2expr_dir,
                sm.params.settings, sm.params.seed, Path(sm.output.model).parent, sm.params.cache_dir)
