"""Face reader: a compact ResNet that reads ARKit-52 weights, and how sure it is, from a frame.

Input: RGB frames `(N, H, W, 3)` uint8 (any size; resized to `ReaderConfig.image_size`² with
antialiasing). Output: per frame the mean weights `(N, 52)` in [0, 1] (sigmoid head) and their
log-variance `(N, 52)` (second head), trained with a Gaussian negative log-likelihood
(`torch.nn.functional.gaussian_nll_loss`) so that channels the camera cannot see (eyeLook* under
closed lids, tongueOut behind closed lips) get a large σ instead of a confident guess; the MSE
ablation trains the same network on the mean only. The layout follows ResNet-18's basic blocks
(He et al. 2016) at a fraction of the width, with a spatial head by default (`HEADS`), written
here because torchvision has no CPU build for the pinned torch.

`save_reader` writes `model.safetensors` + `config.json` atomically; `load_reader` rebuilds it
without unpickling anything.

Train in a process that has not rendered, or import `torch._dynamo` before the first GL context:
torch's optimisers import it, it loads triton's bundled LLVM, and that segfaults once Mesa's
llvmpipe is loaded (measured; see tests/conftest.py).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from blendtalk.arkit import MIRROR_INDEX, N_BLENDSHAPES
from blendtalk.io import atomic_path, write_json
from blendtalk.models.training import EarlyStopping
from blendtalk.progress import Progress

log = logging.getLogger(__name__)

#: Loss kinds: the Gaussian NLL of the two heads, or the MSE of the mean head (the ablation).
LOSSES = ("gnll", "mse")
#: Bounds of the log-variance head: σ from 0.01 (finer than any reading needs; a lower floor lets
#: the network grow overconfident on the channels that are zero in most training frames and the
#: validation NLL explode, measured) to 1 (weights live in [0, 1]).
LOG_VAR_RANGE = (2 * math.log(0.01), 0.0)
#: The mean head is a sigmoid stretched to [-margin, 1 + margin] (clipped to [0, 1] when reading),
#: so the many zero targets (most channels are off in most frames) sit at finite logits instead
#: of pulling them towards -inf.
MEAN_MARGIN = 0.05
#: Heads over the last feature map: "spatial" flattens it (after a 1x1 conv to SPATIAL_CHANNELS),
#: so the heads know where a feature is; "pooled" averages it over space (ResNet's global pool).
HEADS = ("spatial", "pooled")
SPATIAL_CHANNELS = 32
#: Pixel normalisation of uint8 RGB frames (mean and spread of a mid-grey image).
PIXEL_CENTRE, PIXEL_SCALE = 127.5, 64.0


@dataclass
class ReaderConfig:
    image_size: int = 128  # input frames are resized to image_size x image_size
    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels per stage; each stage halves the size
    blocks: int = 1  # basic blocks per stage
    head: str = "spatial"  # see HEADS

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if self.image_size < 16 or not self.widths or self.blocks < 1:
            raise ValueError(f"bad reader sizes: image_size {self.image_size} (>= 16), widths "
                             f"{self.widths} (at least one stage), blocks {self.blocks} (>= 1)")
        if self.head not in HEADS:
            raise ValueError(f"unknown face reader head {self.head!r}; choose from {list(HEADS)}")

    @property
    def feature_size(self) -> int:
        """Side of the last feature map: the stem and every stage after the first halve it
        (3x3 convs, stride 2, padding 1: n → ceil(n / 2))."""
        size = self.image_size
        for _ in range(len(self.widths)):
            size = -(-size // 2)
        return size


@dataclass
class ReaderTrainConfig:
    loss: str = "gnll"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6  # epochs without a better validation loss before stopping
    beta: float = 0.5  # β-NLL weight (Seitzer et al. 2022): 0 is the plain NLL, 1 trains the mean like MSE
    flip: bool = True  # mirror half the training frames, swapping Left/Right channels
    shift: float = 0.05  # random translation, as a share of the image size
    seed: int = 0
    label: str = field(default="facereader", repr=False)  # names the run in the progress log

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown face reader loss {self.loss!r}; choose from {list(LOSSES)}")
        if not 0.0 <= self.beta <= 1.0 or not 0.0 <= self.shift < 0.5:
            raise ValueError(f"face reader beta must be in [0, 1] and shift in [0, 0.5), got {self.beta}, {self.shift}")


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch norm layers with an identity (or strided 1x1) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class FaceReader(nn.Module):
    """`(N, 3, S, S)` normalised images → mean `(N, 52)` in [-MEAN_MARGIN, 1 + MEAN_MARGIN] (see
    `predict` for readings in [0, 1]), log-variance `(N, 52)`."""

    def __init__(self, cfg: ReaderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w0 = cfg.widths[0]
        self.stem = nn.Sequential(nn.Conv2d(3, w0, 3, 2, 1, bias=False), nn.BatchNorm2d(w0), nn.ReLU())
        layers, c_in = [], w0
        for i, width in enumerate(cfg.widths):
            for b in range(cfg.blocks):
                layers.append(BasicBlock(c_in, width, stride=2 if i > 0 and b == 0 else 1))
                c_in = width
        self.stages = nn.Sequential(*layers)
        if cfg.head == "spatial":
            self.neck = nn.Sequential(nn.Conv2d(c_in, SPATIAL_CHANNELS, 1, bias=False),
                                      nn.BatchNorm2d(SPATIAL_CHANNELS), nn.ReLU(), nn.Flatten(1))
            features = SPATIAL_CHANNELS * cfg.feature_size ** 2
        else:
            self.neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
            features = c_in
        self.mean_head = nn.Linear(features, N_BLENDSHAPES)
        self.log_var_head = nn.Linear(features, N_BLENDSHAPES)

    @torch.no_grad()
    def init_heads(self, targets: torch.Tensor) -> None:
        """Start both heads at the prior of `(N, 52)` training targets: the mean head's bias at
        each channel's mean, the log-variance head's at its variance, the weights small. From the
        default init the first steps spend the trunk on pulling 52 outputs from 0.5 towards the
        mostly-zero targets, which kills its features for good (measured: jawOpen val R² 0.00 vs
        0.74 after 4 epochs)."""
        mean = ((targets.mean(0) + MEAN_MARGIN) / (1 + 2 * MEAN_MARGIN)).clamp(1e-4, 1 - 1e-4)
        self.mean_head.bias.copy_(torch.log(mean / (1 - mean)))
        self.log_var_head.bias.copy_(targets.var(0).clamp_min(1e-6).log().clamp(*LOG_VAR_RANGE))
        for head in (self.mean_head, self.log_var_head):
            head.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.neck(self.stages(self.stem(x)))
        # σ is read from the mean's features without shaping them (Stirn et al. 2023, "Faithful
        # heteroscedastic regression"): through the trunk the NLL stalls the mean (measured:
        # jawOpen val R² 0.02 against 0.44 after 300 steps with the stop)
        log_var = self.log_var_head(h.detach()).clamp(*LOG_VAR_RANGE)
        return torch.sigmoid(self.mean_head(h)) * (1 + 2 * MEAN_MARGIN) - MEAN_MARGIN, log_var


def to_input(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """`(N, H, W, 3)` uint8 RGB → `(N, 3, size, size)` float32, normalised, resized (bilinear with
    antialiasing) when the frames are not already `size`²."""
    x = torch.as_tensor(frames)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8, got {tuple(x.shape)} {x.dtype}")
    x = (x.permute(0, 3, 1, 2).float() - PIXEL_CENTRE) / PIXEL_SCALE
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous()


def reader_loss(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor, kind: str,
                beta: float = 0.0) -> torch.Tensor:
    """Mean over frames and channels: Gaussian NLL (with the constant, so it is the true NLL per
    value) for "gnll", each term weighted by the detached σ^(2β) when `beta` > 0 (β-NLL, which
    keeps badly fitted values from being ignored behind a large σ); squared error of the mean for
    "mse"."""
    if kind == "mse":
        return F.mse_loss(mean, target)
    var = log_var.exp()
    nll = F.gaussian_nll_loss(mean, target, var, full=True, eps=1e-6, reduction="none")
    return (nll * var.detach() ** beta).mean() if beta else nll.mean()


def augment(x: torch.Tensor, target: torch.Tensor, cfg: ReaderTrainConfig,
            gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Training-time augmentation of normalised `(N, 3, S, S)` images and their `(N, 52)` weights:
    a mirror of half the frames (weights Left/Right swapped, `arkit.MIRROR_INDEX`) and a random
    translation of up to `cfg.shift * S` pixels (edges replicated)."""
    n, size = len(x), x.shape[-1]
    if cfg.flip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        target = torch.where(flip[:, None], target[:, list(MIRROR_INDEX)], target)
    pad = int(round(cfg.shift * size))
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        dx, dy = torch.randint(0, 2 * pad + 1, (2, n), generator=gen).tolist()
        x = torch.stack([padded[i, :, dy[i]:dy[i] + size, dx[i]:dx[i] + size] for i in range(n)])
    return x, target


