"""Score the model and the baselines on the test utterances (rule speech2face_evaluate)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import torch  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.io import atomic_dir, write_json  # noqa: E402
from blendtalk.models.speech2face_run import evaluate_on_corpus  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.speech.stage import animation_frame  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
report, curves = evaluate_on_corpus(sm.params.model_dir, sm.params.utterances, sm.params.speech_dir,
                                    sm.params.text2expr_dir, load_rig(sm.input.rig),
                                    sm.params.cache_dir, sm.params.seed)
with atomic_dir(sm.output.predictions) as tmp:
    for utt_id, weights in curves.items():
        tables.write(animation_frame(weights), tmp / f"{utt_id}.parquet", tables.ANIMATION)
write_json(report, sm.output.metrics)
