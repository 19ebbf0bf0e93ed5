"""Metrics of the text ↔ expression model on held-out texts, with baselines.

Retrieval counts a retrieved item as correct when its expression equals the query's expression
within `tolerance` (max absolute difference over the 52 channels): rule-based annotation gives
many texts the same expression, and retrieving any of them is right. Text→expression ranks the
*distinct* expressions of the held-out set (one representative per group): ranking duplicates
separately would let one large wrong group of identical items push every query down by the
group's size, and would make the chance level (which assumes independent items) meaningless.
The rank of a query is the rank of its best-scored correct item; ties with wrong items count
half (so a constant scorer gets about the chance rank, not rank 1). Chance levels use the same
rule on the same gallery.

Everything here scores arrays (latents, predicted and target expressions); running the model to
get them is models/text2expr_eval.py's job.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blendtalk.metrics.blendshape import region_errors

KS = (1, 5, 10)


def same_expression(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    """(Q, 52), (G, 52) → (Q, G) bool: no channel differs by more than `tolerance`."""
    return np.abs(a[:, None, :] - b[None, :, :]).max(-1) <= tolerance


def representatives(expr: np.ndarray, tolerance: float) -> np.ndarray:
    """Row indices of one representative per group of `expr` (N, 52): each row joins the first
    earlier representative within tolerance, or becomes one."""
    reps: list[int] = []
    for i, row in enumerate(expr):
        if not reps or np.abs(expr[reps] - row).max(1).min() > tolerance:
            reps.append(i)
    return np.asarray(reps, dtype=np.int64)


def expression_gallery(expr: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The text→expression gallery of a held-out set: the representatives' row indices (G,) and
    `correct` (N, G), True where text i's expression equals gallery item g within tolerance."""
    reps = representatives(expr, tolerance)
    return reps, same_expression(expr, expr[reps], tolerance)


def distinct_expressions(expr: np.ndarray, tolerance: float) -> int:
    """Number of groups of equal expressions (see `representatives`)."""
    return len(representatives(expr, tolerance))


def ranks(scores: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """(Q, G) scores (higher is better) and correct mask → (Q,) rank of the best correct item."""
    best = np.where(correct, scores, -np.inf).max(1, keepdims=True)
    wrong = ~correct
    return 1 + (wrong & (scores > best)).sum(1) + 0.5 * (wrong & (scores == best)).sum(1)


def chance_recall(n_correct: np.ndarray, gallery: int, k: int) -> float:
    """Mean over queries of P(a correct item in the top k) under a random ranking."""
    p_miss = np.ones(len(n_correct))
    for i in range(k):
        p_miss *= np.clip((gallery - n_correct - i) / max(gallery - i, 1), 0, 1)
    return float(np.mean(1 - p_miss))


def retrieval(scores: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """R@1/5/10, median and mean rank, and the chance R@k of the same gallery."""
    r = ranks(scores, correct)
    n_correct = correct.sum(1)
    out: dict[str, float] = {f"R@{k}": float(np.mean(r <= k)) for k in KS}
    out.update(median_rank=float(np.median(r)), mean_rank=float(np.mean(r)))
    out.update({f"chance_R@{k}": chance_recall(n_correct, correct.shape[1], k) for k in KS})
    return out


def _predicted_retrieval(pred: np.ndarray, gallery: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Text→expression retrieval of a method that predicts an expression: gallery items ranked
    by mean squared distance to the prediction."""
    return retrieval(-((pred[:, None, :] - gallery[None, :, :]) ** 2).mean(-1), correct)


def prototype_accuracy(z_train: np.ndarray, y_train: Sequence[str], z: np.ndarray,
                       y: Sequence[str]) -> float:
    """Emotion accuracy of nearest-prototype classification: each emotion's prototype is the
    normalised mean of its training latents `z_train` (M, L); queries `z` (N, L) take the emotion
    of the prototype with the highest dot product; `y` (N,) are the true emotions."""
    labels = sorted(set(y_train))
    y_train = np.asarray(y_train)
    protos = np.stack([z_train[y_train == lab].mean(0) for lab in labels])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12
    return float(np.mean(np.asarray(labels)[np.argmax(z @ protos.T, 1)] == np.asarray(y)))


def model_scores(z_text: np.ndarray, z_expr: np.ndarray, pred: np.ndarray, recon: np.ndarray,
                 expr: np.ndarray, emotions: Sequence[str], z_train_expr: np.ndarray,
                 train_emotions: Sequence[str], tolerance: float) -> dict:
    """All model metrics on a held-out set of N pairs from the model's outputs: unit latents of
    the texts `z_text` and expressions `z_expr` (N, L), the expressions decoded from them, `pred`
    (text) and `recon` (expression), (N, 52) in [0, 1], the targets `expr` (N, 52) and their
    `emotions` (N,). The training expressions' latents `z_train_expr` (M, L) and emotions (M,)
    give the emotion prototypes."""
    reps, correct = expression_gallery(expr, tolerance)
    return {
        "text_to_expression": retrieval(z_text @ z_expr[reps].T, correct),
        "expression_to_text": retrieval(z_expr @ z_text.T, same_expression(expr, expr, tolerance)),
        "text_to_expression_decoded": _predicted_retrieval(pred, expr[reps], correct),
        "cross_modal": region_errors(pred, expr),
        "reconstruction": region_errors(recon, expr),
        "cross_modal_channel_mae": np.abs(pred - expr).mean(0).tolist(),
        "emotion_accuracy": {
            "text_latent": prototype_accuracy(z_train_expr, train_emotions, z_text, emotions),
            "expression_latent": prototype_accuracy(z_train_expr, train_emotions, z_expr, emotions),
        },
    }


def expression_baselines(expr: np.ndarray, emotions: Sequence[str], train_expr: np.ndarray,
                         train_emotions: Sequence[str], tolerance: float) -> dict:
    """Baselines that predict an expression without reading the text: the training-mean
    expression, and the per-emotion training mean (an oracle: it is given the true label).
    Also the majority-emotion accuracy."""
    train_emotions = np.asarray(train_emotions)
    mean = train_expr.mean(0)
    per_emotion = {e: train_expr[train_emotions == e].mean(0) for e in set(train_emotions)}
    reps, correct = expression_gallery(expr, tolerance)
    out = {}
    for name, pred in {
        "training_mean": np.repeat(mean[None], len(expr), 0),
        "emotion_mean_oracle": np.stack([per_emotion.get(e, mean) for e in emotions]),
    }.items():
        out[name] = {"cross_modal": region_errors(pred, expr),
                     "cross_modal_channel_mae": np.abs(pred - expr).mean(0).tolist(),
                     "text_to_expression_decoded": _predicted_retrieval(pred, expr[reps], correct)}
    labels, counts = np.unique(train_emotions, return_counts=True)
    out["majority_emotion_accuracy"] = float(np.mean(np.asarray(emotions) == labels[np.argmax(counts)]))
    return out
