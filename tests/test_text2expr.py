"""The text ↔ expression model: shapes, bounds, losses, training on synthetic data where the
text determines the expression, seeding, checkpoints and the metrics' rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blendtalk.metrics.text2expr import (chance_recall, distinct_expressions, expression_baselines,
                                         ranks, representatives, retrieval)
from blendtalk.models.text2expr import (ModelConfig, PairData, Text2Expr, TrainConfig, info_nce,
                                        load_model, losses, positive_cosine, save_model, train)
from blendtalk.models.text2expr_eval import evaluate_model

torch.set_num_threads(1)
TEXT_DIM = 32


def synthetic(n: int = 240, k: int = 24, noise: float = 1.0, seed: int = 0):
    """n pairs over k distinct sparse expressions (exact duplicates, as rule-based annotation
    gives); each text embedding is a fixed random code of its expression plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((k, 52)) * (rng.random((k, 52)) < 0.3)).astype(np.float32)
    codes = rng.normal(size=(k, TEXT_DIM)).astype(np.float32)
    cls = rng.integers(k, size=n)
    text = (codes[cls] + noise * rng.normal(size=(n, TEXT_DIM))).astype(np.float32)
    emotions = [f"emo{c % 6}" for c in cls]
    return protos[cls], text, emotions


def small_model(seed: int = 0) -> Text2Expr:
    torch.manual_seed(seed)
    return Text2Expr(ModelConfig(text_dim=TEXT_DIM, latent=16, hidden=32, blocks=1))


def fit_and_score(loss="infonce", weights=(1.0, 0.0, 0.0), shuffle_pairs=False, seed=0) -> dict:
    expr, text, emo = synthetic()
    train_text = text[:160]
    if shuffle_pairs:
        train_text = train_text[np.random.default_rng(1).permutation(160)]
    cfg = TrainConfig(loss=loss, w_contrastive=weights[0], w_reconstruction=weights[1],
                      w_cross_modal=weights[2], epochs=40, batch_size=32, lr=3e-3, patience=100,
                      seed=seed)
    model = small_model(seed)
    history = train(model, PairData(expr[:160], train_text), PairData(expr[160:200], text[160:200]), cfg)
    metrics = evaluate_model(model, text[200:], expr[200:], emo[200:], text[:160], expr[:160],
                             emo[:160], tolerance=0.02)
    return {"metrics": metrics, "history": history, "model": model}


def test_shapes_and_bounds():
    model = small_model()
    text = torch.randn(7, TEXT_DIM) * 10
    expr = torch.rand(7, 52)
    z_t, z_e = model.encode_text(text), model.encode_expr(expr)
    assert z_t.shape == z_e.shape == (7, 16)
    torch.testing.assert_close(z_t.norm(dim=1), torch.ones(7))
    out = model.decode(z_t * 1000)
    assert out.shape == (7, 52) and out.dtype == torch.float32
    assert (out >= 0).all() and (out <= 1).all()
    pred = model.predict(text)
    assert pred.shape == (7, 52) and not model.training


def test_reference_preset_sizes():
    cfg = ModelConfig.from_preset(384, "reference")
    assert (cfg.latent, cfg.hidden, cfg.blocks) == (512, 1024, 8)
    assert ModelConfig.from_preset(384, "small", latent=8).latent == 8
    with pytest.raises(ValueError, match="unknown preset"):
        ModelConfig.from_preset(384, "huge")


