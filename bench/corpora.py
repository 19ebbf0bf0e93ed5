"""Benchmark: vectorised corpus cleaning vs a naive per-row baseline, same rules, same run.

    .venv/bin/python bench/corpora.py [--rows 200000] [--baseline-rows 20000]

Prints JSON: rows/s of blendtalk.corpora.clean_texts on a synthetic corpus, rows/s of a per-row
Python implementation of the same steps (on a subset, as it is slow), and the speed-up ratio.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
import unicodedata

import numpy as np
import pandas as pd

from blendtalk.corpora import CleanOptions, clean_texts
from blendtalk.corpora.clean import fix_mojibake

PARTS = ["I can't believe [NAME] did that", "so happy today 😂", "@someone_1 look at this",
         "https://t.co/abc123 is wild", "#blessed #grateful", "line\\nbreak &amp; more",
         "ðŸ˜ž rough week", "the bus was late again", "[RELIGION] talk at dinner",
         "my heart is pounding", "\x07 odd bytes \u200b here", "what a lovely surprise",
         "thanks @amy!"]


def synthetic(rows: int, seed: int = 0) -> pd.Series:
    """`rows` texts of 2–5 random parts each (every cleaning rule is exercised)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(PARTS), size=(rows, 5))
    lengths = rng.integers(2, 6, size=rows)
    return pd.Series([" ".join(PARTS[j] for j in row[:n]) for row, n in zip(picks, lengths)],
                     dtype="string")


def naive_clean(text: str, opt: CleanOptions) -> tuple[str, str | None]:
    """The same steps, one row at a time with Python's re (the baseline)."""
    text = fix_mojibake(text)
    text = re.sub(r"\\[ntr]", " ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) == "Cc" or c in "\u200b\u200c\ufeff" else c
                   for c in text)
    text = re.sub(r"(?i)\b(?:https?://|www\.)\S+", "\x00", text)
    text = re.sub(r"(^|[^\w@])@\w+", "\\1\x00", text)
    text = re.sub(r"(^|[^\w#])#(\w+)", r"\1\2", text)
    for mask, word in opt.mask_words.items():
        text = text.replace(f"[{mask}]", word)
    text = re.sub(r"\[([A-Z][A-Z_]*)\]", "\x00", text)
    text = re.sub(r"\s*\x00[\s\x00]*([.,!?;:)\]}…]|$)", r"\1", text).replace("\x00", " ")
    text = re.sub(r"\s+", " ", text).strip()
    words = len(text.split())
    reason = ("empty" if words == 0 else "too_short" if words < opt.min_words
              else "too_long" if words > opt.max_words else None)
    return text, reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    args = parser.parse_args()
    opt = CleanOptions()
    texts = synthetic(args.rows)

    t0 = time.perf_counter()
    cleaned, _ = clean_texts(texts, opt)
    vec_s = time.perf_counter() - t0

    subset = texts.iloc[:args.baseline_rows]
    t0 = time.perf_counter()
    naive = [naive_clean(t, opt)[0] for t in subset]
    naive_s = time.perf_counter() - t0
    agree = float(np.mean(np.asarray(naive, dtype=object) ==
                          cleaned.iloc[:args.baseline_rows].to_numpy(dtype=object)))

    vec_rate, naive_rate = args.rows / vec_s, args.baseline_rows / naive_s
    print(json.dumps({
        "benchmark": "corpora.clean_texts",
        "rows": args.rows, "seconds": round(vec_s, 3), "rows_per_s": round(vec_rate),
        "baseline": "naive per-row Python (re, html, unicodedata)",
        "baseline_rows": args.baseline_rows, "baseline_seconds": round(naive_s, 3),
        "baseline_rows_per_s": round(naive_rate),
        "speedup_vs_baseline": round(vec_rate / naive_rate, 2),
        "outputs_agree_with_baseline": round(agree, 4),
        "target_rows_per_s": 50_000, "meets_target": vec_rate >= 50_000,
    }, indent=2))


if __name__ == "__main__":
    main()
