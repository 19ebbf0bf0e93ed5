"""Benchmark of the text2expr training step: cached text embeddings (this project) against
re-encoding every batch's texts with the frozen encoder at every step (the reference's method),
same model, same batches, one run; plus the trained model's inference latency per sentence.

    .venv/bin/python bench/text2expr.py [--model-dir results/models/text2expr] [--threads 2]

Prints JSON. Without a trained model directory, a model is trained briefly on the bench data
(latency does not depend on the weights' values, only on the sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from blendtalk import seeding
from blendtalk.models.text2expr import (ModelConfig, PairData, Text2Expr, TrainConfig, load_model,
                                        losses, optimizer, train)
from blendtalk.text import make_encoder

SUBJECTS = ["she", "he", "my sister", "the old man", "our teacher", "the child", "my friend", "they"]
FEELINGS = {"joy": "is thrilled about", "anger": "is furious about", "sadness": "is heartbroken about",
            "fear": "is terrified of", "surprise": "is stunned by", "disgust": "is revolted by",
            "contempt": "sneers at", "neutral": "reads about"}
OBJECTS = ["the news", "the letter", "the result", "the party", "the storm", "the decision",
           "the old house", "the phone call"]


def bench_data(seed: int = 0) -> tuple[list[str], np.ndarray]:
    """512 sentences; each emotion has one prototype expression (N, 52) in [0, 1]."""
    rng = seeding.rng(seed)
    protos = {e: (rng.random(52) * (rng.random(52) < 0.3)).astype(np.float32) for e in FEELINGS}
    texts, expr = [], []
    for s in SUBJECTS:
        for e, verb in FEELINGS.items():
            for o in OBJECTS:
                texts.append(f"{s} {verb} {o}")
                expr.append(protos[e])
    return texts, np.stack(expr)


def samples_per_second(model: Text2Expr, text_of_batch, expr: torch.Tensor, steps: int,
                       batch_size: int, seed: int) -> float:
    """Time `steps` training steps; `text_of_batch(idx)` gives the (B, D) text embeddings."""
    cfg = TrainConfig()
    opt = optimizer(model, cfg)
    rng = seeding.rng(seed)
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = rng.choice(len(expr), batch_size, replace=False)
        terms = losses(model, text_of_batch(idx), expr[idx], cfg)
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=Path("results/models/text2expr"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps-cached", type=int, default=300)
    ap.add_argument("--steps-reencode", type=int, default=30)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    texts, expr_np = bench_data()
    encoder = make_encoder("minilm")
    expr = torch.from_numpy(expr_np)

    t0 = time.perf_counter()
    table = torch.from_numpy(encoder.encode(texts))  # what the cache holds: each string once
    encode_once_s = time.perf_counter() - t0

    def reencode(idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(encoder.encode([texts[i] for i in idx]))

    seeding.seed_torch(0)
    model = Text2Expr(ModelConfig.from_preset(encoder.dim, "small"))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    samples_per_second(model, lambda idx: table[idx], expr, 10, args.batch_size, 1)  # warm-up
    model.load_state_dict(state)
    cached = samples_per_second(model, lambda idx: table[idx], expr, args.steps_cached,
                                args.batch_size, 0)
    model.load_state_dict(state)
    reencoded = samples_per_second(model, reencode, expr, args.steps_reencode, args.batch_size, 0)

    if (args.model_dir / "model.safetensors").is_file():
        trained, config = load_model(args.model_dir)
        source = str(args.model_dir)
        if config["encoder"]["kind"] != "minilm":
            raise SystemExit(f"bench measures the minilm encoder; {args.model_dir} uses "
                             f"{config['encoder']['kind']}")
    else:
        trained = model
        n = len(texts)
        order = seeding.rng(0).permutation(n)
        tr, va = order[: n * 4 // 5], order[n * 4 // 5:]
        train(trained, PairData(expr_np[tr], table.numpy()[tr]), PairData(expr_np[va], table.numpy()[va]),
              TrainConfig(epochs=20, patience=20))
        source = "trained here for 20 epochs on the bench data"
    trained.eval()
    latencies = []
    for i in range(40):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = trained.predict(torch.from_numpy(encoder.encode([f"sentence {i}: she laughs at the joke"])))
        latencies.append(time.perf_counter() - t0)
    assert out.shape == (1, 52)
    latencies = latencies[5:]
    print(json.dumps({
        "device": "cpu", "threads": args.threads, "batch_size": args.batch_size,
        "encoder": encoder.key, "model_params": sum(p.numel() for p in model.parameters()),
        "train_samples_per_s_cached": round(cached, 1),
        "train_samples_per_s_reencode_every_step": round(reencoded, 1),
        "speedup_cached_vs_reencode": round(cached / reencoded, 1),
        "target_speedup": 20,
        "encode_once_s_for_all_strings": round(encode_once_s, 3), "n_strings": len(texts),
        "inference_model": source,
        "inference_latency_ms_per_sentence_median": round(1000 * statistics.median(latencies), 2),
        "inference_latency_ms_per_sentence_p90": round(1000 * float(np.quantile(latencies, 0.9)), 2),
    }, indent=2))


if __name__ == "__main__":
    main()
