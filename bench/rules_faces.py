"""How much the offline `rules` annotator's faces depend on the words (issue 12).

    .venv/bin/python bench/rules_faces.py [--shared ../shared]

Builds rows from the real GoEmotions dev split and WASSA-2017 Tweet Intensity (read from
../shared/data, never copied into the repository) with the project's own corpus readers and
cleaning (`corpora.build.build_source`, uncapped), annotates them with the rules backend, parses
every answer with `annotate.validate.parse_answer`, converts it to ARKit-52 with
`blendshapes.mapping.expression` and prints one JSON object:

* `distinct_ratio`: distinct 52-D expression vectors / rows (target >= 0.20), also per source;
* `label_variance_share`: between-emotion sum of squares / total sum of squares of the vectors,
  grouped by the corpus' primary emotion (target <= 0.70; 1.0 means the face is a function of
  the label);
* `sanity`: mean mouthSmile (AU12) in joy vs. elsewhere, mouthFrown (AU15) in sadness vs.
  elsewhere, jawOpen (AU26) in surprise vs. elsewhere (each must stay higher in its emotion);
* status counts (every answer must be schema-valid: `ok`).

Skips with a message (exit 0) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from blendtalk.annotate.backends import Row, make_backend
from blendtalk.annotate.run import rows_from_corpus
from blendtalk.annotate.validate import parse_answer
from blendtalk.arkit import INDEX
from blendtalk.blendshapes.mapping import expression, load_mapping
from blendtalk.config import REPO_ROOT
from blendtalk.corpora.build import build_source
from blendtalk.corpora.clean import CleanOptions

RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}


def sources(data: Path) -> dict[str, dict]:
    tweets = sorted((data / "tweet_intensity").glob("*_dataset_*.csv"))
    return {
        "goemotions_dev": {"format": "goemotions_simplified",
                           "files": [str(data / "goemotions" / "dev.tsv")],
                           "labels_file": str(data / "goemotions" / "labels.txt"),
                           "label_map": str(REPO_ROOT / "resources/labels/goemotions.tsv")},
        "tweet_intensity": {"format": "tweet_intensity", "files": [str(p) for p in tweets],
                            "label_map": str(REPO_ROOT / "resources/labels/tweet_intensity.tsv")},
    }


def measure(rows: list[Row], labels: list[str], origins: list[str]) -> dict:
    """The measures above over `rows` (one annotation each); `labels` are their primary
    emotions and `origins` their source names (for the per-source distinct ratio)."""
    backend = make_backend({"backend": "rules"})
    mapping = load_mapping()
    t0 = time.perf_counter()
    anns = [parse_answer(a.raw) for a in backend.annotate(rows, seed=0)]
    seconds = time.perf_counter() - t0
    x = np.stack([expression(dict(a.action_units), mapping) for a in anns]).astype(np.float64)
    labels_arr = np.array(labels)
    total = ((x - x.mean(0)) ** 2).sum()
    between = sum(((x[labels_arr == e].mean(0) - x.mean(0)) ** 2).sum() * (labels_arr == e).sum()
                  for e in set(labels))
    sanity = {}
    for emotion, channel in (("joy", "mouthSmileLeft"), ("sadness", "mouthFrownLeft"),
                             ("surprise", "jawOpen")):
        inside = labels_arr == emotion
        a, b = float(x[inside, INDEX[channel]].mean()), float(x[~inside, INDEX[channel]].mean())
        sanity[f"{emotion}:{channel}"] = {"in": round(a, 4), "elsewhere": round(b, 4),
                                          "higher_inside": a > b}
    rounded = np.round(x, 6)
    distinct = len(np.unique(rounded, axis=0))
    origins_arr = np.array(origins)
    per_source = {o: round(len(np.unique(rounded[origins_arr == o], axis=0))
                           / int((origins_arr == o).sum()), 4) for o in dict.fromkeys(origins)}
    return {"rows": len(rows),
            "distinct_expressions": distinct,
            "distinct_ratio": round(distinct / len(rows), 4),
            "distinct_ratio_per_source": per_source,
            "label_variance_share": round(float(between / total), 4) if total else None,
            "neutral_rows_with_a_face": int(sum(1 for a, e in zip(anns, labels)
                                               if e == "neutral" and a.action_units)),
            "neutral_rows": int(sum(e == "neutral" for e in labels)),
            "sanity": sanity, "status": dict(Counter(a.status for a in anns)),
            "annotate_seconds": round(seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    args = parser.parse_args(argv)
    data = args.shared / "data"
    if not (data / "goemotions" / "dev.tsv").exists():
        print(json.dumps({"skipped": f"{data} is absent (real corpora are optional)"}))
        return 0
    rows, labels, origins, per_source = [], [], [], {}
    for name, spec in sources(data).items():
        table, _, qc = build_source(name, spec, CleanOptions(), RATIOS)
        per_source[name] = qc["rows_kept"]
        rows += rows_from_corpus(table)
        labels += list(table["emotion"])
        origins += [name] * len(table)
    out = {"rows_per_source": per_source, "all": measure(rows, labels, origins)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
