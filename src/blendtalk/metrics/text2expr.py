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

Memory is linear in the number of rows: queries are scored against a gallery in chunks (at most
about `CELLS` (query, gallery) cells, or (query, gallery, channel) cells where a distance needs
all 52 channels, at a time), and the tolerance rule is evaluated between *unique* expression
vectors, channel by channel, never as an (N, N, 52) array.

Everything here scores arrays (latents, predicted and target expressions); running the model to
get them is models/text2expr_eval.py's job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from blendtalk.metrics.blendshape import region_errors

KS = (1, 5, 10)
#: Cells of one chunk: queries per chunk = max(1, CELLS // gallery size) (× 52 for distances).
CELLS = 1 << 22


def same_expression(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    """(Q, 52), (G, 52) → (Q, G) bool: no channel differs by more than `tolerance`. Built one
    channel at a time (a running maximum: exact), so the peak is (Q, G), not (Q, G, 52)."""
    a, b = np.asarray(a), np.asarray(b)
    worst = np.zeros((len(a), len(b)), dtype=np.result_type(a, b, np.float32))
    for c in range(a.shape[1]):
        np.maximum(worst, np.abs(a[:, c, None] - b[None, :, c]), out=worst)
    return worst <= tolerance


def _unique_rows(expr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `expr` (N, 52) in order of first occurrence: their row indices (U,)
    and `inverse` (N,), the position in that list of each row's vector."""
    _, first, inverse = np.unique(np.ascontiguousarray(expr), axis=0, return_index=True,
                                  return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[inverse.reshape(-1)].astype(np.int64)


def expression_ids(expr: np.ndarray, tolerance: float, block: int = 256
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Group the rows of `expr` (N, 52): each row joins the first earlier representative within
    tolerance, or becomes one. Returns `ids` (N,) int64, each row's group, and `reps` (G,), the
    representatives' row indices (ascending; group g is represented by row reps[g]).

    Exact duplicates are collapsed first (so the greedy pass runs over the U distinct vectors, not
    the N rows), and the pass is blocked: a block of vectors is compared with the representatives
    so far in one (block, G) comparison, only the unmatched ones are settled one by one."""
    expr = np.asarray(expr)
    if len(expr) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first, inverse = _unique_rows(expr)
    uniq = expr[first]
    group = np.empty(len(uniq), np.int64)  # group of each distinct vector
    reps: list[int] = []  # indices into uniq
    rep_vecs = np.empty((0, expr.shape[1]), expr.dtype)
    for start in range(0, len(uniq), block):
        vecs = uniq[start:start + block]
        hit = same_expression(vecs, rep_vecs, tolerance) if len(rep_vecs) else \
            np.zeros((len(vecs), 0), bool)
        new: list[int] = []  # indices into uniq of this block's new representatives
        for j in range(len(vecs)):
            if hit.shape[1] and hit[j].any():
                group[start + j] = int(np.argmax(hit[j]))
                continue
            if new:
                near = np.abs(uniq[new] - vecs[j]).max(1) <= tolerance
                if near.any():
                    group[start + j] = len(reps) + int(np.argmax(near))
                    continue
            group[start + j] = len(reps) + len(new)
            new.append(start + j)
        reps += new
        rep_vecs = uniq[reps]
    return group[inverse], first[np.asarray(reps, np.int64)]


def representatives(expr: np.ndarray, tolerance: float) -> np.ndarray:
    """Row indices of one representative per group of `expr` (N, 52): each row joins the first
    earlier representative within tolerance, or becomes one (see `expression_ids`)."""
    return expression_ids(expr, tolerance)[1]


class Gallery:
    """The tolerance rule between queries and a gallery of expressions, evaluated between distinct
    vectors: `correct(rows)` is the (len(rows), G) bool mask of query rows `rows` of `query_expr`
    (Q, 52) against `gallery_expr` (G, 52)."""

    def __init__(self, query_expr: np.ndarray, gallery_expr: np.ndarray, tolerance: float) -> None:
        self.query_expr, self.tolerance = np.asarray(query_expr), tolerance
        g_first, self.g_inverse = _unique_rows(np.asarray(gallery_expr))
        self.g_unique = np.asarray(gallery_expr)[g_first]
        self.size = len(gallery_expr)

    def correct(self, rows: slice) -> np.ndarray:
        return same_expression(self.query_expr[rows], self.g_unique, self.tolerance)[:, self.g_inverse]


def expression_gallery(expr: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The text→expression gallery of a held-out set: the representatives' row indices (G,) and
    `correct` (N, G), True where text i's expression equals gallery item g within tolerance.
    (N, G) in memory: the metrics below use `Gallery` chunk by chunk instead."""
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


def _summary(r: np.ndarray, n_correct: np.ndarray, gallery: int) -> dict[str, float]:
    out: dict[str, float] = {f"R@{k}": float(np.mean(r <= k)) for k in KS}
    out.update(median_rank=float(np.median(r)), mean_rank=float(np.mean(r)))
    out.update({f"chance_R@{k}": chance_recall(n_correct, gallery, k) for k in KS})
    return out


def retrieval(scores: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """R@1/5/10, median and mean rank, and the chance R@k of the same gallery."""
    return _summary(ranks(scores, correct), correct.sum(1), correct.shape[1])


def chunked_retrieval(scores: Callable[[slice], np.ndarray], gallery: Gallery, n_queries: int,
                      cells: int = CELLS) -> dict[str, float]:
    """`retrieval` of `n_queries` queries, `scores(rows)` (len(rows), G) and the correct mask
    made chunk by chunk of queries: the peak is (chunk, G), linear in the sizes."""
    chunk = max(1, cells // max(gallery.size, 1))
    r, n_correct = [], []
    for start in range(0, n_queries, chunk):
        rows = slice(start, min(start + chunk, n_queries))
        correct = gallery.correct(rows)
        r.append(ranks(scores(rows), correct))
        n_correct.append(correct.sum(1))
    if not r:
        return _summary(np.zeros(0), np.zeros(0), gallery.size)
    return _summary(np.concatenate(r), np.concatenate(n_correct), gallery.size)


def _latent_retrieval(z_query: np.ndarray, z_gallery: np.ndarray, gallery: Gallery) -> dict[str, float]:
    """Retrieval by dot product of latents, chunk by chunk of queries."""
    return chunked_retrieval(lambda rows: z_query[rows] @ z_gallery.T, gallery, len(z_query))


def _predicted_retrieval(pred: np.ndarray, gallery_expr: np.ndarray, gallery: Gallery) -> dict[str, float]:
    """Text→expression retrieval of a method that predicts an expression: gallery items ranked
    by mean squared distance to the prediction (exactly, in chunks of (chunk, G, 52))."""
    def scores(rows: slice) -> np.ndarray:
        return -((pred[rows][:, None, :] - gallery_expr[None, :, :]) ** 2).mean(-1)

    return chunked_retrieval(scores, gallery, len(pred), cells=CELLS // gallery_expr.shape[1])


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
    reps = representatives(expr, tolerance)
    to_reps = Gallery(expr, expr[reps], tolerance)
    return {
        "text_to_expression": _latent_retrieval(z_text, z_expr[reps], to_reps),
        "expression_to_text": _latent_retrieval(z_expr, z_text, Gallery(expr, expr, tolerance)),
        "text_to_expression_decoded": _predicted_retrieval(pred, expr[reps], to_reps),
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
    reps = representatives(expr, tolerance)
    to_reps = Gallery(expr, expr[reps], tolerance)
    out = {}
    for name, pred in {
        "training_mean": np.repeat(mean[None], len(expr), 0),
        "emotion_mean_oracle": np.stack([per_emotion.get(e, mean) for e in emotions]),
    }.items():
        out[name] = {"cross_modal": region_errors(pred, expr),
                     "cross_modal_channel_mae": np.abs(pred - expr).mean(0).tolist(),
                     "text_to_expression_decoded": _predicted_retrieval(pred, expr[reps], to_reps)}
    labels, counts = np.unique(train_emotions, return_counts=True)
    out["majority_emotion_accuracy"] = float(np.mean(np.asarray(emotions) == labels[np.argmax(counts)]))
    return out
