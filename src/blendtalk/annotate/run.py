"""Annotating a shard: cached backend calls, validation, retries; merging shards with stats."""

from __future__ import annotations

import logging
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from blendtalk.annotate.backends import Backend, Row, make_backend
from blendtalk.annotate.cache import AnswerCache, cache_key
from blendtalk.annotate.prompt import PROMPT_VERSION
from blendtalk.annotate.shards import select_shard
from blendtalk.annotate.validate import STATUSES, Annotation, parse_answer
from blendtalk import tables
from blendtalk.io import write_json

log = logging.getLogger(__name__)



@dataclass
class Result:
    row: Row
    annotation: Annotation
    attempts: list[dict]  # [{"raw", "tokens_in", "tokens_out", "seed"}], last is kept
    seconds: float
    cached: bool


def row_key(backend: Backend, cfg: dict[str, Any], row: Row) -> str:
    """Cache key of a row's answer: backend, model (and its resources' fingerprint), prompt
    version, sampling (LLMs only: the rules backend ignores it), and the prompt's inputs."""
    llm = backend.name != "rules"
    hints = cfg.get("hints", True) or not llm
    return cache_key(backend=backend.name, model=backend.model,
                     fingerprint=getattr(backend, "fingerprint", ""),
                     prompt_version=PROMPT_VERSION if llm else None,
                     sampling=cfg.get("sampling", {}) if llm else None,
                     text=row.text,
                     emotions=list(row.emotions) if hints else None,
                     intensity=row.intensity if hints else None)


def prompt_version_of(backend: Backend) -> str:
    """PROMPT_VERSION for LLM backends; the rules backend reads no prompt, so it reports the
    fingerprint of its own resources instead."""
    return PROMPT_VERSION if backend.name != "rules" else f"rules-{backend.fingerprint}"


def annotate_rows(rows: Sequence[Row], backend: Backend, cfg: dict[str, Any],
                  cache: AnswerCache) -> list[Result]:
    """Annotate rows in batches of `cfg["batch_size"]`; each batch's final answers are cached
    before the next batch starts. Invalid answers are retried up to `max_retries` times with
    seed + attempt; the last answer is kept whatever its status."""
    batch_size = int(cfg.get("batch_size", 16))
    max_retries = int(cfg.get("max_retries", 2))
    seed = int(cfg.get("sampling", {}).get("seed", 0))
    results: list[Result] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        keys = [row_key(backend, cfg, r) for r in batch]
        todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
        attempts: dict[int, list[dict]] = {i: [] for i in todo}
        seconds: dict[int, float] = {i: 0.0 for i in todo}
        pending = todo
        for attempt in range(max_retries + 1):
            if not pending:
                break
            t0 = time.perf_counter()
            answers = backend.annotate([batch[i] for i in pending], seed + attempt)
            elapsed = (time.perf_counter() - t0) / len(pending)
            if len(answers) != len(pending):
                raise RuntimeError(f"backend {backend.name} returned {len(answers)} answers for "
                                   f"{len(pending)} rows")
            for i, ans in zip(pending, answers):
                attempts[i].append({"raw": ans.raw, "tokens_in": ans.tokens_in,
                                    "tokens_out": ans.tokens_out, "seed": seed + attempt})
                seconds[i] += elapsed
            pending = [i for i in pending if parse_answer(attempts[i][-1]["raw"]).status == "invalid"]
        cache.add({"key": keys[i], "text_id": batch[i].text_id, "attempts": attempts[i],
                   "seconds": seconds[i]} for i in todo)
        for i, (row, key) in enumerate(zip(batch, keys)):
            rec = cache.get(key)
            results.append(Result(row, parse_answer(rec["attempts"][-1]["raw"]), rec["attempts"],
                                  0.0 if i not in attempts else rec["seconds"], i not in attempts))
    return results


def rows_from_corpus(df: pd.DataFrame) -> list[Row]:
    """Rows from corpus-table records (DESIGN.md corpus schema)."""
    out = []
    for rec in df.itertuples(index=False):
        emotions = tuple(rec.emotions) if rec.emotions is not None else ()
        intensity = None if rec.intensity is None or pd.isna(rec.intensity) else float(rec.intensity)
        out.append(Row(str(rec.text_id), str(rec.text), emotions, intensity))
    return out


def results_frame(results: Sequence[Result], backend: Backend) -> pd.DataFrame:
    """The descriptions table (plus accounting columns) for annotated rows."""
    records = []
    for r in results:
        a = r.annotation
        records.append({
            "text_id": r.row.text_id, "text": r.row.text, "emotions": a.emotions,
            "action_units": [{"au": au, "intensity": i} for au, i in a.action_units],
            "description": a.description, "status": a.status, "problems": a.problems,
            "backend": backend.name, "model": backend.model,
            "prompt_version": prompt_version_of(backend),
            "attempts": len(r.attempts), "raw": r.attempts[-1]["raw"],
            "tokens_in": sum(x["tokens_in"] for x in r.attempts),
            "tokens_out": sum(x["tokens_out"] for x in r.attempts),
            "seconds": r.seconds, "cached": r.cached})
    return pd.DataFrame(records, columns=tables.DESCRIPTION_SHARD.columns)


