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
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one size, this process
    args = ap.parse_args(argv)
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
