"""Snakemake script of rule render_contact_sheet: the sampled expressions at full strength,
one column per emotion, one row per sample, captioned below with their sentences."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import json  # noqa: E402

from blendtalk.render.contact_sheet import contact_sheet, save_png  # noqa: E402
from blendtalk.render.renderer import Renderer  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.render.sample import expression_row, read_expressions, texts_by_id, weights_of  # noqa: E402
from blendtalk.render.settings import render_settings  # noqa: E402

sm = snakemake  # noqa: F821
table = read_expressions(sm.input.expressions)
texts = texts_by_id(sm.input.descriptions)
with open(sm.input.sample, encoding="utf-8") as fh:
    items = json.load(fh)["items"]
columns: dict[str, list] = {}
with Renderer(load_rig(sm.input.rig), render_settings(sm.params.settings)) as renderer:
    for item in items:
        weights = weights_of(expression_row(table, item["text_id"], sm.input.expressions))
        columns.setdefault(item["emotion"], []).append((renderer.render(weights), texts.get(item["text_id"], "")))
save_png(contact_sheet(list(columns.items())), sm.output[0])
