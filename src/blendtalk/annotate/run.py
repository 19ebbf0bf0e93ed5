"""Annotating a shard: cached backend calls, validation, retries; merging shards with stats."""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from blendtalk import tables
from blendtalk.annotate.backends import Answer, Backend, Identity, Row, backend_identity, make_backend
from blendtalk.annotate.cache import AnswerCache, cache_key
from blendtalk.annotate.prompt import PROMPT_VERSION
from blendtalk.annotate.shards import select_shard
from blendtalk.annotate.validate import STATUSES, Annotation, clean_raw, parse_answer
from blendtalk.io import write_json
from blendtalk.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class Result:
    row: Row
    annotation: Annotation
    attempts: list[dict]  # [{"raw", "raw_problems", "tokens_in", "tokens_out", "seed"}], last is kept
    seconds: float
    cached: bool


class LazyBackend:
    """The backend of `cfg`: its identity at once (all the cache keys need), the backend itself
    built by `factory` on the first `annotate` call, so a run whose rows are all cached never
    loads a model."""

    def __init__(self, cfg: dict[str, Any], factory: Callable[[dict[str, Any]], Backend] = make_backend):
        self.identity = backend_identity(cfg)
        self.name, self.model, self.fingerprint = (self.identity.name, self.identity.model,
                                                   self.identity.fingerprint)
        self._cfg, self._factory = cfg, factory
        self._backend: Backend | None = None

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        if self._backend is None:
            self._backend = self._build()
        return self._backend.annotate(rows, seed)

    def _build(self) -> Backend:
        log.info("building the %s backend (%s): rows are missing from the answer cache",
                 self.name, self.model)
        backend = self._factory(self._cfg)
        built = Identity(backend.name, backend.model, backend.fingerprint)
        if built != self.identity:
            raise RuntimeError(f"backend built as {built}, but its config promised {self.identity}: "
                               "its answers would be cached under the wrong keys")
        return backend


def row_key(backend: Backend | Identity, cfg: dict[str, Any], row: Row) -> str:
    """Cache key of a row's answer: backend, model (and its fingerprint), prompt version,
    sampling (LLMs only: the rules backend ignores it), and the prompt's inputs."""
    llm = backend.name != "rules"
    hints = cfg.get("hints", True) or not llm
    # the prompt does not show the corpus' own labels; the rules read them (label displays)
    seen = {} if llm else {"source_labels": list(row.source_labels)}
    return cache_key(backend=backend.name, model=backend.model, fingerprint=backend.fingerprint,
                     prompt_version=PROMPT_VERSION if llm else None,
                     sampling=cfg.get("sampling", {}) if llm else None,
                     text=row.text,
                     emotions=list(row.emotions) if hints else None,
                     intensity=row.intensity if hints else None, **seen)


def prompt_version_of(backend: Backend) -> str:
    """PROMPT_VERSION for LLM backends; the rules backend reads no prompt, so it reports the
    fingerprint of its own resources instead."""
    return PROMPT_VERSION if backend.name != "rules" else f"rules-{backend.fingerprint}"


def annotate_rows(rows: Sequence[Row], backend: Backend, cfg: dict[str, Any],
                  cache: AnswerCache | None = None, desc: str = "annotate") -> list[Result]:
    """Annotate rows in batches of `cfg["batch_size"]`, rows found in `cache` (default: an
    in-memory one) without asking the backend; each batch's final answers are cached before the
    next batch starts (`answer_with_retries`). Progress (rows done/total, rate, ETA) is logged
    as `desc`."""
    cache = cache if cache is not None else AnswerCache(None)
    batch_size = int(cfg.get("batch_size", 16))
    max_retries = int(cfg.get("max_retries", 2))
    seed = int(cfg.get("sampling", {}).get("seed", 0))
    results: list[Result] = []
    n_cached = 0
    with Progress(len(rows), desc, unit="rows", logger=log) as progress:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            keys = [row_key(backend, cfg, r) for r in batch]
            todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
            answered = answer_with_retries([batch[i] for i in todo], backend, seed, max_retries)
            cache.add({"key": keys[i], "text_id": batch[i].text_id, "attempts": attempts,
                       "seconds": seconds} for i, (attempts, seconds) in zip(todo, answered))
            for i, (row, key) in enumerate(zip(batch, keys)):
                rec = cache.get(key)
                cached = i not in todo
                results.append(Result(row, attempt_annotation(rec["attempts"][-1]), rec["attempts"],
                                      0.0 if cached else float(rec.get("seconds", 0.0)), cached))
            n_cached += len(batch) - len(todo)
            progress.update(len(batch), note=f"{n_cached} from cache")
    return results


