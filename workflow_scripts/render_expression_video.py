"""Snakemake script of rule render_expression_video: one expression → its neutral → expression →
neutral mp4, captioned with the sentence and emotion."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.render.clips import render_video  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.render.sample import expression_row, read_expressions, texts_by_id, weights_of  # noqa: E402
from blendtalk.render.sequences import expression_envelope  # noqa: E402
from blendtalk.render.settings import render_settings  # noqa: E402

sm = snakemake  # noqa: F821
cfg = sm.params.settings
text_id = sm.wildcards.text_id
row = expression_row(read_expressions(sm.input.expressions), text_id, sm.input.expressions)
weights = expression_envelope(weights_of(row), duration_s=cfg["duration_s"], fps=cfg["fps"])
caption = texts_by_id(sm.input.descriptions).get(text_id, "") if cfg["caption"] else None
render_video(sm.output[0], load_rig(sm.input.rig), weights, render_settings(cfg), caption=caption,
             emotions=[row["emotion"]] if cfg["caption"] else (), fps=cfg["fps"], crf=cfg["crf"])