def test_info_nce_symmetric_and_values():
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    b = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    scale = torch.tensor(np.log(1 / 0.07), dtype=torch.float32)
    torch.testing.assert_close(info_nce(a, b, scale), info_nce(b, a, scale))
    # against the textbook form: mean of the two cross-entropies with diagonal labels
    logits = (a @ b.T) / 0.07
    labels = torch.arange(6)
    expected = (torch.nn.functional.cross_entropy(logits, labels)
                + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
    torch.testing.assert_close(info_nce(a, b, scale), expected, rtol=1e-5, atol=1e-5)
    # aligned pairs score far better than mismatched ones
    assert info_nce(a, a, scale) < info_nce(a, b, scale) - 1
    # positives: expressions 0 and 1 are near-duplicates (the same within tolerance), so which
    # text is paired with which of them must not matter; without the positives mask it does
    b_dup = b.clone()
    b_dup[1] = torch.nn.functional.normalize(b_dup[0] + 0.3 * b_dup[1], dim=0)
    pos = torch.eye(6, dtype=torch.bool)
    pos[0, 1] = pos[1, 0] = True
    a_swapped = a[[1, 0, 2, 3, 4, 5]]
    torch.testing.assert_close(info_nce(a_swapped, b_dup, scale, pos), info_nce(a, b_dup, scale, pos))
    assert not torch.isclose(info_nce(a_swapped, b_dup, scale), info_nce(a, b_dup, scale))


def test_temperature_is_learnable():
    model = small_model()
    expr = torch.rand(8, 52)
    terms = losses(model, torch.randn(8, TEXT_DIM), expr, TrainConfig())
    terms["total"].backward()
    assert model.logit_scale.grad is not None and model.logit_scale.grad.abs() > 0
    assert model.temperature() == pytest.approx(0.07, rel=1e-5)
    # the reference's loss never touches the temperature
    model.zero_grad()
    losses(model, torch.randn(8, TEXT_DIM), expr, TrainConfig(loss="positive_cosine"))["total"].backward()
    assert model.logit_scale.grad is None or model.logit_scale.grad.abs() == 0


def test_positive_cosine_is_zero_for_aligned_pairs():
    z = torch.nn.functional.normalize(torch.randn(5, 4), dim=1)
    assert float(positive_cosine(z, z)) == pytest.approx(0, abs=1e-6)
    assert float(positive_cosine(z, -z)) == pytest.approx(2, abs=1e-6)


def test_contrastive_training_retrieves_and_shuffled_control_does_not():
    """InfoNCE alone (no decoder terms) must learn text→expression retrieval far above chance;
    the same run on shuffled pairs must stay near chance. Breaking the contrastive loss (wrong
    labels, sign, no gradient) fails the first assertion."""
    good = fit_and_score()["metrics"]["text_to_expression"]
    chance = good["chance_R@1"]
    assert chance < 0.1
    assert good["R@1"] >= 0.7, good
    assert good["median_rank"] == 1
    control = fit_and_score(shuffle_pairs=True)["metrics"]["text_to_expression"]
    assert control["R@1"] < chance + 0.15, control
    assert control["median_rank"] > 5


def test_full_loss_training_decodes_and_keeps_best_epoch():
    run = fit_and_score(weights=(1.0, 1.0, 1.0))
    m, history = run["metrics"], run["history"]
    expr, text, emo = synthetic()
    base = expression_baselines(expr[200:], emo[200:], expr[:160], emo[:160], 0.02)
    assert m["cross_modal"]["all"]["mse"] < 0.9 * base["training_mean"]["cross_modal"]["all"]["mse"]
    assert m["reconstruction"]["all"]["mse"] < m["cross_modal"]["all"]["mse"] + 0.01
    assert m["expression_to_text"]["R@1"] > 0.5
    assert m["emotion_accuracy"]["expression_latent"] > base["majority_emotion_accuracy"]
    assert set(m["cross_modal"]) >= {"all", "eyes", "mouth", "brows", "upper_face"}
    # the kept weights are the best validation epoch's
    best = history.loc[history["best"], "val_total"].iloc[0]
    assert best == history["val_total"].min()
    model = run["model"]
    expr_t, text_t = torch.from_numpy(expr[160:200]), torch.from_numpy(text[160:200])
    model.eval()
    with torch.no_grad():
        val_now = losses(model, text_t, expr_t, TrainConfig(w_reconstruction=1, w_cross_modal=1))
    assert float(val_now["total"]) == pytest.approx(best, rel=1e-5)


def test_training_is_seeded():
    a = fit_and_score(weights=(1.0, 1.0, 1.0), seed=5)
    b = fit_and_score(weights=(1.0, 1.0, 1.0), seed=5)
    assert a["metrics"] == b["metrics"]
    assert a["history"].drop(columns="seconds").equals(b["history"].drop(columns="seconds"))


def test_dropout_active_only_in_training_mode():
    model = Text2Expr(ModelConfig(text_dim=TEXT_DIM, latent=8, hidden=32, blocks=2, dropout=0.5))
    x = torch.randn(4, TEXT_DIM)
    model.train()
    assert not torch.equal(model.encode_text(x), model.encode_text(x))
    model.eval()
    assert torch.equal(model.encode_text(x), model.encode_text(x))


def test_checkpoint_round_trip(tmp_path):
    model = small_model(3)
    save_model(model, tmp_path, extra={"encoder": {"kind": "minilm"}})
    assert not list(tmp_path.glob("*.pt")) and (tmp_path / "model.safetensors").is_file()
    loaded, config = load_model(tmp_path)
    assert config["encoder"] == {"kind": "minilm"} and config["model"]["latent"] == 16
    x = torch.randn(3, TEXT_DIM)
    model.eval()
    torch.testing.assert_close(loaded.predict(x), model.predict(x), rtol=0, atol=0)
    assert not loaded.training


def test_ranks_ties_and_tolerance_rule():
    scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.2, 0.2]])
    correct = np.array([[False, True, True], [True, False, False]])
    np.testing.assert_array_equal(ranks(scores, correct), [2.0, 2.0])  # tie: half of 2 wrong
    r = retrieval(scores, correct)
    assert r["R@1"] == 0 and r["median_rank"] == 2
    assert chance_recall(np.array([1]), 10, 1) == pytest.approx(0.1)
    assert chance_recall(np.array([2]), 10, 5) == pytest.approx(1 - (8 * 7 * 6 * 5 * 4) / (10 * 9 * 8 * 7 * 6))
    expr = np.zeros((4, 52), np.float32)
    expr[1, 3] = 0.01  # within tolerance of row 0
    expr[2, 3] = 0.5
    expr[3, 3] = 0.51
    assert distinct_expressions(expr, 0.02) == 2
    assert distinct_expressions(expr, 0.0) == 4


