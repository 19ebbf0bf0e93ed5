"""Annotation throughput per backend, and the speed-up of batched, grammar-constrained generation
over the reference method, measured in one run on the same CPU model.

The reference (the published pipeline's method) calls `model.generate` once per sentence,
without batching or a grammar; here it runs on the same model, dtype, prompts and token budget
as the transformers backend. Prints one JSON object: rows/s, output tokens/s and the share of
schema-valid answers per method, the ratios against the reference, and the gain of reusing the
shared prompt prefix's KV cache (batched with and without it).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/annotate.py --rows 16 --batch-size 8

On a CPU shared with other jobs, OMP_NUM_THREADS=1 avoids OpenMP oversubscription (measured
here: a batch-3 decode step took 2.2 s with 2 threads, 0.3 s with 1).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence

import jsonschema
import torch

from blendtalk.annotate import models
from blendtalk.annotate.backends import make_backend
from blendtalk.annotate.backends.base import Answer, Row
from blendtalk.annotate.prompt import json_schema

#: Bench sentences with corpus-style hints (the bundled corpora need the workflow to be read).
SENTENCES: tuple[tuple[str, tuple[str, ...], float | None], ...] = (
    ("I can't stop smiling, we're finally getting married!", ("joy",), 0.9),
    ("Get out of my house and never come back.", ("anger",), 0.8),
    ("The train leaves at half past nine.", ("neutral",), None),
    ("I heard footsteps behind me in the empty car park.", ("fear",), 0.7),
    ("He ate the mouldy sandwich without noticing.", ("disgust",), 0.6),
    ("She never called back after the funeral.", ("sadness",), 0.7),
    ("Wait, you bought a horse?", ("surprise",), 0.6),
    ("Oh please, as if you could ever do better than me.", ("contempt",), 0.5),
    ("I forgot my best friend's birthday again.", ("guilt",), 0.6),
    ("Everyone saw me trip on stage.", ("shame",), 0.7),
    ("We won the lottery, I still can't believe it!", ("joy", "surprise"), 1.0),
    ("They cancelled my flight for the third time today.", ("anger",), 0.6),
    ("My dog died this morning.", ("sadness",), 0.9),
    ("There is a spider the size of my hand on the wall.", ("fear", "disgust"), 0.8),
    ("The report is due on Friday.", ("neutral",), None),
    ("You lied to me for years.", ("anger", "sadness"), 0.8),
)


def bench_rows(n: int) -> list[Row]:
    return [Row(f"bench-{i:03d}", *SENTENCES[i % len(SENTENCES)]) for i in range(n)]


def valid_share(answers: Sequence[Answer]) -> float:
    """Share of answers that parse as JSON and validate against the answer schema as they are."""
    ok = 0
    for answer in answers:
        try:
            jsonschema.validate(json.loads(answer.raw), json_schema())
            ok += 1
        except (ValueError, jsonschema.ValidationError):
            pass
    return ok / len(answers)


def measure(run: Callable[[], list[Answer]]) -> dict:
    t0 = time.perf_counter()
    answers = run()
    seconds = time.perf_counter() - t0
    tokens_out = sum(a.tokens_out for a in answers)
    return {"rows": len(answers), "seconds": round(seconds, 2),
            "rows_per_s": round(len(answers) / seconds, 3),
            "tokens_in": sum(a.tokens_in for a in answers), "tokens_out": tokens_out,
            "tokens_out_per_s": round(tokens_out / seconds, 1),
            "valid_json_share": round(valid_share(answers), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"])
    parser.add_argument("--model", default=models.OFFLINE_GEMMA)
    parser.add_argument("--chat-template", default=str(models.GEMMA3_CHAT_TEMPLATE))
    args = parser.parse_args()

    rows, seed = bench_rows(args.rows), 0
    rules = make_backend({"backend": "rules"})
    cfg = {"backend": "transformers", "model": args.model, "chat_template": args.chat_template,
           "dtype": args.dtype, "hints": True, "batch_size": args.batch_size,
           "sampling": {"seed": seed, "temperature": 0.0, "top_p": 1.0,
                        "max_tokens": args.max_tokens}}
    t0 = time.perf_counter()
    llm = make_backend(cfg)
    load_s = time.perf_counter() - t0
    prompts = llm.prompts(rows)

    results = {"rules": measure(lambda: rules.annotate(rows, seed))}
    for prefix_cache in (True, False):
        llm.prefix_cache = prefix_cache  # also drops the prefix stored by the previous run
        name = "transformers_batched_constrained" + ("_prefix_cache" if prefix_cache else "")
        results[name] = measure(lambda: llm.annotate(rows, seed))
    results["reference_one_by_one_unconstrained"] = measure(  # prefix_cache is off here
        lambda: [a for p in prompts for a in llm.generate([p], seed, constrained=False)])
    ref = results["reference_one_by_one_unconstrained"]
    ours = results["transformers_batched_constrained_prefix_cache"]
    plain = results["transformers_batched_constrained"]
    print(json.dumps({
        "model": args.model, "dtype": str(llm.lm.dtype), "device": str(llm.device),
        "threads": torch.get_num_threads(), "rows": args.rows, "batch_size": args.batch_size,
        "max_tokens": args.max_tokens, "model_load_s": round(load_s, 1),
        "prompt_tokens_per_row": round(ours["tokens_in"] / ours["rows"]),
        "results": results,
        "speedup_rows_per_s_vs_reference": {
            "transformers_batched_constrained_prefix_cache": round(ours["rows_per_s"] / ref["rows_per_s"], 2),
            "transformers_batched_constrained": round(plain["rows_per_s"] / ref["rows_per_s"], 2),
            "rules": round(results["rules"]["rows_per_s"] / ref["rows_per_s"], 1)},
        "prefix_cache_speedup": round(ours["rows_per_s"] / plain["rows_per_s"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
