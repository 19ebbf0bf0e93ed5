"""Lip-sync metrics of the procedural animator (rule speech_metrics)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk.io import write_json  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.speech.stage import procedural_report  # noqa: E402

sm = snakemake  # noqa: F821
paths = {kind: {Path(p).stem: p for p in sm.input[kind]} for kind in ("alignments", "animations", "wavs")}
write_json(procedural_report(pd.read_parquet(sm.input.plan), paths, load_rig(sm.input.rig)), sm.output[0])
