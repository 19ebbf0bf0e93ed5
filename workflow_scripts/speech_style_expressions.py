"""The face of every style text (rule speech_style_expressions)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.blendshapes.mapping import load_mapping  # noqa: E402
from blendtalk.io import write_parquet  # noqa: E402
from blendtalk.speech.stage import style_expressions  # noqa: E402
from blendtalk.speech.styles import load_styles  # noqa: E402

sm = snakemake  # noqa: F821
table = style_expressions(load_styles(sm.input.styles), sm.params.source, sm.params.model_dir,
                          load_mapping(sm.input.mapping), sm.params.intensity_scale)
write_parquet(table, sm.output[0])
