"""Snakemake script of rule render_import_rig: load an external rig by shape name and save it."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.render.external import load_external_rig  # noqa: E402
from blendtalk.render.rig import save_rig  # noqa: E402

rig, report = load_external_rig(snakemake.input[0])  # noqa: F821  (the loader logs the report)
save_rig(rig, snakemake.output[0])  # noqa: F821
