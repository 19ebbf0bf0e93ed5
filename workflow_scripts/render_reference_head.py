"""Snakemake script of rule render_reference_head: build the procedural head and save it."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import logging  # noqa: E402

from blendtalk.render.reference_head import build_reference_head  # noqa: E402
from blendtalk.render.rig import save_rig  # noqa: E402

rig = build_reference_head()
save_rig(rig, snakemake.output[0])  # noqa: F821
logging.getLogger(__name__).info("reference head: %d vertices, %d triangles, vertex sets %s",
                                 rig.n_vertices, len(rig.triangles), sorted(rig.vertex_sets))