def test_text_to_expression_ranks_distinct_expressions_not_duplicates():
    """Ten texts share expression A, one has B. A model that scores A just above B for the B text
    is one place off, not ten: the text→expression gallery holds each distinct expression once."""
    model = Text2Expr(ModelConfig.from_preset(8, "small"))
    expr = np.zeros((11, 52), np.float32)
    expr[10] = 0.8
    assert list(representatives(expr, 0.02)) == [0, 10]
    text = np.random.default_rng(0).normal(size=(11, 8)).astype(np.float32)
    m = evaluate_model(model, text, expr, ["joy"] * 10 + ["anger"], text, expr,
                       ["joy"] * 10 + ["anger"], 0.02)
    t2e = m["text_to_expression"]
    assert 1 <= t2e["median_rank"] <= 2 and t2e["mean_rank"] <= 2  # only two items to rank
    assert t2e["chance_R@1"] == pytest.approx(0.5)  # one correct of two, for every query


def test_baselines():
    train_expr = np.array([[0.0] * 52, [1.0] * 52, [1.0] * 52], np.float32)
    test = np.array([[1.0] * 52, [0.0] * 52], np.float32)
    base = expression_baselines(test, ["joy", "anger"], train_expr, ["anger", "joy", "joy"], 0.02)
    assert base["emotion_mean_oracle"]["cross_modal"]["all"]["mse"] == 0
    assert base["training_mean"]["cross_modal"]["all"]["mae"] == pytest.approx(0.5)
    assert base["majority_emotion_accuracy"] == 0.5


def test_training_logs_progress_with_val_loss(caplog):
    expr, text, _ = synthetic(n=64)
    cfg = TrainConfig(epochs=3, batch_size=32, patience=10)
    with caplog.at_level("INFO", logger="blendtalk.models.text2expr"):
        train(small_model(), PairData(expr[:48], text[:48]), PairData(expr[48:], text[48:]), cfg)
    final = [r.getMessage() for r in caplog.records if "epochs/s" in r.getMessage()]
    assert len(final) == 1 and final[0].startswith("train text2expr (infonce): 3/3 (100%)")
    assert ", val " in final[0] and "(best " in final[0]
