"""How the text2expr stage grows with the data: a synthetic corpus at several sizes through the
stage's own code (`blendtalk.models.text2expr_run.run`: embedding cache, pairs, InfoNCE training
of the model and of the reference-loss baseline, validation, test metrics and baselines,
checkpoint), each size in a fresh process, and the fitted log-log growth exponents.

    .venv/bin/python bench/scale.py [--rows 2000 8000] [--epochs 3] [--distinct-frac 0.05]
    .venv/bin/python bench/scale.py --rows 10000 25000 64000      # paper scale

The corpus: `rows` texts split 80/10/10, expressions drawn from `distinct_frac * rows` distinct
sparse ARKit vectors (quantised to 0.05, like graded action units), so galleries and positives
are large. The frozen text encoder is replaced by a documented cheap stand-in (a fixed random
384-d unit vector per string, seeded by the string's hash): the point is the stage's own growth,
not the transformer's (whose cost is linear in the strings and is cached). Augmentation is off
(WordNet's cost is per string, linear too) unless `--variants` is given; the other settings are
the schema defaults, with `--epochs` as the maximum number of epochs.

Prints one JSON object: per size the wall seconds (whole stage, and training), the peak RSS of
the process (resource.getrusage) and the peak over the RSS after imports and data generation
(`stage_peak_mb`), epochs run, and the exponents b of time ≈ a·rows^b and memory ≈ a·rows^b
(1 is linear; the dense validation mask made memory go as rows^2).

    .venv/bin/python bench/scale.py --chain --rows 10000 25000 69000 [--shared ../shared]

`--chain` runs the whole chain instead, corpora → annotation → blendshapes → text2expr metrics,
through Snakemake in a disposable workflow copy per size (blendtalk.workdir.run_stages), with the
settings of configs/full.yaml (rules annotator, no cap) and the real encoder. The corpus: the real
GoEmotions dev split and WASSA-2017 from <shared>/data (12,528 rows read), in their own formats,
repeated until `rows` rows are read, each repeat opening with another discourse marker ("Well,
", "Honestly, ", ...) so its text (and text_id) is new: real sentence lengths, labels and
intensities at any size. `rows` counts rows read; cleaning keeps ~93% (69,000 read → ~64,000
kept, the issue's full-corpus size). Prints per size and stage the wall seconds and the peak RSS
of the stage's largest job, the total, and the fitted exponents per stage and in total.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


class HashEncoder:
    """Stand-in frozen encoder: each string → a fixed random unit vector (seeded by its SHA-1)."""

    key, dim = "bench-hash:v1", 384

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha1(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def corpus(rows: int, distinct_frac: float, workdir: Path, seed: int = 0) -> tuple[Path, Path]:
    """expressions.parquet and descriptions.parquet (the DESIGN.md contracts) of `rows` texts."""
    import pandas as pd

    from blendtalk.arkit import ARKIT_NAMES
    from blendtalk.io import write_parquet

    rng = np.random.default_rng(seed)
    emotions = np.array(["joy", "anger", "sadness", "fear", "surprise", "disgust", "neutral"])
    k = max(8, int(distinct_frac * rows))
    protos = np.round(rng.random((k, 52)) * (rng.random((k, 52)) < 0.25) / 0.05) * 0.05
    cls = rng.integers(k, size=rows)
    words = np.array("she he they my aunt the pilot coach is was thrilled furious heartbroken "
                     "terrified stunned revolted calm about by of the news letter storm verdict "
                     "game trip exam".split())
    texts = [" ".join(words[rng.integers(len(words), size=8)]) + f" #{i}" for i in range(rows)]
    ids = [f"t{i:08d}" for i in range(rows)]
    split = np.where(rng.random(rows) < 0.8, "train", np.where(rng.random(rows) < 0.5, "val", "test"))
    emo = emotions[cls % len(emotions)]
    expr = pd.DataFrame(protos[cls].astype(np.float32), columns=list(ARKIT_NAMES))
    expr.insert(0, "description", [f"a face showing {e}" for e in emo])
    expr.insert(0, "emotion", emo)
    expr.insert(0, "split", split)
    expr.insert(0, "text_id", ids)
    paths = workdir / "expressions.parquet", workdir / "descriptions.parquet"
    write_parquet(expr, paths[0])
    write_parquet(pd.DataFrame({"text_id": ids, "text": texts, "emotions": [[e] for e in emo]}),
                  paths[1])
    return paths


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one(rows: int, epochs: int, distinct_frac: float, variants: int) -> dict:
    """Run the stage once at `rows` rows in this process; the measurements."""
    import blendtalk.models.text2expr_run as stage
    from blendtalk.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        expressions, descriptions = corpus(rows, distinct_frac, tmp)
        params = load_config(missing_ok=True)["text2expr"]
        params = {k: v for k, v in params.items() if k != "plots"}
        params["train"] = {**params["train"], "epochs": epochs}
        params["augment"] = {**params["augment"], "variants": variants}
        stage.make_encoder = lambda *a, **k: HashEncoder()  # the documented stand-in
        base = rss_mb()
        t0 = time.perf_counter()
        m = stage.run(expressions, descriptions, params, seed=0, model_dir=tmp / "model",
                      metrics_path=tmp / "metrics.json", latents_path=tmp / "latents.parquet",
                      cache_dir=tmp / "cache", threads=1)
        wall = time.perf_counter() - t0
    peak = rss_mb()
    return {"rows": rows, "wall_s": round(wall, 2), "train_s": m["train_seconds"],
            "peak_rss_mb": round(peak, 1), "stage_peak_mb": round(peak - base, 1),
            "epochs_run": m["epochs_run"], "distinct_test_expressions": m["distinct_expressions_in_gallery"],
            "val_rows_per_epoch": m.get("val_rows_per_epoch"), "patience": m.get("patience")}


CHAIN_STAGES = {
    "corpora": "results/corpora/qc.json",
    "annotate": "results/annotations/descriptions.parquet",
    "blendshapes": "results/blendshapes/expressions.parquet",
    "text2expr": "results/metrics/text2expr.json",
}
MARKERS = ("", "Well, ", "Honestly, ", "So ", "Anyway, ", "To be fair, ", "Also, ", "Still, ",
           "Right, ", "Look, ", "Okay, ", "And ")


def real_lines(data: Path) -> dict[str, list[list[str]]]:
    """The real corpora's records by format: GoEmotions dev (text, label ids, id) and the WASSA
    tweets (id, text, emotion, intensity), split on tabs as written."""
    ge = [ln.split("\t") for ln in (data / "goemotions" / "dev.tsv").read_text(
        encoding="utf-8").splitlines()]
    tweets = [ln.split("\t") for f in sorted((data / "tweet_intensity").glob("*.csv"))
              for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return {"goemotions": ge, "tweets": tweets}


def chain_corpus(rows: int, data: Path, out: Path) -> dict:
    """Write `rows` records (the real ones, then repeats with a new opening) in the sources'
    formats under `out`; the corpora.sources config section that reads them."""
    lines = real_lines(data)
    pool = [("goemotions", r) for r in lines["goemotions"]] + [("tweets", r) for r in lines["tweets"]]
    pool = [pool[i] for i in np.random.default_rng(0).permutation(len(pool))]  # sources mixed
    if rows > len(pool) * len(MARKERS):
        raise SystemExit(f"--rows {rows}: at most {len(pool) * len(MARKERS)} with these corpora")
    written: dict[str, list[str]] = {"goemotions": [], "tweets": []}
    for i in range(rows):
        fmt, rec = pool[i % len(pool)]
        k = i // len(pool)
        if fmt == "goemotions":  # text, labels, id
            written[fmt].append("\t".join([MARKERS[k] + rec[0], rec[1], f"{rec[2]}r{k}"]))
        else:  # id, text, emotion, intensity
            written[fmt].append("\t".join([f"{rec[0]}r{k}", MARKERS[k] + rec[1], *rec[2:]]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "goemotions.tsv").write_text("\n".join(written["goemotions"]) + "\n", encoding="utf-8")
    (out / "tweets.csv").write_text("\n".join(written["tweets"]) + "\n", encoding="utf-8")
    return {
        "goemotions": {"format": "goemotions_simplified", "files": [str(out / "goemotions.tsv")],
                       "labels_file": str(data / "goemotions" / "labels.txt"),
                       "label_map": "resources/labels/goemotions.tsv"},
        "tweet_intensity": {"format": "tweet_intensity", "files": [str(out / "tweets.csv")],
                            "label_map": "resources/labels/tweet_intensity.tsv"},
    }


def chain(rows: int, data: Path, workdir: Path) -> dict:
    """The chain at `rows` rows read, in a fresh workflow copy under `workdir`."""
    import yaml

    from blendtalk.workdir import StageFailed, make_workdir, run_stages

    wd = make_workdir(workdir / f"rows{rows}")
    with open(REPO / "configs" / "full.yaml", encoding="utf-8") as fh:
        overlay = yaml.safe_load(fh)
    with open(REPO / "config.yaml", encoding="utf-8") as fh:  # Snakemake merges over it
        bundled = yaml.safe_load(fh)["corpora"]["sources"]
    overlay["corpora"]["sources"] = {**{name: {"enabled": False} for name in bundled},
                                     **chain_corpus(rows, data, wd / "data")}
    (wd / "overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False), encoding="utf-8")
    try:
        stages = run_stages(wd, CHAIN_STAGES, wd / "snakemake.log", ["--configfile", "overlay.yaml"])
    except StageFailed as exc:
        raise SystemExit(str(exc)) from None
    qc = json.loads((wd / "results" / "corpora" / "qc.json").read_text(encoding="utf-8"))
    return {"rows_read": rows, "rows_kept": qc["corpus"]["rows_out"], "stages": stages,
            "total_s": round(sum(v["seconds"] for v in stages.values()), 1),
            "peak_rss_mb": max(v["peak_rss_mb"] for v in stages.values())}


def chain_main(sizes: list[int], shared: Path, workdir: Path | None) -> int:
    data = shared / "data"
    if not (data / "goemotions" / "dev.tsv").is_file():
        print(json.dumps({"skipped": f"{data} is absent (the chain bench needs the real corpora)"}))
        return 0
    workdir = workdir or Path(tempfile.mkdtemp(prefix="blendtalk-scale-chain-"))
    results = []
    for rows in sorted(sizes):
        results.append(chain(rows, data, workdir))
        print(f"# {results[-1]}", file=sys.stderr)
    n = [r["rows_kept"] for r in results]
    exponents = {stage: {"seconds": slope(n, [r["stages"][stage]["seconds"] for r in results]),
                         "peak_rss_mb": slope(n, [r["stages"][stage]["peak_rss_mb"]
                                                  for r in results])}
                 for stage in CHAIN_STAGES}
    exponents["total"] = {"seconds": slope(n, [r["total_s"] for r in results]),
                          "peak_rss_mb": slope(n, [r["peak_rss_mb"] for r in results])}
    print(json.dumps({"sizes": results, "exponent": exponents, "workdir": str(workdir),
                      "config": "configs/full.yaml"}, indent=2))
    return 0


def slope(x: list[float], y: list[float]) -> float | None:
    """Least-squares slope of log y on log x (None with fewer than two sizes)."""
    if len(x) < 2 or min(y) <= 0:
        return None
    return round(float(np.polyfit(np.log(x), np.log(y), 1)[0]), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[2000, 8000])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--distinct-frac", type=float, default=0.05)
    ap.add_argument("--variants", type=int, default=0)
    ap.add_argument("--chain", action="store_true", help="the whole chain through Snakemake")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--workdir", type=Path, default=None, help="--chain: where the copies go")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one size, this process
    args = ap.parse_args(argv)
    if args.chain:
        return chain_main(args.rows, args.shared, args.workdir)
    if args.one:
        print(json.dumps(one(args.one, args.epochs, args.distinct_frac, args.variants)))
        return 0
    results = []
    for rows in sorted(args.rows):
        out = subprocess.run([sys.executable, __file__, "--one", str(rows), "--epochs",
                              str(args.epochs), "--distinct-frac", str(args.distinct_frac),
                              "--variants", str(args.variants)],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(f"# {results[-1]}", file=sys.stderr)
    n = [r["rows"] for r in results]
    # time per epoch: the epochs run differ between sizes (early stopping)
    per_epoch = [r["train_s"] / max(r["epochs_run"], 1) for r in results]
    print(json.dumps({
        "sizes": results,
        "exponent": {"wall_s": slope(n, [r["wall_s"] for r in results]),
                     "train_s_per_epoch": slope(n, per_epoch),
                     "peak_rss_mb": slope(n, [r["peak_rss_mb"] for r in results]),
                     "stage_peak_mb": slope(n, [r["stage_peak_mb"] for r in results])},
        "settings": {"epochs": args.epochs, "distinct_frac": args.distinct_frac,
                     "variants": args.variants, "encoder": HashEncoder.key},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
