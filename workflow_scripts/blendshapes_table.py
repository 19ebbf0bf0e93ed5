"""Snakemake script of rule blendshapes_table: descriptions + corpus → expressions + summary."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging  # noqa: E402

from blendtalk.blendshapes.mapping import load_mapping  # noqa: E402
from blendtalk.blendshapes.summary import summarise  # noqa: E402
from blendtalk.blendshapes.table import build_expressions  # noqa: E402
from blendtalk import tables  # noqa: E402
from blendtalk.io import write_json  # noqa: E402

sm = snakemake  # noqa: F821
log = logging.getLogger("blendshapes_table")
params = {"intensity_scale": dict(sm.params.intensity_scale), "asymmetry": float(sm.params.asymmetry),
          "jitter": float(sm.params.jitter), "seed": int(sm.params.seed), "mapping": str(sm.input.mapping)}
mapping = load_mapping(sm.input.mapping)
result = build_expressions(
    tables.read(sm.input.descriptions, tables.DESCRIPTIONS), tables.read(sm.input.corpus, tables.CORPUS),
    mapping,
    scale=params["intensity_scale"], seed=params["seed"], asymmetry=params["asymmetry"],
    jitter=params["jitter"], descriptions_name=str(sm.input.descriptions), corpus_name=str(sm.input.corpus))
log.info("kept %d of %d descriptions; excluded %s", len(result.table), result.n_descriptions,
         {k: v for k, v in result.exclusions.items() if v})
tables.write(result.table, sm.output.table, tables.EXPRESSIONS)
write_json(summarise(result.table, result.n_descriptions, result.exclusions, params,
                     result.corpus_duplicates), sm.output.summary)
