"""The utterance table with measured durations (rule speech_utterances)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.speech.stage import utterances_table  # noqa: E402

sm = snakemake  # noqa: F821
wavs = {Path(p).stem: p for p in sm.input.wavs}
tables.write(utterances_table(pd.read_parquet(sm.input.plan), wavs), sm.output[0], tables.UTTERANCES)
