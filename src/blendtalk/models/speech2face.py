"""speech2face: audio features → ARKit-52 curves at 30 fps, with text-controlled expressivity.

Shapes and units: features (T, in_dim) float32 at 30 fps from a `blendtalk.speech.encoders`
encoder (16 kHz mono audio in); style latents (style_dim,) float32, unit L2 norm (text2expr's
text latent of the style text, e.g. "furious, shouting"); curves (T, 52) float32 in [0, 1], canonical
ARKit order (`blendtalk.arkit.ARKIT_NAMES`).

    features (B,T,D) ─ normalise (train-set mean/std) ─ Linear ─ conv_layers × [LN → Conv1d(k) → GELU, + skip]
                                                                    │
                  style (B,S) or the learned "no style" vector ─ MLP ─ FiLM(γ_l, β_l) per layer
                                                                    ▼
                 layers × [pre-LN self-attention with a biased local mask, FiLM, pre-LN MLP, FiLM]
                                                                    ▼
                                        LN ─ Linear ─ sigmoid ─► (B, T, 52)
    style head: mean over time of the conv states ─ MLP ─ unit vector ≈ the style's text latent

* Attention bias (FaceFormer's ALiBi-style biased mask, made non-autoregressive): head h adds
  −m_h·|i − j| to the logits (m_h = 2^(−8h/H)/window, geometric slopes as in ALiBi) and masks
  keys farther than ``attn_window`` frames. There is no absolute position: the model is
  translation-equivariant, and its receptive field is bounded (conv_layers·(kernel−1)/2 +
  layers·attn_window frames each side; `receptive_field`), which makes `predict_long` seam-free.
* FiLM (Perez et al. 2018): each layer's residual stream is scaled and shifted per channel by
  (1 + γ_l(s), β_l(s)) after its attention and MLP; γ, β start at 0 (the unconditioned model).
* Style dropout: while training, each sample's style is replaced by the learned "no style"
  vector with probability ``style_dropout``, so `predict(..., style=None)` works.
* Style head (``style="auto"``): infers the style latent from the voice (mean-pooled conv states,
  which see only the audio), trained by cosine distance to the style's text latent.

Losses (`losses`): masked MSE with weight ``w_mouth`` on the jaw and mouth channels (the
lip-sync), + ``w_closure`` extra on those channels at closure frames — frames where the target's
lips are shut: mouthClose cancels jawOpen (jawOpen − mouthClose < 0.02) and the lips are held
closed (mouthClose > 0.02 or mouthPress > 0.2; the procedural animator reaches exactly this on
/p b m/, so no alignment is needed; a relaxed neutral mouth is not a closure) — + ``w_velocity``
× MSE of first differences + ``w_style`` × style-head cosine distance + ``w_expr`` × expression
faithfulness: 1 − cos(expr_encoder(mean predicted face over the window), style latent) on the
samples that carry a style, ``expr_encoder`` being text2expr's frozen expression encoder (any
callable (N, 52) → (N, S) unit vectors; None: term off).

Training (`train`): AdamW, one-cycle cosine schedule, random fixed-length windows per epoch
(seeded by `blendtalk.seeding`), validation on whole clips, early stopping on the validation
``face`` loss (weighted MSE + velocity; best epoch's weights kept), progress per epoch through `blendtalk.progress.Progress`. Checkpoints:
`save_model` writes model.safetensors + config.json (+ history.csv) atomically; `load_model`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from blendtalk import seeding
from blendtalk.arkit import INDEX, N_BLENDSHAPES, REGIONS
from blendtalk.io import atomic_path, write_json
from blendtalk.models.training import EarlyStopping
from blendtalk.progress import Progress

log = logging.getLogger(__name__)

#: Channels weighted by `w_mouth`: the jaw and mouth regions (lip-sync).
MOUTH_CHANNELS: tuple[int, ...] = REGIONS["jaw"] + REGIONS["mouth"]
JAW, CLOSE = INDEX["jawOpen"], INDEX["mouthClose"]
PRESS = [INDEX["mouthPressLeft"], INDEX["mouthPressRight"]]


@dataclass
class Speech2FaceConfig:
    """Sizes of the network (`model.*` of the config)."""

    in_dim: int                 # feature dimension of the audio encoder
    style_dim: int = 64         # text2expr latent size
    d_model: int = 96           # width of the temporal encoder
    conv_layers: int = 2        # residual 1-D convolution blocks before attention
    kernel: int = 5             # their kernel (frames)
    layers: int = 2             # transformer layers, each FiLM-conditioned on the style
    heads: int = 4
    ff: int = 192               # hidden width of each layer's MLP
    attn_window: int = 12       # frames each side a query may attend to (0.4 s at 30 fps)
    dropout: float = 0.1
    style_dropout: float = 0.2  # share of training windows shown the learned "no style" vector
    style_hidden: int = 64      # hidden width of the style-from-voice head
    out_dim: int = N_BLENDSHAPES


@dataclass
class TrainConfig:
    """Training (`train.*` of the config); the `w_*` are the loss weights of the module doc."""

    epochs: int = 150
    batch_size: int = 16        # windows per step
    window: int = 90            # training window (frames; 3 s)
    windows_per_clip: int = 4   # random windows drawn from each clip per epoch
    lr: float = 2e-3            # peak of the one-cycle schedule
    weight_decay: float = 0.01
    patience: int = 25          # epochs without a better validation face loss
    w_mouth: float = 4.0        # on the jaw and mouth channels
    w_closure: float = 30.0     # more on them at the target's closure frames (2–3 frame events)
    w_velocity: float = 0.2     # first differences
    w_style: float = 0.1        # style-from-voice head
    w_expr: float = 0.05        # expression faithfulness through text2expr
    seed: int = 0


@dataclass
class Clip:
    """One utterance as arrays: ``features`` (T, D) float32 at 30 fps, ``target`` (T, 52) float32
    in [0, 1] (None for inference-only clips), ``style`` (S,) unit latent or None (no style)."""
    features: np.ndarray
    target: np.ndarray | None = None
    style: np.ndarray | None = None
    utt_id: str = ""
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- the network

def alibi_bias(T: int, heads: int, window: int, device=None) -> torch.Tensor:
    """(heads, T, T) float additive attention bias: −m_h·|i − j| inside ``window`` frames,
    −1e9 (finite, so a fully masked row never gives NaN) outside."""
    pos = torch.arange(T, device=device)
    dist = (pos[None, :] - pos[:, None]).abs().float()
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)], device=device)
    bias = -slopes[:, None, None] * dist[None] * (8.0 / max(window, 1))
    return bias.masked_fill(dist[None] > window, -1e9)


class ConvBlock(nn.Module):
    def __init__(self, d: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        y = self.conv((self.norm(x) * keep).transpose(1, 2)).transpose(1, 2)
        return x + self.drop(F.gelu(y))


class Layer(nn.Module):
    """Pre-LN transformer layer with FiLM after the attention and after the MLP."""

    def __init__(self, cfg: Speech2FaceConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.heads = cfg.heads
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.ff), nn.GELU(), nn.Linear(cfg.ff, d))
        self.drop = nn.Dropout(cfg.dropout)
        self.film = nn.Linear(cfg.style_hidden, 4 * d)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.p = cfg.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        g1, b1, g2, b2 = self.film(s)[:, None, :].chunk(4, dim=-1)
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.p if self.training else 0.0)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(B, T, d)))
        x = x * (1 + g1) + b1
        x = x + self.drop(self.mlp(self.norm2(x)))
        return x * (1 + g2) + b2


class Speech2Face(nn.Module):
    def __init__(self, cfg: Speech2FaceConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.register_buffer("feat_mean", torch.zeros(cfg.in_dim))
        self.register_buffer("feat_std", torch.ones(cfg.in_dim))
        self.inp = nn.Linear(cfg.in_dim, d)
        self.convs = nn.ModuleList(ConvBlock(d, cfg.kernel, cfg.dropout) for _ in range(cfg.conv_layers))
        self.null_style = nn.Parameter(torch.randn(cfg.style_dim) / math.sqrt(cfg.style_dim))
        self.style_mlp = nn.Sequential(nn.Linear(cfg.style_dim, cfg.style_hidden), nn.GELU(),
                                       nn.Linear(cfg.style_hidden, cfg.style_hidden))
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.layers))
        self.out_norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.out_dim)
        self.style_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(),
                                        nn.Linear(d, cfg.style_dim))

    @property
    def receptive_field(self) -> int:
        """Frames each side of a frame that can influence its output."""
        return self.cfg.conv_layers * (self.cfg.kernel // 2) + self.cfg.layers * self.cfg.attn_window

    def _audio_states(self, feats: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = self.inp((feats - self.feat_mean) / self.feat_std) * keep
        for conv in self.convs:
            x = conv(x, keep)
        return x

    def style_from_voice(self, states: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Mean-pooled audio states (B, T, d) over valid frames → (B, style_dim) unit vectors."""
        pooled = (states * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return F.normalize(self.style_head(pooled), dim=-1)

    def forward(self, feats: torch.Tensor, style: torch.Tensor | None = None,
                has_style: torch.Tensor | None = None, valid: torch.Tensor | None = None,
                auto_style: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """feats (B, T, in_dim); style (B, style_dim) or None; has_style (B,) bool (False: the
        "no style" vector); valid (B, T) bool frame mask (None: all). ``auto_style`` uses the
        style head's latent as the style. Returns (curves (B, T, 52) in [0, 1], the style head's
        latent (B, style_dim))."""
        B, T, _ = feats.shape
        valid = torch.ones(B, T, dtype=torch.bool, device=feats.device) if valid is None else valid
        keep = valid[..., None].to(feats.dtype)
        x = self._audio_states(feats, keep)
        voice_style = self.style_from_voice(x, keep)
        if auto_style:
            style, has_style = voice_style.detach(), None
        if style is None:
            style = self.null_style.expand(B, -1)
        elif has_style is not None:
            style = torch.where(has_style[:, None], style, self.null_style.expand(B, -1))
        s = self.style_mlp(style)
        mask = alibi_bias(T, self.cfg.heads, self.cfg.attn_window, feats.device)[None]
        mask = mask + torch.where(valid, 0.0, -1e9)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask, s)
        return torch.sigmoid(self.out(self.out_norm(x))), voice_style

    # ------------------------------------------------------------------------- inference

    def _style_tensor(self, style, n: int = 1) -> tuple[torch.Tensor | None, bool]:
        if style is None:
            return None, False
        if isinstance(style, str):
            if style != "auto":
                raise ValueError(f"style must be a latent, 'auto' or None, got {style!r}")
            return None, True
        s = torch.as_tensor(np.asarray(style, np.float32)).reshape(1, -1)
        if s.shape[1] != self.cfg.style_dim:
            raise ValueError(f"style latent must be ({self.cfg.style_dim},), got {tuple(s.shape)}")
        return s.expand(n, -1).to(self.feat_mean.device), False

    @torch.inference_mode()
    def predict(self, features: np.ndarray, style=None) -> np.ndarray:
        """One clip in one pass: features (T, in_dim) → curves (T, 52) float32 in [0, 1].
        ``style``: a (style_dim,) latent, ``"auto"`` (inferred from the voice) or None."""
        self.eval()
        x = torch.as_tensor(np.asarray(features, np.float32))[None].to(self.feat_mean.device)
        s, auto = self._style_tensor(style)
        return self(x, s, auto_style=auto)[0][0].cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def infer_style(self, features: np.ndarray) -> np.ndarray:
        """The style latent (style_dim,) heard in the voice of features (T, in_dim)."""
        self.eval()
        x = torch.as_tensor(np.asarray(features, np.float32))[None].to(self.feat_mean.device)
        keep = torch.ones(1, x.shape[1], 1, device=x.device)
        return self.style_from_voice(self._audio_states(x, keep), keep)[0].cpu().numpy()

    @torch.inference_mode()
    def predict_long(self, features: np.ndarray, style=None, window: int = 300,
                     overlap: int = 90) -> np.ndarray:
        """Any length: features (T, in_dim) → curves (T, 52) float32, in windows of ``window``
        frames every ``window − overlap`` frames, crossfaded linearly over each overlap. The
        model's memory is that of one window (attention is O(window²)); the output array is the
        only O(T) allocation. With ``overlap`` ≥ 2 × `receptive_field` every crossfaded frame has
        its full context in both windows, so there is no seam. ``style="auto"`` infers the
        style per window (it may change over a long recording; the crossfade blends it)."""
        self.eval()
        features = np.asarray(features, np.float32)
        T = len(features)
        if T <= window:
            return self.predict(features, style)
        if not 0 <= overlap < window:
            raise ValueError(f"overlap must be in [0, window), got {overlap} with window {window}")
        hop = window - overlap
        starts = list(range(0, T - window, hop)) + [T - window]
        out = np.zeros((T, self.cfg.out_dim), np.float32)
        weight = np.zeros((T, 1), np.float32)
        ramp = np.ones(window, np.float32)
        if overlap:
            r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
            ramp[:overlap], ramp[-overlap:] = r, r[::-1]
        for k, s in enumerate(starts):
            w = ramp.copy()
            if k == 0:
                w[:overlap] = 1.0
            if k == len(starts) - 1 and overlap:
                w[-overlap:] = 1.0
            out[s:s + window] += w[:, None] * self.predict(features[s:s + window], style)
            weight[s:s + window] += w[:, None]
        return out / np.maximum(weight, 1e-8)


# ----------------------------------------------------------------------------- losses

def closure_frames(target: torch.Tensor) -> torch.Tensor:
    """(B, T, 52) targets → (B, T) bool: the lips held shut (module doc)."""
    jaw, close = target[..., JAW], target[..., CLOSE]
    held = (close > 0.02) | (target[..., PRESS].mean(-1) > 0.2)
    return (jaw - close < 0.02) & held


def losses(model: Speech2Face, feats: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
           style: torch.Tensor, has_style: torch.Tensor, cfg: TrainConfig,
           expr_encoder: Callable[[torch.Tensor], torch.Tensor] | None = None,
           style_input: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """All loss terms of one batch and their weighted ``total``: feats (B, T, D), target (B, T, 52),
    valid (B, T) bool, style (B, S) latents, has_style (B,) bool (the clip has a style);
    ``style_input`` (B,) bool: which samples are shown their style (default has_style; training
    passes has_style minus the dropped ones)."""
    shown = has_style if style_input is None else style_input
    pred, voice = model(feats, style, shown, valid)
    m = valid[..., None].to(pred.dtype)
    n = m.sum().clamp(min=1.0)
    w = torch.ones(N_BLENDSHAPES, device=pred.device)
    w[list(MOUTH_CHANNELS)] = cfg.w_mouth
    cw = torch.zeros(N_BLENDSHAPES, device=pred.device)
    cw[list(MOUTH_CHANNELS)] = cfg.w_closure
    weights = w + closure_frames(target)[..., None].to(pred.dtype) * cw
    err = (pred - target) ** 2
    mse = (err * weights * m).sum() / (n * N_BLENDSHAPES)
    plain = (err * m).sum() / (n * N_BLENDSHAPES)
    vm = (valid[:, 1:] & valid[:, :-1])[..., None].to(pred.dtype)
    dv = (pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])
    velocity = (dv ** 2 * vm).sum() / (vm.sum().clamp(min=1.0) * N_BLENDSHAPES)
    hs = has_style.to(pred.dtype)
    n_style = hs.sum().clamp(min=1.0)
    style_loss = ((1 - F.cosine_similarity(voice, style, dim=-1)) * hs).sum() / n_style
    terms = {"mse": plain, "weighted_mse": mse, "velocity": velocity, "style": style_loss}
    total = mse + cfg.w_velocity * velocity + cfg.w_style * style_loss
    if expr_encoder is not None and cfg.w_expr > 0:
        mean_face = (pred * m).sum(1) / m.sum(1).clamp(min=1.0)
        z = F.normalize(expr_encoder(mean_face), dim=-1)
        hs_shown = shown.to(pred.dtype)
        expr = ((1 - F.cosine_similarity(z, style, dim=-1)) * hs_shown).sum() / hs_shown.sum().clamp(min=1.0)
        terms["expr"] = expr
        total = total + cfg.w_expr * expr
    terms["face"] = mse + cfg.w_velocity * velocity
    terms["total"] = total
    return terms


# ----------------------------------------------------------------------------- batches

def _style_dim(clips: Sequence[Clip], default: int = 64) -> int:
    for c in clips:
        if c.style is not None:
            return int(np.asarray(c.style).shape[-1])
    return default


def batch(clips: Sequence[Clip], starts: Sequence[int] | None, length: int | None,
          style_dim: int) -> dict[str, torch.Tensor]:
    """Stack windows [start, start + length) of ``clips`` (whole clips when ``starts`` is None)
    into padded tensors: feats (B, L, D), target (B, L, 52), valid (B, L), style (B, S),
    has_style (B,)."""
    if starts is None:
        starts = [0] * len(clips)
        length = max(len(c.features) for c in clips)
    B, D = len(clips), clips[0].features.shape[1]
    feats = np.zeros((B, length, D), np.float32)
    target = np.zeros((B, length, N_BLENDSHAPES), np.float32)
    valid = np.zeros((B, length), bool)
    style = np.zeros((B, style_dim), np.float32)
    has = np.zeros(B, bool)
    for i, (c, s) in enumerate(zip(clips, starts)):
        f = c.features[s:s + length]
        feats[i, :len(f)] = f
        target[i, :len(f)] = c.target[s:s + length]
        valid[i, :len(f)] = True
        if c.style is not None:
            style[i], has[i] = c.style, True
    return {"feats": torch.from_numpy(feats), "target": torch.from_numpy(target),
            "valid": torch.from_numpy(valid), "style": torch.from_numpy(style),
            "has_style": torch.from_numpy(has)}


def random_windows(clips: Sequence[Clip], length: int, per_clip: int, rng: np.random.Generator
                   ) -> list[tuple[int, int]]:
    """``per_clip`` (clip index, start frame) pairs per clip, uniformly over the start positions of
    a ``length``-frame window (0 for clips shorter than it), in a random order."""
    pairs = [(i, int(rng.integers(0, max(1, len(c.features) - length + 1))))
             for i, c in enumerate(clips) for _ in range(per_clip)]
    return [pairs[j] for j in rng.permutation(len(pairs))]


@torch.no_grad()
def evaluate(model: Speech2Face, clips: Sequence[Clip], cfg: TrainConfig,
             expr_encoder=None, batch_size: int = 16) -> dict[str, float]:
    """Loss terms over whole clips (eval mode, every clip shown its own style), frame-weighted."""
    model.eval()
    sums: dict[str, float] = {}
    total_frames = 0
    style_dim = model.cfg.style_dim
    for i in range(0, len(clips), batch_size):
        part = clips[i:i + batch_size]
        b = batch(part, None, None, style_dim)
        terms = losses(model, b["feats"], b["target"], b["valid"], b["style"], b["has_style"],
                       cfg, expr_encoder)
        frames = int(b["valid"].sum())
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v) * frames
        total_frames += frames
    return {k: v / max(total_frames, 1) for k, v in sums.items()}


