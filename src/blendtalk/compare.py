"""Whether two workflow runs wrote the same tables: every .parquet, .json and .csv file under
their results/, compared value by value with the timings and cache bookkeeping left out (the
columns and keys VOLATILE matches). For checking that another way of running the workflow
(a SLURM cluster, a resumed run) gives the results of a plain local run.

`python -m blendtalk.compare DIR_A DIR_B` prints one line per table and exits 1 when any table
differs or exists in one run only, or when there is no table at all.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

#: Columns and JSON keys that hold how long something took or whether it came from a cache.
VOLATILE = re.compile(r"(^|_)seconds$|_per_second$|^cached$")
TABLE_SUFFIXES = (".parquet", ".json", ".csv")
#: Not tables: the annotation answer cache (JSON lines, rewritten as rows are cached).
SKIPPED = ("annotations/cache/",)


def result_tables(directory: str | Path) -> list[str]:
    """The tables under `directory`/results, as paths relative to `directory`, sorted."""
    root = Path(directory)
    return sorted(str(p.relative_to(root)) for p in (root / "results").rglob("*")
                  if p.suffix in TABLE_SUFFIXES and p.is_file()
                  and not any(s in p.relative_to(root / "results").as_posix() for s in SKIPPED))


def _strip(value: Any) -> Any:
    """`value` with the VOLATILE keys of every mapping in it removed."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _json_difference(a: Any, b: Any, where: str = "") -> str | None:
    """The first key path where two JSON values differ, with both values; None if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"key {where}/{key} only in {'the second' if key in b else 'the first'}"
            found = _json_difference(a[key], b[key], f"{where}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((d for i, (x, y) in enumerate(zip(a, b))
                     if (d := _json_difference(x, y, f"{where}[{i}]"))), None)
    return None if a == b else f"{where or '/'}: {a!r} != {b!r}"


def table_difference(a: str | Path, b: str | Path) -> str | None:
    """How the table files `a` and `b` differ (VOLATILE columns/keys left out); None if they
    hold the same values. Parquet and CSV compare as data frames (exact values and dtypes)."""
    a, b = Path(a), Path(b)
    if a.suffix == ".json":
        return _json_difference(_strip(json.loads(a.read_text(encoding="utf-8"))),
                                _strip(json.loads(b.read_text(encoding="utf-8"))))
    import pandas as pd

    read = pd.read_parquet if a.suffix == ".parquet" else pd.read_csv
    frames = []
    for path in (a, b):
        frame = read(path)
        frames.append(frame.drop(columns=[c for c in frame.columns if VOLATILE.search(str(c))]))
    try:
        pd.testing.assert_frame_equal(*frames, check_exact=True)
    except AssertionError as err:
        return " ".join(str(err).split())[:600]
    return None


def compare_results(a: str | Path, b: str | Path) -> dict[str, str | None]:
    """Every table under the results/ of workflow directory `a` or `b`: its difference (None
    when equal, 'only in ...' when one run lacks it)."""
    in_a, in_b = set(result_tables(a)), set(result_tables(b))
    return {rel: (f"only in {a if rel in in_a else b}" if not (rel in in_a and rel in in_b)
                  else table_difference(Path(a) / rel, Path(b) / rel))
            for rel in sorted(in_a | in_b)}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m blendtalk.compare DIR_A DIR_B", file=sys.stderr)
        return 2
    results = compare_results(*argv)
    for rel, difference in results.items():
        print(f"{'differs' if difference else 'same':7}  {rel}" + (f": {difference}"
                                                                   if difference else ""))
    differing = sum(d is not None for d in results.values())
    print(f"{len(results)} tables compared, {differing} differ")
    return 1 if differing or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
