"""Face reader: a compact ResNet that reads ARKit-52 weights, and how sure it is, from a frame.

Input: RGB frames `(N, H, W, 3)` uint8 (any size; resized to `ReaderConfig.image_size`² with
antialiasing). Output: per frame the mean weights `(N, 52)` in [0, 1] (sigmoid head) and their
log-variance `(N, 52)` (second head), trained with a Gaussian negative log-likelihood
(`torch.nn.functional.gaussian_nll_loss`) so that channels the camera cannot see (eyeLook* under
closed lids, tongueOut behind closed lips) get a large σ instead of a confident guess; the MSE
ablation trains the same network on the mean only. The layout follows ResNet-18's basic blocks
(He et al. 2016) at a fraction of the width, written here because torchvision has no CPU build
for the pinned torch.

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

from blendtalk.arkit import N_BLENDSHAPES
from blendtalk.io import atomic_path, write_json
from blendtalk.models.training import EarlyStopping
from blendtalk.progress import Progress

log = logging.getLogger(__name__)

#: Loss kinds: the Gaussian NLL of the two heads, or the MSE of the mean head (the ablation).
LOSSES = ("gnll", "mse")
#: Bounds of the log-variance head: σ from ~0.0025 to ~2.7 (weights live in [0, 1]).
LOG_VAR_RANGE = (-12.0, 2.0)
#: Pixel normalisation of uint8 RGB frames (mean and spread of a mid-grey image).
PIXEL_CENTRE, PIXEL_SCALE = 127.5, 64.0


@dataclass
class ReaderConfig:
    image_size: int = 128  # input frames are resized to image_size x image_size
    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels per stage; each stage halves the size
    blocks: int = 1  # basic blocks per stage

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if self.image_size < 16 or not self.widths or self.blocks < 1:
            raise ValueError(f"bad reader sizes: image_size {self.image_size} (>= 16), widths "
                             f"{self.widths} (at least one stage), blocks {self.blocks} (>= 1)")


@dataclass
class ReaderTrainConfig:
    loss: str = "gnll"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 6  # epochs without a better validation loss before stopping
    seed: int = 0
    label: str = field(default="facereader", repr=False)  # names the run in the progress log

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown face reader loss {self.loss!r}; choose from {list(LOSSES)}")


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
    """`(N, 3, S, S)` normalised images → mean `(N, 52)` in [0, 1], log-variance `(N, 52)`."""

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
        self.mean_head = nn.Linear(c_in, N_BLENDSHAPES)
        self.log_var_head = nn.Linear(c_in, N_BLENDSHAPES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stages(self.stem(x)).mean(dim=(2, 3))
        log_var = self.log_var_head(h).clamp(*LOG_VAR_RANGE)
        return torch.sigmoid(self.mean_head(h)), log_var


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


def reader_loss(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean over frames and channels: Gaussian NLL (with the constant, so it is the true NLL per
    value) for "gnll", squared error of the mean for "mse"."""
    if kind == "gnll":
        return F.gaussian_nll_loss(mean, target, log_var.exp(), full=True, eps=1e-6)
    return F.mse_loss(mean, target)


@torch.inference_mode()
def predict(model: FaceReader, frames: np.ndarray, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Mean weights `(N, 52)` and σ `(N, 52)` float32 of `(N, H, W, 3)` uint8 frames (eval mode:
    a frame's reading does not depend on the other frames of its batch)."""
    model.eval()
    means, sigmas = [], []
    for start in range(0, len(frames), batch_size):
        mean, log_var = model(to_input(frames[start:start + batch_size], model.cfg.image_size))
        means.append(mean.numpy())
        sigmas.append(torch.exp(0.5 * log_var).numpy())
    if not means:
        return np.zeros((0, N_BLENDSHAPES), np.float32), np.zeros((0, N_BLENDSHAPES), np.float32)
    return np.concatenate(means).astype(np.float32), np.concatenate(sigmas).astype(np.float32)


@torch.inference_mode()
def evaluate_loss(model: FaceReader, frames: np.ndarray, weights: np.ndarray, kind: str,
                  batch_size: int = 128) -> float:
    """Mean `reader_loss` over `(N, H, W, 3)` frames against `(N, 52)` weights (eval mode)."""
    model.eval()
    total = 0.0
    for start in range(0, len(frames), batch_size):
        x = to_input(frames[start:start + batch_size], model.cfg.image_size)
        y = torch.as_tensor(weights[start:start + batch_size], dtype=torch.float32)
        total += float(reader_loss(*model(x), y, kind)) * len(y)
    return total / max(len(frames), 1)


def train_reader(model: FaceReader, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                 cfg: ReaderTrainConfig) -> pd.DataFrame:
    """Train on `train` = (frames `(N, H, W, 3)` uint8, weights `(N, 52)`) with AdamW and a cosine
    learning rate, one seeded shuffle per epoch; stop when the validation loss on `val` has not
    improved for `cfg.patience` epochs and load the best epoch's weights back. Frames are resized
    per batch, so the stored dataset may be larger than the model's input. Returns the history
    (epoch, train_loss, val_loss, lr; `best` marks the epoch kept)."""
    frames, weights = train
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(frames) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1), pct_start=0.15)
    target = torch.as_tensor(weights, dtype=torch.float32)
    stopper, rows = EarlyStopping(model, cfg.patience, min_delta=1e-5), []
    with Progress(cfg.epochs, cfg.label, unit="epochs", logger=log) as progress:
        for epoch in range(cfg.epochs):
            model.train()
            order, total = torch.randperm(len(frames), generator=gen), 0.0
            for start in range(0, len(frames), cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                if len(idx) < 2:  # batch norm needs two frames
                    continue
                x = to_input(frames[idx.numpy()], model.cfg.image_size)
                loss = reader_loss(*model(x), target[idx], cfg.loss)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            val_loss = evaluate_loss(model, *val, cfg.loss)
            rows.append({"epoch": epoch, "train_loss": total / len(frames), "val_loss": val_loss,
                         "lr": sched.get_last_lr()[0]})
            progress.update(note=f"val {cfg.loss} {val_loss:.4f} (best {min(val_loss, stopper.best):.4f})")
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
    model = FaceReader(ReaderConfig(**config["model"]))
    model.load_state_dict(load_file(str(directory / "model.safetensors")))
    return model.eval(), config
