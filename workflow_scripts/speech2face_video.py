"""One test utterance side by side, procedural | model, with its audio (rule speech2face_video)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.arkit import ARKIT_NAMES  # noqa: E402
from blendtalk.render.clips import render_video  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.render.settings import render_settings  # noqa: E402
from blendtalk.speech.stage import FPS, plan_row  # noqa: E402

sm = snakemake  # noqa: F821
cfg = sm.params.settings
row = plan_row(pd.read_parquet(sm.input.plan), sm.wildcards.utt_id, sm.input.plan)
curves = [tables.read(p, tables.ANIMATION)[list(ARKIT_NAMES)].to_numpy()
          for p in (sm.input.procedural, Path(sm.input.predictions) / f"{row['utt_id']}.parquet")]
caption = f"{row['text']}  [{row['style']}]" if cfg["caption"] else None
render_video(sm.output[0], load_rig(sm.input.rig), curves[0], render_settings(cfg), audio=sm.input.wav,
             caption=caption, compare=curves[1], labels=("procedural", "speech2face"), fps=FPS,
             crf=cfg["crf"])
