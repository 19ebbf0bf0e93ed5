"""Snakemake script of checkpoint render_sample: expressions table → sample.json."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging  # noqa: E402

from blendtalk.io import write_json  # noqa: E402
from blendtalk.render.sample import expression_row, read_expressions, sample_text_ids  # noqa: E402

sm = snakemake  # noqa: F821
table = read_expressions(sm.input.expressions)
ids = sample_text_ids(table, int(sm.params.per_emotion), int(sm.params.seed))
items = [{"text_id": t, "emotion": str(expression_row(table, t)["emotion"])} for t in ids]
write_json({"seed": int(sm.params.seed), "per_emotion": int(sm.params.per_emotion), "items": items},
           sm.output[0])
logging.getLogger(__name__).info("sampled %d of %d expressions", len(items), len(table))