def annotate_shard(corpus_path: str | os.PathLike, shard: str, cfg: dict[str, Any],
                   out_path: str | os.PathLike, cache_dir: str | os.PathLike,
                   backend: Backend | None = None) -> pd.DataFrame:
    """Annotate one shard of the corpus and write it atomically; returns the table written."""
    corpus = tables.read(corpus_path, tables.CORPUS)
    part = select_shard(corpus, shard, int(cfg.get("shards", 1)), cfg.get("limit"))
    backend = backend or make_backend(cfg)
    cache = AnswerCache(cache_dir, writer=f"shard-{shard}")
    try:
        results = annotate_rows(rows_from_corpus(part), backend, cfg, cache)
    finally:
        cache.close()
    df = results_frame(results, backend)
    n_cached = int(df["cached"].sum()) if len(df) else 0
    log.info("shard %s: %d rows, %d from cache, statuses %s", shard, len(df), n_cached,
             dict(Counter(df["status"])))
    tables.write(df, out_path, tables.DESCRIPTION_SHARD)
    return df


def merge_shards(shard_paths: Sequence[str | os.PathLike], corpus_path: str | os.PathLike,
                 out_path: str | os.PathLike, stats_path: str | os.PathLike) -> pd.DataFrame:
    """Concatenate shard tables into the descriptions table (sorted by text_id) and write stats."""
    shards = pd.concat([tables.read(p, tables.DESCRIPTION_SHARD) for p in shard_paths], ignore_index=True)
    shards = shards.sort_values("text_id", kind="stable").reset_index(drop=True)
    dupes = shards["text_id"].duplicated()
    if dupes.any():
        raise ValueError(f"text_ids in more than one shard: {shards['text_id'][dupes].tolist()[:5]}")
    corpus = tables.read(corpus_path, tables.CORPUS, columns=["text_id"])
    tables.write(shards[tables.DESCRIPTIONS.columns], out_path, tables.DESCRIPTIONS)
    write_json(stats(shards, corpus_rows=len(corpus),
                     corpus_text_ids=int(corpus["text_id"].nunique())), stats_path)
    return shards[tables.DESCRIPTIONS.columns]


def stats(df: pd.DataFrame, corpus_rows: int, corpus_text_ids: int) -> dict[str, Any]:
    """Status and problem counts, AU frequencies per emotion, tokens and throughput."""
    problems = Counter()
    for plist in df["problems"]:
        for p in plist:
            problems[_problem_kind(p)] += 1
    au_freq: dict[str, dict[str, int]] = {}
    for emotions, aus in zip(df["emotions"], df["action_units"]):
        if len(emotions):
            counts = au_freq.setdefault(emotions[0], {})
            for au in aus:
                counts[str(au["au"])] = counts.get(str(au["au"]), 0) + 1
    generated = df[~df["cached"]]
    seconds = float(generated["seconds"].sum())
    tokens_out = int(df["tokens_out"].sum())
    return {
        "rows": len(df),
        "corpus_rows": corpus_rows,
        "duplicate_text_ids_merged": corpus_rows - corpus_text_ids,
        "status": {s: int((df["status"] == s).sum()) for s in STATUSES},
        "problems": dict(problems.most_common()),
        "attempts": {str(k): int(v) for k, v in sorted(Counter(df["attempts"]).items())},
        "au_frequency_by_primary_emotion": {e: dict(sorted(c.items(), key=lambda kv: int(kv[0])))
                                            for e, c in sorted(au_freq.items())},
        "tokens_in": int(df["tokens_in"].sum()),
        "tokens_out": tokens_out,
        "rows_from_cache": int(df["cached"].sum()),
        "rows_generated": len(generated),
        "generation_seconds": seconds,
        "rows_per_second": _rate(len(generated), seconds),
        "tokens_out_per_second": _rate(int(generated["tokens_out"].sum()), seconds),
        "backends": sorted(set(df["backend"])), "models": sorted(set(df["model"])),
        "prompt_versions": sorted(set(df["prompt_version"])),
    }


def _rate(n: float, seconds: float) -> float | None:
    return None if seconds <= 0 or math.isclose(seconds, 0) else n / seconds


def _problem_kind(problem: str) -> str:
    """A problem's category for counting: the text before any quoted value or AU number."""
    kind = problem.split("'")[0].split('"')[0]
    return " ".join(w for w in kind.split() if not w.startswith("AU") and not w[:1].isdigit()).rstrip(" :")
