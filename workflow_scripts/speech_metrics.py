"""Lip-sync metrics of the procedural animator (rule speech_metrics)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from blendtalk import tables  # noqa: E402
from blendtalk.arkit import ARKIT_NAMES  # noqa: E402
from blendtalk.io import write_json  # noqa: E402
from blendtalk.render.rig import load_rig  # noqa: E402
from blendtalk.speech.stage import closed_threshold, lipsync_scores, read_wav, summarise_scores  # noqa: E402

sm = snakemake  # noqa: F821
plan = pd.read_parquet(sm.input.plan).set_index("utt_id")
rig = load_rig(sm.input.rig)
closed = closed_threshold(rig)
by_id = {kind: {Path(p).stem: p for p in sm.input[kind]} for kind in ("alignments", "animations", "wavs")}
rows = []
for utt_id in sorted(by_id["animations"]):
    curves = tables.read(by_id["animations"][utt_id], tables.ANIMATION)[list(ARKIT_NAMES)].to_numpy()
    scores = lipsync_scores(tables.read(by_id["alignments"][utt_id], tables.ALIGNMENT), curves,
                            read_wav(by_id["wavs"][utt_id]), rig.mouth_opening(rig.pose(curves)), closed)
    rows.append({"utt_id": utt_id, "backend": plan.loc[utt_id, "voice"].split(":")[0],
                 "voice": plan.loc[utt_id, "voice"], **scores})
per_utterance = pd.DataFrame(rows)
write_json({"rig": rig.name, "rig_closed_threshold": closed, **summarise_scores(per_utterance),
            "per_utterance": per_utterance.to_dict(orient="records")}, sm.output[0])
