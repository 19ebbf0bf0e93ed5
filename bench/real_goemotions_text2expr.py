"""The whole text2expr pipeline on real data: the GoEmotions "simplified" dev split (5,426
Reddit comments, from ../shared/data, never part of the repository) goes through corpus cleaning
→ rule-based FACS annotation → ARKit-52 blendshapes → text2expr training, uncapped, with the
default settings otherwise. A validation script, not a CI test.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/real_goemotions_text2expr.py [--shared ../shared]
        [--workdir DIR]

Runs Snakemake in a disposable workflow copy (blendtalk.workdir.make_workdir) with an overlay
config that replaces the bundled corpora by the real file, one stage target at a time so that
each stage's wall time and peak memory are measured (blendtalk.workdir.run_stages). Prints one JSON object: the corpus qc (rows read, kept and
dropped per reason), the annotation status counts, the expression rows per split, the text2expr
test metrics (retrieval both ways against chance, the baselines, cross-modal MSE, emotion
accuracy, gallery size and distinct expressions, epochs, training time) and the seconds and
peak RSS per stage. Snakemake's output goes to <workdir>/snakemake.log; all outputs stay in <workdir>.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from blendtalk.config import REPO_ROOT
from blendtalk.workdir import StageFailed, make_workdir, run_stages

#: Stage name → the target that completes it, in DAG order.
STAGES = {
    "corpora": "results/corpora/qc.json",
    "annotate": "results/annotations/descriptions.parquet",
    "blendshapes": "results/blendshapes/expressions.parquet",
    "text2expr": "results/metrics/text2expr.json",
}
RETRIEVAL_KEYS = ("R@1", "R@5", "R@10", "median_rank", "chance_R@1", "chance_R@5", "chance_R@10")


def overlay_config(data: Path) -> dict[str, Any]:
    """Config overlay: the real dev split as the only source, every bundled source disabled
    (Snakemake deep-merges --configfile over config.yaml), no cap."""
    with open(REPO_ROOT / "config.yaml", encoding="utf-8") as fh:
        bundled = yaml.safe_load(fh)["corpora"]["sources"]
    sources: dict[str, Any] = {name: {"enabled": False} for name in bundled}
    sources["goemotions_dev"] = {
        "format": "goemotions_simplified",
        "files": [str(data / "dev.tsv")],
        "labels_file": str(data / "labels.txt"),
        "label_map": "resources/labels/goemotions.tsv",
    }
    return {"corpora": {"sources": sources, "cap": {"per_emotion": None, "per_source": None}}}


def _retrieval(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(metrics[k], 4) for k in RETRIEVAL_KEYS}


def _mse(metrics: dict[str, Any]) -> float:
    return round(metrics["cross_modal"]["all"]["mse"], 5)


def text2expr_summary(m: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of results/metrics/text2expr.json."""
    model = m["model"]
    baselines: dict[str, Any] = {}
    for name, b in m["baselines"].items():
        if not isinstance(b, dict):  # a single figure, e.g. majority_emotion_accuracy
            baselines[name] = round(b, 4)
        elif name.startswith("loss_"):  # the same model trained with the other loss
            baselines[name] = {"text_to_expression": _retrieval(b["text_to_expression"]),
                               "expression_to_text": _retrieval(b["expression_to_text"]),
                               "cross_modal_mse": _mse(b), "epochs_run": b["epochs_run"]}
        else:  # an expression predicted without the text (mean, per-emotion oracle)
            baselines[name] = {"cross_modal_mse": _mse(b), "text_to_expression_decoded":
                               _retrieval(b["text_to_expression_decoded"])}
    return {
        "encoder": m["encoder"]["kind"], "loss": m["loss"], "tolerance": m["tolerance"],
        "gallery_size": m["gallery_size"],
        "distinct_expressions_in_gallery": m["distinct_expressions_in_gallery"],
        "data": m["data"],
        "epochs_run": m["epochs_run"], "best_epoch": m["best_epoch"],
        "train_seconds": m["train_seconds"],
        "model": {
            "text_to_expression": _retrieval(model["text_to_expression"]),
            "expression_to_text": _retrieval(model["expression_to_text"]),
            "text_to_expression_decoded": _retrieval(model["text_to_expression_decoded"]),
            "cross_modal_mse": _mse(model),
            "reconstruction_mse": round(model["reconstruction"]["all"]["mse"], 5),
            "emotion_accuracy": model["emotion_accuracy"],
        },
        "baselines": baselines,
    }


def summarise(results: Path) -> dict[str, Any]:
    """Corpus qc, annotation status counts, expression rows per split and the text2expr figures."""
    qc = json.loads((results / "corpora" / "qc.json").read_text(encoding="utf-8"))
    status = pd.read_parquet(results / "annotations" / "descriptions.parquet", columns=["status"])
    split = pd.read_parquet(results / "blendshapes" / "expressions.parquet", columns=["split"])
    metrics = json.loads((results / "metrics" / "text2expr.json").read_text(encoding="utf-8"))
    return {
        "corpus_qc": {
            "sources": {name: {k: q[k] for k in ("rows_read", "rows_kept", "dropped")}
                        for name, q in qc["sources"].items()},
            "corpus": {k: qc["corpus"][k] for k in ("rows_out", "by_emotion", "by_split")},
        },
        "descriptions_status": status["status"].value_counts().to_dict(),
        "expressions_rows": {"total": len(split), **split["split"].value_counts().to_dict()},
        "text2expr": text2expr_summary(metrics),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared",
                        help="the shared folder holding data/goemotions/ (default: ../shared)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="new or empty folder for the workflow copy (default: a fresh temp dir)")
    args = parser.parse_args()
    data = (args.shared / "data" / "goemotions").resolve()
    if not (data / "dev.tsv").is_file():
        sys.exit(f"{data / 'dev.tsv'} is absent: this script needs the real GoEmotions dev split "
                 "in <shared>/data/goemotions/ (see --shared)")

    workdir = make_workdir(args.workdir or tempfile.mkdtemp(prefix="blendtalk-real-goemotions-"))
    configfile = workdir / "overlay.yaml"
    configfile.write_text(yaml.safe_dump(overlay_config(data), sort_keys=False), encoding="utf-8")
    t0 = time.perf_counter()
    try:
        stages = run_stages(workdir, STAGES, workdir / "snakemake.log",
                            ["--configfile", str(configfile)])
    except StageFailed as exc:
        sys.exit(str(exc))
    print(json.dumps({
        "data": str(data / "dev.tsv"),
        "workdir": str(workdir),
        **summarise(workdir / "results"),
        "stages": stages,
        "total_seconds": round(time.perf_counter() - t0, 1),
    }, indent=1))


if __name__ == "__main__":
    main()
