"""Evaluation of a trained text ↔ expression model: run it on a held-out set and score its
latents and decoded expressions with `blendtalk.metrics.text2expr` (which sees arrays only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from blendtalk.metrics.text2expr import model_scores
from blendtalk.models.text2expr import Text2Expr


@torch.no_grad()
def latents(model: Text2Expr, text: np.ndarray, expr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit latents (N, latent) of text embeddings (N, D) and expressions (N, 52), in eval mode."""
    model.eval()
    # copies (torch.tensor): the arrays may be read-only views of a table
    return (model.encode_text(torch.tensor(text)).numpy(),
            model.encode_expr(torch.tensor(expr)).numpy())


@torch.no_grad()
def evaluate_model(model: Text2Expr, text: np.ndarray, expr: np.ndarray, emotions: Sequence[str],
                   train_text: np.ndarray, train_expr: np.ndarray, train_emotions: Sequence[str],
                   tolerance: float) -> dict:
    """All model metrics on a held-out set: text (N, D) embeddings, expr (N, 52), emotions (N,),
    plus the learned temperature. The training set gives the emotion prototypes (mean expression
    latent per emotion); see `metrics.text2expr.model_scores`."""
    z_text, z_expr = latents(model, text, expr)
    z_train_expr = latents(model, train_text, train_expr)[1]
    pred = model.decode(torch.from_numpy(z_text)).numpy()
    recon = model.decode(torch.from_numpy(z_expr)).numpy()
    scores = model_scores(z_text, z_expr, pred, recon, expr, emotions, z_train_expr, train_emotions,
                          tolerance)
    return {**scores, "temperature": model.temperature()}
