"""Choose the spoken sentences, their styles and voices (checkpoint speech_plan)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.io import write_parquet  # noqa: E402
from blendtalk.speech.plan import plan_utterances  # noqa: E402
from blendtalk.speech.styles import load_styles  # noqa: E402

sm = snakemake  # noqa: F821
plan = plan_utterances(tables.read(sm.input.corpus, tables.CORPUS), load_styles(sm.input.styles),
                       sm.params.sentences, sm.params.max_words, sm.params.styles_per_sentence,
                       sm.params.voices, sm.params.seed)
logging.getLogger("speech").info("%d utterances of %d sentences; voices %s", len(plan),
                                 plan["text_id"].nunique(), plan["voice"].value_counts().to_dict())
write_parquet(plan, sm.output[0])
