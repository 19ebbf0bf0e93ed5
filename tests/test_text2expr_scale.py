"""text2expr in linear memory: the validation loss and the test metrics never build an (N, N)
or (N, N, 52) array. Measured on N and 4N synthetic rows: the largest tensor any torch op makes
(a dispatch-mode spy over every op) and the numpy peak (tracemalloc) grow about 4x, not 16x."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import blendtalk.metrics.text2expr as metrics
import blendtalk.models.text2expr as t2e
from blendtalk.models.budget import epoch_budget
from blendtalk.models.text2expr import (ModelConfig, PairData, Text2Expr, TrainConfig,
                                        effective_patience, evaluate_loss, expression_ids,
                                        info_nce, same_expression, train, validation_subset)
from blendtalk.models.text2expr_eval import evaluate_model

torch.set_num_threads(1)
DIM = 16


def rows(n: int, distinct: int = 40, seed: int = 0):
    """n pairs over `distinct` sparse expressions (exact duplicates) and random text vectors."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((distinct, 52)) * (rng.random((distinct, 52)) < 0.3)).astype(np.float32)
    cls = rng.integers(distinct, size=n)
    return protos[cls], rng.normal(size=(n, DIM)).astype(np.float32), [f"e{c % 6}" for c in cls]


def model() -> Text2Expr:
    torch.manual_seed(0)
    return Text2Expr(ModelConfig(text_dim=DIM, latent=8, hidden=16, blocks=1))


class LargestTensor(TorchDispatchMode):
    """Records the largest number of elements of any tensor an op returns."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (tuple, list)) else [out]):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def largest_in_validation(n: int, chunk: int) -> int:
    expr, text, _ = rows(n)
    data, cfg, mod = PairData(expr, text), TrainConfig(), model()
    ids = expression_ids(expr, cfg.tolerance)
    with LargestTensor() as spy:
        evaluate_loss(mod, data, cfg, ids, chunk=chunk)
    return spy.largest


def test_validation_loss_tensors_grow_linearly(monkeypatch):
    def no_dense_mask(*_, **__):
        raise AssertionError("the dense (N, N, 52) mask must not be built for a validation set")

    monkeypatch.setattr(t2e, "same_expression", no_dense_mask)
    n, chunk = 512, 64
    small, large = largest_in_validation(n, chunk), largest_in_validation(4 * n, chunk)
    assert large <= 5 * small, (small, large)  # (chunk, N): 4x, where (N, N) would be 16x
    # linear: (chunk, N) logits or the (2N, 52) decoded latents, never an (N, N) array
    assert large <= max(chunk, 2 * 52) * 4 * n < (4 * n) ** 2
    assert small >= chunk * n  # the spy sees the (chunk, N) logits


def test_chunked_validation_loss_equals_the_dense_one():
    expr, text, _ = rows(300, distinct=12)
    cfg, mod = TrainConfig(), model()
    chunked = evaluate_loss(mod, PairData(expr, text), cfg, chunk=37)
    mod.eval()
    with torch.no_grad():
        zt, ze = mod.encode_text(torch.from_numpy(text)), mod.encode_expr(torch.from_numpy(expr))
        dense = info_nce(zt, ze, mod.logit_scale, same_expression(torch.from_numpy(expr), cfg.tolerance))
    assert chunked["contrastive"] == pytest.approx(float(dense), rel=1e-5)


def numpy_peak_of_metrics(n: int) -> int:
    expr, text, emo = rows(n)
    mod = model()
    tracemalloc.start()
    evaluate_model(mod, text, expr, emo, text, expr, emo, 0.02)
    metrics.expression_baselines(expr, emo, expr, emo, 0.02)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_metrics_peak_memory_grows_linearly(monkeypatch):
    monkeypatch.setattr(metrics, "CELLS", 1 << 16)  # chunks far smaller than N x N here
    small, large = numpy_peak_of_metrics(1000), numpy_peak_of_metrics(4000)
    assert large <= 5 * small, (small, large)
    assert large < 4000 * 4000 * 4  # less than one (N, N) float32 array


def test_chunked_metrics_equal_the_dense_ones(monkeypatch):
    expr, text, emo = rows(400, distinct=30)
    expr[1] = expr[0] + 0.01  # a near-duplicate: the tolerance rule, not exact equality
    dense = evaluate_model(model(), text, expr, emo, text, expr, emo, 0.02)
    monkeypatch.setattr(metrics, "CELLS", 97)  # chunks of a few queries
    assert evaluate_model(model(), text, expr, emo, text, expr, emo, 0.02) == dense
    # the retrieval numbers against the dense definition
    mod = model().eval()
    with torch.no_grad():
        zt, ze = mod.encode_text(torch.from_numpy(text)).numpy(), mod.encode_expr(torch.from_numpy(expr)).numpy()
    correct = np.abs(expr[:, None] - expr[None]).max(-1) <= 0.02
    assert dense["expression_to_text"] == metrics.retrieval(ze @ zt.T, correct)


def test_expression_ids_match_the_greedy_rule():
    expr, _, _ = rows(500, distinct=50, seed=3)
    expr[7] = expr[3] + 0.015
    ids, reps = metrics.expression_ids(expr, 0.02, block=16)
    reference: list[int] = []  # the original row-by-row greedy pass
    for i, row in enumerate(expr):
        if not reference or np.abs(expr[reference] - row).max(1).min() > 0.02:
            reference.append(i)
    assert list(reps) == reference
    for i in range(len(expr)):  # each row in the group of its first representative in tolerance
        near = np.abs(expr[reps] - expr[i]).max(1) <= 0.02
        assert ids[i] == int(np.argmax(near))


def test_validation_subsample_and_patience_scale_with_the_data():
    expr, text, _ = rows(5000)
    sub = validation_subset(PairData(expr, text), TrainConfig(val_subsample=2048))
    assert len(sub.expr) == 2048
    again = validation_subset(PairData(expr, text), TrainConfig(val_subsample=2048))
    np.testing.assert_array_equal(sub.choices, again.choices)  # the same rows every time
    assert validation_subset(PairData(expr[:100], text[:100]), TrainConfig()).expr.shape[0] == 100
    cfg = TrainConfig(patience=30, patience_samples=100_000)
    assert effective_patience(cfg, 115) == 30  # the bundled data: unchanged
    assert effective_patience(cfg, 10_000) == 10
    assert effective_patience(cfg, 51_000) == 5
    assert effective_patience(TrainConfig(patience=30), 51_000) == 30  # None: as configured


def test_sample_budget_caps_the_epochs_and_ends_the_schedule():
    assert epoch_budget(300, 1_000_000, 3_300) == 300  # the bundled data: unchanged
    assert epoch_budget(300, 1_000_000, 50_000) == 20
    assert epoch_budget(300, None, 50_000) == 300  # None: as configured
    expr, text, _ = rows(200)
    # 150 training rows, a budget of 600 rows seen: 4 epochs, whatever `epochs` and `patience` say
    history = train(model(), PairData(expr[:150], text[:150]), PairData(expr[150:], text[150:]),
                    TrainConfig(epochs=50, patience=50, batch_size=50, max_samples=600))
    assert len(history) == 4
    assert history["lr"].iloc[-1] == pytest.approx(0.0, abs=1e-9)  # the cosine ended with the budget