# ----------------------------------------------------------------------------- training

def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def train(train_clips: Sequence[Clip], val_clips: Sequence[Clip],
          model_cfg: Speech2FaceConfig | None = None, cfg: TrainConfig | None = None,
          expr_encoder: Callable[[torch.Tensor], torch.Tensor] | None = None,
          model: Speech2Face | None = None) -> tuple[Speech2Face, pd.DataFrame]:
    """Train a `Speech2Face` on clips (features (T, D), target (T, 52), style (S,) | None);
    ``val_clips`` empty → the training clips serve for early stopping. ``model_cfg`` defaults
    to `Speech2FaceConfig(in_dim=D, style_dim=S)`. ``expr_encoder``: a frozen callable
    (N, 52) → (N, S), e.g. `text2expr_expr_encoder` (its parameters are not trained).
    Early stopping and the kept epoch use the validation ``face`` loss (weighted MSE +
    velocity: the animation's quality); the style-head and faithfulness terms are trained and
    logged but do not choose the epoch (with few styles they overfit first).
    Returns (the best epoch's model in eval mode, history: one row per epoch with train_* and
    val_* loss terms, lr, seconds, samples_per_s, best)."""
    cfg = cfg or TrainConfig()
    if not train_clips:
        raise ValueError("train: no training clips")
    for c in train_clips:
        if c.target is None or len(c.target) != len(c.features):
            raise ValueError(f"clip {c.utt_id or '?'}: target must be (T, 52) with T = len(features)")
    val_clips = list(val_clips) or list(train_clips)
    seeding.seed_torch(cfg.seed)
    rng = seeding.rng(cfg.seed, "speech2face.train")
    in_dim, style_dim = train_clips[0].features.shape[1], _style_dim(train_clips)
    if model is None:
        model = Speech2Face(model_cfg or Speech2FaceConfig(in_dim=in_dim, style_dim=style_dim))
        allf = np.concatenate([c.features for c in train_clips])
        model.feat_mean.copy_(torch.from_numpy(allf.mean(0)))
        model.feat_std.copy_(torch.from_numpy(np.maximum(allf.std(0), 1e-3)))
        with torch.no_grad():  # start at the mean face: faster, steadier early epochs
            model.out.bias.copy_(torch.from_numpy(_logit(np.concatenate(
                [c.target for c in train_clips]).mean(0)).astype(np.float32)))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(train_clips) * cfg.windows_per_clip / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps,
                                                pct_start=0.1, anneal_strategy="cos")
    stopper, rows = EarlyStopping(model, cfg.patience, min_delta=1e-7), []
    with Progress(cfg.epochs, "train speech2face", unit="epochs", logger=log) as progress:
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            model.train()
            pairs = random_windows(train_clips, cfg.window, cfg.windows_per_clip, rng)
            sums: dict[str, float] = {}
            for j in range(0, len(pairs), cfg.batch_size):
                chunk = pairs[j:j + cfg.batch_size]
                b = batch([train_clips[i] for i, _ in chunk], [s for _, s in chunk], cfg.window,
                          model.cfg.style_dim)
                drop = torch.from_numpy(rng.random(len(chunk)) < model.cfg.style_dropout)
                terms = losses(model, b["feats"], b["target"], b["valid"], b["style"],
                               b["has_style"], cfg, expr_encoder, b["has_style"] & ~drop)
                opt.zero_grad(set_to_none=True)
                terms["total"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(chunk)
            seconds = time.perf_counter() - t0
            val = evaluate(model, val_clips, cfg, expr_encoder)
            rows.append({"epoch": epoch, **{f"train_{k}": v / len(pairs) for k, v in sums.items()},
                         **{f"val_{k}": v for k, v in val.items()}, "lr": sched.get_last_lr()[0],
                         "seconds": seconds, "samples_per_s": len(pairs) / max(seconds, 1e-9)})
            stop = stopper.step(epoch, val["face"])
            progress.update(note=f"val face {val['face']:.5f} (best {stopper.best:.5f})")
            if stop:
                break
    return model, stopper.finish(rows, "val_face")


# ----------------------------------------------------------------------------- checkpoints

def save_model(model: Speech2Face, directory: str | Path, history: pd.DataFrame | None = None,
               extra: dict | None = None) -> Path:
    """Write ``model.safetensors``, ``config.json`` (``{"model": config, **extra}``, e.g. the audio
    encoder's kind and name) and, given a history, ``history.csv`` into ``directory``, each
    atomically. Returns the directory."""
    directory = Path(directory)
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
    write_json({"model": asdict(model.cfg), **(extra or {})}, directory / "config.json")
    if history is not None:
        with atomic_path(directory / "history.csv") as tmp:
            history.to_csv(tmp, index=False)
    return directory


def load_model(directory: str | Path, device: str = "cpu") -> tuple[Speech2Face, dict]:
    """Rebuild the model from ``config.json`` and ``model.safetensors`` (no pickle); eval mode.
    Returns (model, the whole config dict)."""
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    model = Speech2Face(Speech2FaceConfig(**config["model"]))
    model.load_state_dict(load_file(str(directory / "model.safetensors")))
    return model.to(device).eval(), config


# ----------------------------------------------------------------------------- text2expr glue

def text2expr_expr_encoder(model_dir: str | Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """text2expr's frozen expression encoder from a saved model: (N, 52) → (N, latent) unit
    vectors, gradients flowing to the input only (for the faithfulness loss)."""
    from blendtalk.models.text2expr import load_model as load_t2e

    t2e, _ = load_t2e(model_dir)
    t2e.requires_grad_(False)
    return t2e.encode_expr


def style_latents_from_text2expr(model_dir: str | Path, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """style text → its text2expr text latent (latent,) float32, unit norm, for every text."""
    from blendtalk.models.text2expr import load_with_encoder

    t2e, encoder = load_with_encoder(model_dir)
    texts = list(dict.fromkeys(texts))
    with torch.no_grad():
        z = t2e.encode_text(torch.from_numpy(encoder.encode(texts))).numpy().astype(np.float32)
    return dict(zip(texts, z))
