"""Benchmark: FACS annotations → ARKit-52 weights, vectorised vs the per-annotation rule.

Builds N synthetic annotations (0–6 AUs each, random catalogue AUs and letters A–E, seeded) as the
Arrow `list<struct{au, intensity}>` column that descriptions.parquet holds, then times the
vectorised path (flatten + validity check + conversion) on all of them and the naive baseline
(`mapping.expression`, one Python call per annotation) on a subset, in the same run. Prints JSON.

    .venv/bin/python bench/blendshapes.py [--rows 1000000] [--baseline-rows 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import platform

import numpy as np
import pyarrow as pa
from timing import best_of

from blendtalk.blendshapes.convert import (ACTION_UNITS_TYPE, aus_to_arkit, entry_problems,
                                           flatten_action_units)
from blendtalk.blendshapes.mapping import INTENSITY_LETTERS, expression, load_mapping

TARGET_ROWS_PER_S = 200_000


def synthetic_column(n_rows: int, aus: tuple[int, ...], seed: int) -> pa.ListArray:
    """`n_rows` annotations with 0–6 entries each, as an Arrow list<struct{au, intensity}>."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 7, size=n_rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    n = int(offsets[-1])
    au = pa.array(np.asarray(aus, dtype=np.int16)[rng.integers(0, len(aus), size=n)])
    letters = pa.array(list(INTENSITY_LETTERS)).take(pa.array(rng.integers(0, 5, size=n)))
    values = pa.StructArray.from_arrays([au, letters], fields=list(ACTION_UNITS_TYPE.value_type))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    mapping = load_mapping()
    column = synthetic_column(args.rows, mapping.aus, args.seed)

    def vectorised():
        flat = flatten_action_units(column)
        assert not any(v.any() for v in entry_problems(flat, mapping).values())
        return aus_to_arkit(flat, mapping)

    t_vec, weights = best_of(vectorised, args.repeats)

    subset = column.slice(0, args.baseline_rows).to_pylist()

    def naive():
        out = np.empty((len(subset), 52), np.float32)
        for i, entries in enumerate(subset):
            by_au: dict[int, str] = {}
            for e in entries:
                by_au[e["au"]] = max(by_au.get(e["au"], e["intensity"]), e["intensity"])
            out[i] = expression(by_au, mapping)
        return out

    t_naive, baseline = best_of(naive, 1)
    max_diff = float(np.abs(weights[: args.baseline_rows] - baseline).max())
    vec_rate = args.rows / t_vec
    naive_rate = args.baseline_rows / t_naive
    print(json.dumps({
        "benchmark": "blendshapes: FACS annotations -> ARKit-52 (probabilistic OR)",
        "rows": args.rows,
        "au_entries": int(len(column.values)),
        "vectorised": {"seconds": round(t_vec, 4), "rows_per_s": round(vec_rate),
                       "best_of": args.repeats},
        "baseline_naive_per_row": {"rows": args.baseline_rows, "seconds": round(t_naive, 4),
                                   "rows_per_s": round(naive_rate)},
        "speedup_vs_baseline": round(vec_rate / naive_rate, 1),
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "meets_target": bool(vec_rate >= TARGET_ROWS_PER_S),
        "max_abs_diff_vs_baseline": max_diff,
        "values_in_0_1": bool(weights.min() >= 0 and weights.max() <= 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
