"""Text ↔ expression model: a contrastive joint latent space for frozen text embeddings and
ARKit-52 expressions, with a decoder from that space back to blendshapes.

Shapes: text embeddings (N, text_dim) float32 from a frozen encoder (blendtalk.text); blendshapes
(N, 52) float32 in [0, 1] (canonical ARKit order); latents (N, latent) float32 of unit L2 norm.

    expr (N,52) ──expr_encoder──► z_expr ─┐
                                          ├─ symmetric InfoNCE (learnable temperature)
    text (N,D) ──text_projector─► z_text ─┘
    decoder(z_expr) ≈ expr (reconstruction)      decoder(z_text) ≈ expr (cross-modal)

Every network is a residual MLP: Linear → `blocks` × [LayerNorm → Linear → GELU → Dropout →
Linear, + skip] → LayerNorm → Linear. The reference's two "transformers" over one token are this.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from blendtalk import seeding
from blendtalk.arkit import N_BLENDSHAPES
from blendtalk.io import atomic_path, write_json
from blendtalk.models.budget import epoch_budget
from blendtalk.models.training import EarlyStopping
from blendtalk.progress import Progress

log = logging.getLogger(__name__)

#: Sizes by preset; `reference` reproduces the published model (latent 512, hidden 1024, 8 blocks).
PRESETS: dict[str, dict[str, int]] = {
    "small": {"latent": 64, "hidden": 256, "blocks": 2},
    "reference": {"latent": 512, "hidden": 1024, "blocks": 8},
}
LOSSES = ("infonce", "positive_cosine")
MIN_PATIENCE = 5
#: Rows per chunk of the full-set validation loss: its peak is (EVAL_CHUNK, N), never (N, N).
EVAL_CHUNK = 1024


@dataclass
class ModelConfig:
    text_dim: int
    latent: int = 64
    hidden: int = 256
    blocks: int = 2
    dropout: float = 0.1
    temperature: float = 0.07  # initial InfoNCE temperature (learnable)

    @classmethod
    def from_preset(cls, text_dim: int, preset: str = "small", **overrides) -> "ModelConfig":
        """Sizes of `preset`, then any non-None `overrides` (latent, hidden, blocks, dropout, ...)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        sizes = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
        return cls(text_dim=text_dim, **sizes)


@dataclass
class TrainConfig:
    loss: str = "infonce"  # or "positive_cosine": the reference's alignment loss, for ablation
    w_contrastive: float = 1.0
    w_reconstruction: float = 1.0
    w_cross_modal: float = 1.0
    tolerance: float = 0.02  # two expressions are "the same" when no channel differs by more
    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 20  # epochs without a better validation loss before stopping
    # patience scaled to the data: at most ceil(patience_samples / training rows) epochs (at
    # least MIN_PATIENCE); None: `patience` as given (see `effective_patience`)
    patience_samples: int | None = None
    # training budget in rows seen: at most ceil(max_samples / training rows) epochs, and the
    # cosine schedule ends there; None: `epochs` as given (see `budget.epoch_budget`)
    max_samples: int | None = None
    val_subsample: int | None = 2048  # validation rows scored per epoch (a fixed seeded subset)
    seed: int = 0


# ----------------------------------------------------------------------------- the networks

class ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ResidualMLP(nn.Module):
    """(N, d_in) → (N, d_out) through `blocks` residual blocks of width `hidden`."""

    def __init__(self, d_in: int, hidden: int, d_out: int, blocks: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden),
                                 *[ResidualBlock(hidden, dropout) for _ in range(blocks)],
                                 nn.LayerNorm(hidden), nn.Linear(hidden, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Text2Expr(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.expr_encoder = ResidualMLP(N_BLENDSHAPES, cfg.hidden, cfg.latent, cfg.blocks, cfg.dropout)
        self.text_projector = ResidualMLP(cfg.text_dim, cfg.hidden, cfg.latent, cfg.blocks, cfg.dropout)
        self.decoder = ResidualMLP(cfg.latent, cfg.hidden, N_BLENDSHAPES, cfg.blocks, cfg.dropout)
        # CLIP's parametrisation: logits are scaled by exp(logit_scale) = 1 / temperature.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)))

    def encode_expr(self, expr: torch.Tensor) -> torch.Tensor:
        """(N, 52) blendshapes → (N, latent) unit vectors."""
        return F.normalize(self.expr_encoder(expr), dim=-1)

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """(N, text_dim) frozen text embeddings → (N, latent) unit vectors."""
        return F.normalize(self.text_projector(text), dim=-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent) → (N, 52) blendshapes, bounded to [0, 1] by a sigmoid."""
        return torch.sigmoid(self.decoder(z))

    def temperature(self) -> float:
        return float(torch.exp(-self.logit_scale.detach()))

    @torch.no_grad()
    def predict(self, text: torch.Tensor) -> torch.Tensor:
        """Text embeddings (N, text_dim) → expressions (N, 52) in [0, 1] (eval mode)."""
        self.eval()
        return self.decode(self.encode_text(text))


# ----------------------------------------------------------------------------- the losses

def same_expression(expr: torch.Tensor, tolerance: float) -> torch.Tensor:
    """(N, 52) → (N, N) bool: True where two rows differ by at most `tolerance` in every channel.
    (N, N, 52) in memory: for a batch only; training and validation use expression ids."""
    return (expr[:, None, :] - expr[None, :, :]).abs().amax(-1) <= tolerance


def expression_ids(expr: np.ndarray, tolerance: float) -> np.ndarray:
    """(N,) int64 group of each expression of `expr` (N, 52): rows in one group are the same
    expression (each row joins the first earlier representative within tolerance; see
    `blendtalk.metrics.text2expr.expression_ids`). Positives are pairs with equal ids."""
    from blendtalk.metrics.text2expr import expression_ids as groups

    return groups(np.asarray(expr, dtype=np.float32), tolerance)[0]


def same_id(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """(N,), (M,) expression ids → (N, M) bool positives (`b` defaults to `a`)."""
    return a[:, None] == (a if b is None else b)[None, :]


def info_nce(z_text: torch.Tensor, z_expr: torch.Tensor, logit_scale: torch.Tensor,
             positives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over the (N, N) similarity matrix of unit latents, scaled by
    exp(logit_scale) (clamped at 100 as in CLIP). `positives` (N, N) bool (symmetric, True on the
    diagonal) marks pairs that share an expression within tolerance: the target distribution of
    each row is uniform over them, so near-duplicate expressions in a batch are not treated as
    negatives (for exact duplicates this equals the diagonal target). Default: the diagonal."""
    logits = logit_scale.clamp(max=math.log(100.0)).exp() * z_text @ z_expr.T
    if positives is None:
        positives = torch.eye(len(z_text), dtype=torch.bool, device=z_text.device)
    target = positives.float() / positives.sum(1, keepdim=True)
    loss_t2e = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_e2t = -(target.T * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return (loss_t2e + loss_e2t) / 2


def positive_cosine(z_text: torch.Tensor, z_expr: torch.Tensor) -> torch.Tensor:
    """The reference's alignment loss: 1 - cos(text, expr) of positive pairs only (no negatives)."""
    return (1 - F.cosine_similarity(z_text, z_expr, dim=-1)).mean()


def info_nce_chunked(z_text: torch.Tensor, z_expr: torch.Tensor, logit_scale: torch.Tensor,
                     ids: torch.Tensor, chunk: int = EVAL_CHUNK) -> torch.Tensor:
    """`info_nce` with positives `same_id(ids)` over all N pairs, computed `chunk` rows at a
    time: the same value (up to float summation order) with a peak of (chunk, N), not (N, N).
    For evaluation (no_grad) of sets too large for one similarity matrix."""
    scale = logit_scale.clamp(max=math.log(100.0)).exp()
    counts = torch.bincount(ids)[ids].to(z_text.dtype)  # positives per row (symmetric)
    total = z_text.new_zeros(())
    for a, b in ((z_text, z_expr), (z_expr, z_text)):
        for start in range(0, len(a), chunk):
            rows = slice(start, start + chunk)
            logp = F.log_softmax(scale * a[rows] @ b.T, dim=1)
            pos = same_id(ids[rows], ids)
            # row i of the target is uniform over i's positives (the e2t target is its transpose;
            # positives are symmetric and share their counts, so it is the same form)
            total = total - (torch.where(pos, logp, 0.0).sum(1) / counts[rows]).sum()
    return total / (2 * len(z_text))


def losses(model: Text2Expr, text: torch.Tensor, expr: torch.Tensor, cfg: TrainConfig,
           ids: torch.Tensor | None = None, chunk: int | None = None) -> dict[str, torch.Tensor]:
    """All loss terms of one batch (text (N, D), expr (N, 52)) and their weighted `total`.
    `ids` (N,): expression ids (`expression_ids`), whose equal pairs are the InfoNCE positives;
    None: positives by `same_expression` within `cfg.tolerance` (an (N, N, 52) comparison, for
    small batches). `chunk`: compute the InfoNCE term `chunk` rows at a time (needs `ids`)."""
    z_text, z_expr = model.encode_text(text), model.encode_expr(expr)
    if cfg.loss == "infonce":
        if chunk is not None and ids is not None:
            contrastive = info_nce_chunked(z_text, z_expr, model.logit_scale, ids, chunk)
        else:
            positives = same_id(ids) if ids is not None else same_expression(expr, cfg.tolerance)
            contrastive = info_nce(z_text, z_expr, model.logit_scale, positives)
    elif cfg.loss == "positive_cosine":
        contrastive = positive_cosine(z_text, z_expr)
    else:
        raise ValueError(f"unknown loss {cfg.loss!r}; choose from {LOSSES}")
    # both latents through the decoder in one pass: half the (overhead-bound) small ops
    decoded_expr, decoded_text = model.decode(torch.cat([z_expr, z_text])).split(len(expr))
    reconstruction = F.mse_loss(decoded_expr, expr)
    cross_modal = F.mse_loss(decoded_text, expr)
    total = (cfg.w_contrastive * contrastive + cfg.w_reconstruction * reconstruction
             + cfg.w_cross_modal * cross_modal)
    return {"total": total, "contrastive": contrastive, "reconstruction": reconstruction,
            "cross_modal": cross_modal}


# ----------------------------------------------------------------------------- training

@dataclass
class PairData:
    """Training pairs: expressions `expr` (N, 52) and, per row, `choices` (N, K) indices into the
    embedding table `text` (M, D): the row's text views and augmented variants. Each step draws
    one of the K uniformly per row; evaluation sets use K = 1."""
    expr: np.ndarray
    text: np.ndarray
    choices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.choices is None:
            self.choices = np.arange(len(self.expr))[:, None]
        self.choices = np.asarray(self.choices, dtype=np.int64).reshape(len(self.expr), -1)


@torch.no_grad()
def evaluate_loss(model: Text2Expr, data: PairData, cfg: TrainConfig,
                  ids: np.ndarray | None = None, chunk: int = EVAL_CHUNK) -> dict[str, float]:
    """Loss terms on a whole set (first choice of each row), in eval mode: the InfoNCE term over
    all pairs of the set (as one batch), computed `chunk` rows at a time, so memory is linear in
    the set's size. `ids`: the rows' expression ids (computed from `cfg.tolerance` if None)."""
    model.eval()
    if ids is None:
        ids = expression_ids(data.expr, cfg.tolerance)
    text = torch.from_numpy(data.text[data.choices[:, 0]])
    terms = losses(model, text, torch.tensor(data.expr), cfg,  # a copy: may be a read-only view
                   ids=torch.from_numpy(np.asarray(ids, dtype=np.int64)), chunk=chunk)
    return {k: float(v) for k, v in terms.items()}


def effective_patience(cfg: TrainConfig, n_train: int) -> int:
    """Epochs without improvement before stopping: `cfg.patience`, capped by
    ceil(patience_samples / n_train) (at least MIN_PATIENCE) when `patience_samples` is set, so
    a large set (many steps per epoch) does not train dozens of epochs past its best."""
    if not cfg.patience_samples:
        return cfg.patience
    return min(cfg.patience, max(MIN_PATIENCE, math.ceil(cfg.patience_samples / max(n_train, 1))))


def validation_subset(data: PairData, cfg: TrainConfig) -> PairData:
    """The rows scored every epoch: all of `data`, or a fixed seeded subset of `cfg.val_subsample`
    rows (in their order) when it has more."""
    n = len(data.expr)
    if not cfg.val_subsample or n <= cfg.val_subsample:
        return data
    keep = np.sort(seeding.rng(cfg.seed + 1).choice(n, size=cfg.val_subsample, replace=False))
    return PairData(expr=data.expr[keep], text=data.text, choices=data.choices[keep])


def optimizer(model: Text2Expr, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over all parameters, fused (one kernel per parameter: on CPU a step of the small
    model is about 1.3x faster than with the per-op loop)."""
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                             fused=True)


def train_epoch(model: Text2Expr, opt: torch.optim.Optimizer,
                sched: torch.optim.lr_scheduler.LRScheduler, expr: torch.Tensor,
                text: torch.Tensor, choices: np.ndarray, rng: np.random.Generator,
                cfg: TrainConfig, ids: torch.Tensor | None = None) -> dict[str, float]:
    """One epoch in training mode over the rows of `expr` (N, 52) in a random order, in batches of
    `cfg.batch_size`; each row is shown as one of its `choices` (N, K) into `text` (M, D), drawn
    uniformly; `ids` (N,): the rows' expression ids (the in-batch positives; None: by tolerance).
    Returns the loss terms averaged over the rows."""
    model.train()
    order = rng.permutation(len(expr))
    pick = choices[np.arange(len(order)), rng.integers(choices.shape[1], size=len(order))]
    sums: dict[str, float] = {}
    for start in range(0, len(order), cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        terms = losses(model, text[pick[idx]], expr[idx], cfg,
                       ids=None if ids is None else ids[idx])
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        sched.step()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.item() * len(idx)
    return {k: v / len(order) for k, v in sums.items()}


def train(model: Text2Expr, train_data: PairData, val_data: PairData, cfg: TrainConfig
          ) -> pd.DataFrame:
    """Train with AdamW and a cosine learning-rate schedule over `epoch_budget` epochs; stop
    there, or earlier when the validation loss (on `validation_subset` of `val_data`, in chunks)
    has not improved for `effective_patience` epochs; load the best epoch's weights back into
    `model`. Positives are pairs of equal expression ids (`expression_ids`, computed once per set).
    Returns the history: one row per epoch with train and val loss terms, lr and temperature.
    Progress (epochs done of the budget, with the latest and best val loss) goes to the log."""
    seeding.seed_torch(cfg.seed)
    rng = seeding.rng(cfg.seed)
    opt = optimizer(model, cfg)
    epochs = epoch_budget(cfg.epochs, cfg.max_samples, len(train_data.expr))
    steps_per_epoch = math.ceil(len(train_data.expr) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    expr_all = torch.tensor(train_data.expr)  # a copy: the arrays may be read-only views
    text_all = torch.tensor(train_data.text)
    train_ids = torch.from_numpy(expression_ids(train_data.expr, cfg.tolerance))
    val_data = validation_subset(val_data, cfg)
    val_ids = expression_ids(val_data.expr, cfg.tolerance)
    patience = effective_patience(cfg, len(train_data.expr))
    log.info("%d training rows, %d validation rows per epoch, at most %d epochs, patience %d",
             len(train_data.expr), len(val_data.expr), epochs, patience)
    stopper, rows = EarlyStopping(model, patience, min_delta=1e-6), []
    label = f"train text2expr ({cfg.loss})"
    with Progress(epochs, label, unit="epochs", logger=log) as progress:
        for epoch in range(epochs):
            t0 = time.perf_counter()
            terms = train_epoch(model, opt, sched, expr_all, text_all, train_data.choices, rng, cfg,
                                train_ids)
            val = evaluate_loss(model, val_data, cfg, val_ids)
            rows.append({"epoch": epoch, **{f"train_{k}": v for k, v in terms.items()},
                         **{f"val_{k}": v for k, v in val.items()}, "lr": sched.get_last_lr()[0],
                         "temperature": model.temperature(), "seconds": time.perf_counter() - t0})
            stop = stopper.step(epoch, val["total"])
            progress.update(note=f"val {val['total']:.4f} (best {stopper.best:.4f})")
            if stop:
                break
    return stopper.finish(rows, "val_total")


# ----------------------------------------------------------------------------- checkpoints

def save_model(model: Text2Expr, directory: str | Path, extra: dict | None = None) -> None:
    """Write `model.safetensors` and `config.json` (model sizes plus `extra`, e.g. the encoder)."""
    directory = Path(directory)
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    write_json({"model": asdict(model.cfg), **(extra or {})}, directory / "config.json")


def load_model(directory: str | Path) -> tuple[Text2Expr, dict]:
    """Rebuild the model from `config.json` and `model.safetensors` (no pickle); eval mode."""
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    model = Text2Expr(ModelConfig(**config["model"]))
    model.load_state_dict(load_file(str(directory / "model.safetensors")))
    return model.eval(), config


def load_with_encoder(directory: str | Path):
    """The model saved in `directory` (eval mode) and the frozen text encoder its config names.
    FileNotFoundError when there is no model."""
    from blendtalk.text import make_encoder

    directory = Path(directory)
    if not (directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"no trained text2expr model in {directory} (build it with "
                                "`snakemake --cores 2 results/models/text2expr/model.safetensors`)")
    model, config = load_model(directory)
    enc = config["encoder"]
    return model, make_encoder(enc["kind"], enc.get("model"), enc.get("pretrained"),
                               precision=enc.get("precision", "fp32"))


def predict_texts(directory: str | Path, texts: Sequence[str]) -> np.ndarray:
    """`(N, 52)` float32 expressions in [0, 1] of `texts` by the model saved in `directory`."""
    model, encoder = load_with_encoder(directory)
    return model.predict(torch.from_numpy(encoder.encode(list(texts)))).numpy().astype(np.float32)
