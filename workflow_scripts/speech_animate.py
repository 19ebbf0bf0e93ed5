"""Animate one utterance: animation table and Live Link Face take (rule speech_animate)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import pandas as pd  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.arkit import ARKIT_NAMES  # noqa: E402
from blendtalk.livelink import write_livelink_csv  # noqa: E402
from blendtalk.speech.stage import animate_speech, animation_frame, plan_row, read_wav, utterance_seed  # noqa: E402
from blendtalk.speech.styles import face_scale  # noqa: E402

sm = snakemake  # noqa: F821
row = plan_row(pd.read_parquet(sm.input.plan), sm.wildcards.utt_id, sm.input.plan)
faces = pd.read_parquet(sm.input.expressions).set_index("style_id")
expression = faces.loc[row["style_id"], list(ARKIT_NAMES)].to_numpy(float) * face_scale(row["intensity"])
weights = animate_speech(read_wav(sm.input.wav), tables.read(sm.input.alignment, tables.ALIGNMENT),
                         expression, sm.params.strength, sm.params.blinks,
                         utterance_seed(sm.params.seed, row["utt_id"]))
tables.write(animation_frame(weights), sm.output.animation, tables.ANIMATION)
write_livelink_csv(sm.output.livelink, weights)
