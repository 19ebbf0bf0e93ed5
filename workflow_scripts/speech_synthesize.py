"""Speak one planned utterance: its wav and the synthesiser's phone timings (rule speech_synthesize)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.speech.audio import write_wav  # noqa: E402
from blendtalk.speech.stage import plan_row, synthesize  # noqa: E402
from blendtalk.speech.styles import load_styles  # noqa: E402

sm = snakemake  # noqa: F821
row = plan_row(pd.read_parquet(sm.input.plan), sm.wildcards.utt_id, sm.input.plan)
styles = load_styles(sm.input.styles).set_index("style_id", drop=False)
spoken = synthesize(row["text"], row["voice"], styles.loc[row["style_id"]])
logging.getLogger("speech").info("%s: %s, %.2f s, %d phones", row["utt_id"], row["voice"],
                                 spoken.duration_s, len(spoken.phones))
tables.write(spoken.phones, sm.output.alignment, tables.ALIGNMENT)
write_wav(sm.output.wav, spoken.audio)
