"""blendtalk.compare: two runs' tables compared value by value, timings and cache flags left out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from blendtalk.compare import compare_results, main, result_tables, table_difference


def _run(root: Path, *, seconds: float, value: float = 0.5, cached: bool = False) -> Path:
    """A results/ tree with one table of each kind; `seconds`/`cached` are volatile."""
    (root / "results" / "metrics").mkdir(parents=True)
    (root / "results" / "annotations" / "cache").mkdir(parents=True)
    pd.DataFrame({"text_id": ["a", "b"], "score": [value, 1.0], "seconds": [seconds, seconds],
                  "cached": [cached, cached]}).to_parquet(root / "results" / "table.parquet")
    (root / "results" / "metrics" / "m.json").write_text(json.dumps(
        {"R@1": value, "train_seconds": seconds, "rows_per_second": 1 / seconds,
         "nested": [{"embedding_seconds": seconds, "n": 3}]}), encoding="utf-8")
    pd.DataFrame({"epoch": [0, 1], "loss": [value, 0.25], "seconds": [seconds, seconds]}).to_csv(
        root / "results" / "history.csv", index=False)
    (root / "results" / "annotations" / "cache" / "shard-000.json").write_text(
        str(seconds), encoding="utf-8")
    return root


def test_same_values_with_other_timings_are_equal(tmp_path):
    a = _run(tmp_path / "a", seconds=1.0)
    b = _run(tmp_path / "b", seconds=7.5, cached=True)
    assert result_tables(a) == ["results/history.csv", "results/metrics/m.json",
                                "results/table.parquet"]  # the answer cache is no table
    assert compare_results(a, b) == dict.fromkeys(result_tables(a))
    assert main([str(a), str(b)]) == 0


def test_a_changed_value_names_the_table_and_the_place(tmp_path, capsys):
    a = _run(tmp_path / "a", seconds=1.0)
    b = _run(tmp_path / "b", seconds=1.0, value=0.5000001)
    diff = compare_results(a, b)
    assert set(k for k, v in diff.items() if v) == set(result_tables(a))
    assert "/R@1: 0.5 != 0.5000001" in diff["results/metrics/m.json"]
    assert "score" in diff["results/table.parquet"]
    assert "loss" in diff["results/history.csv"]
    assert main([str(a), str(b)]) == 1
    assert "differs  results/table.parquet" in capsys.readouterr().out


def test_a_table_of_one_run_only_is_a_difference(tmp_path):
    a = _run(tmp_path / "a", seconds=1.0)
    b = _run(tmp_path / "b", seconds=1.0)
    (b / "results" / "table.parquet").unlink()
    assert compare_results(a, b)["results/table.parquet"] == f"only in {a}"
    (a / "results" / "metrics" / "m.json").write_text('{"k": 1}', encoding="utf-8")
    assert table_difference(a / "results/metrics/m.json", b / "results/metrics/m.json")


def test_no_tables_at_all_fails(tmp_path):
    (tmp_path / "a" / "results").mkdir(parents=True)
    (tmp_path / "b" / "results").mkdir(parents=True)
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