def answer_with_retries(rows: Sequence[Row], backend: Backend, seed: int,
                        max_retries: int) -> list[tuple[list[dict], float]]:
    """Each row's attempts (as cached: `clean_attempt`) and its share of the generation time.
    Every row is asked once with `seed`; rows whose answer is invalid are asked again with
    seed + attempt, up to `max_retries` more times. The last attempt counts, whatever its status."""
    attempts: list[list[dict]] = [[] for _ in rows]
    seconds = [0.0] * len(rows)
    pending = list(range(len(rows)))
    for attempt in range(max_retries + 1):
        if not pending:
            break
        t0 = time.perf_counter()
        answers = backend.annotate([rows[i] for i in pending], seed + attempt)
        elapsed = (time.perf_counter() - t0) / len(pending)
        if len(answers) != len(pending):
            raise RuntimeError(f"backend {backend.name} returned {len(answers)} answers for "
                               f"{len(pending)} rows")
        for i, answer in zip(pending, answers):
            attempts[i].append(clean_attempt(answer, seed + attempt))
            seconds[i] += elapsed
        pending = [i for i in pending if attempt_annotation(attempts[i][-1]).status == "invalid"]
    return list(zip(attempts, seconds))


def clean_attempt(answer: Answer | Any, seed: int) -> dict:
    """One backend answer as a cache attempt: the raw text made storable (`clean_raw`, its
    problems kept beside it) and token counts as whole numbers (0 when a backend gives none),
    so no answer can fail the cache, the table or a later run."""
    raw, problems = clean_raw(getattr(answer, "raw", answer))
    return {"raw": raw, "raw_problems": problems, "tokens_in": _count(getattr(answer, "tokens_in", 0)),
            "tokens_out": _count(getattr(answer, "tokens_out", 0)), "seed": seed}


def attempt_annotation(attempt: dict) -> Annotation:
    """The validated annotation of one cached attempt."""
    return parse_answer(attempt["raw"], noted=attempt.get("raw_problems", ()))


def _count(value: Any) -> int:
    """A token count as a plain int; anything that is not a whole number in [0, 2**62) is 0."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value < 2 ** 62:
        return int(value)
    return 0


def rows_from_corpus(df: pd.DataFrame) -> list[Row]:
    """Rows from corpus-table records (DESIGN.md corpus schema)."""
    out = []
    for rec in df.itertuples(index=False):
        emotions = tuple(rec.emotions) if rec.emotions is not None else ()
        intensity = None if rec.intensity is None or pd.isna(rec.intensity) else float(rec.intensity)
        labels = tuple(rec.source_labels) if rec.source_labels is not None else ()
        out.append(Row(str(rec.text_id), str(rec.text), emotions, intensity, labels))
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
                   backend: Backend | None = None,
                   factory: Callable[[dict[str, Any]], Backend] = make_backend) -> pd.DataFrame:
    """Annotate one shard of the corpus and write it atomically; returns the table written.
    Without a `backend`, `factory(cfg)` builds one only if a row is missing from the cache."""
    corpus = tables.read(corpus_path, tables.CORPUS)
    part = select_shard(corpus, shard, int(cfg.get("shards", 1)), cfg.get("limit"))
    backend = backend or LazyBackend(cfg, factory)
    cache = AnswerCache(cache_dir, writer=f"shard-{shard}")
    try:
        results = annotate_rows(rows_from_corpus(part), backend, cfg, cache,
                                desc=f"annotate shard {shard}")
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
