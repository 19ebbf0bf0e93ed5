"""Render one rig's synthetic face reader dataset (rule facereader_dataset)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

import json  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from blendtalk.ids import short_hash  # noqa: E402
from blendtalk.io import write_json  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.render.settings import render_settings  # noqa: E402
from blendtalk.render.synthetic import real_states, render_dataset, synthetic_settings  # noqa: E402

sm = snakemake  # noqa: F821
dataset = sm.params.dataset
video = render_settings(sm.params.render)
base = replace(video, width=dataset["resolution"], height=dataset["resolution"], samples=dataset["multisampling"])
real = real_states(sm.input.expressions, list(sm.input.animations)) if dataset["real_share"] else None
# one shard directory per plan: a changed setting renders afresh, an interrupted run resumes
plan = json.dumps([dataset, sm.params.render, sm.params.seed, sm.wildcards.reader_rig], sort_keys=True)
directory = Path(sm.params.cache_dir) / f"{sm.wildcards.reader_rig}-{short_hash([plan])}"
manifest = render_dataset(load_rig(sm.input.rig), base, synthetic_settings(dataset, video.width),
                          sm.params.seed, dataset["sequences"], directory, real=real,
                          shard_sequences=dataset["shard_sequences"])
write_json({**manifest, "directory": str(directory)}, sm.output[0])