@torch.inference_mode()
def predict(model: FaceReader, frames: np.ndarray, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Mean weights `(N, 52)` and σ `(N, 52)` float32 of `(N, H, W, 3)` uint8 frames (eval mode:
    a frame's reading does not depend on the other frames of its batch)."""
    model.eval()
    means, sigmas = [], []
    for start in range(0, len(frames), batch_size):
        mean, log_var = model(to_input(frames[start:start + batch_size], model.cfg.image_size))
        means.append(mean.clamp(0.0, 1.0).numpy())
        sigmas.append(torch.exp(0.5 * log_var).numpy())
    if not means:
        return np.zeros((0, N_BLENDSHAPES), np.float32), np.zeros((0, N_BLENDSHAPES), np.float32)
    return np.concatenate(means).astype(np.float32), np.concatenate(sigmas).astype(np.float32)


@torch.inference_mode()
def evaluate(model: FaceReader, frames: np.ndarray, weights: np.ndarray, kind: str,
             batch_size: int = 128) -> dict[str, float]:
    """Mean `reader_loss` (the plain NLL for "gnll") and mean absolute error of the mean over
    `(N, H, W, 3)` frames against `(N, 52)` weights (eval mode)."""
    model.eval()
    loss = abs_err = 0.0
    for start in range(0, len(frames), batch_size):
        x = to_input(frames[start:start + batch_size], model.cfg.image_size)
        y = torch.as_tensor(weights[start:start + batch_size], dtype=torch.float32)
        mean, log_var = model(x)
        loss += float(reader_loss(mean, log_var, y, kind)) * len(y)
        abs_err += float((mean - y).abs().mean()) * len(y)
    n = max(len(frames), 1)
    return {"loss": loss / n, "mae": abs_err / n}


def train_reader(model: FaceReader, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                 cfg: ReaderTrainConfig) -> pd.DataFrame:
    """Train on `train` = (frames `(N, H, W, 3)` uint8, weights `(N, 52)`) with AdamW and a one-cycle
    learning rate, one seeded shuffle and `augment` draw per epoch, the heads
    started at the targets' prior (`FaceReader.init_heads`); stop when the validation loss on `val` has not
    improved for `cfg.patience` epochs and load the best epoch's weights back. Frames are resized
    per batch, so the stored dataset may be larger than the model's input. Returns the history
    (epoch, train_loss, val_loss, val_mae, lr; `best` marks the epoch kept)."""
    frames, weights = train
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(frames) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1), pct_start=0.15)
    target = torch.as_tensor(weights, dtype=torch.float32)
    model.init_heads(target)
    stopper, rows = EarlyStopping(model, cfg.patience, min_delta=1e-5), []
    with Progress(cfg.epochs, cfg.label, unit="epochs", logger=log) as progress:
        for epoch in range(cfg.epochs):
            model.train()
            order, total = torch.randperm(len(frames), generator=gen), 0.0
            for start in range(0, len(frames), cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                if len(idx) < 2:  # batch norm needs two frames
                    continue
                x, y = augment(to_input(frames[idx.numpy()], model.cfg.image_size), target[idx], cfg, gen)
                loss = reader_loss(*model(x), y, cfg.loss, cfg.beta)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            val_scores = evaluate(model, *val, cfg.loss)
            val_loss = val_scores["loss"]
            rows.append({"epoch": epoch, "train_loss": total / len(frames), "val_loss": val_loss,
                         "val_mae": val_scores["mae"], "lr": sched.get_last_lr()[0]})
            progress.update(note=f"val {cfg.loss} {val_loss:.4f} (best {min(val_loss, stopper.best):.4f}), "
                                 f"MAE {val_scores['mae']:.4f}")
            if stopper.step(epoch, val_loss):
                break
    return stopper.finish(rows, "val_loss")


def save_reader(model: FaceReader, directory: str | Path, extra: dict | None = None) -> None:
    """Write `model.safetensors` and `config.json` (`{"model": sizes, **extra}`) atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    write_json({"model": asdict(model.cfg), **(extra or {})}, directory / "config.json")


def load_reader(directory: str | Path) -> tuple[FaceReader, dict]:
    """The reader saved in `directory` (eval mode) and its config.json."""
    directory = Path(directory)
    if not (directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"no trained face reader in {directory}")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    # checkpoints written before the head was a setting have the pooled head
    model = FaceReader(ReaderConfig(**{"head": "pooled", **config["model"]}))
    model.load_state_dict(load_file(str(directory / "model.safetensors")))
    return model.eval(), config
