"""Plots of the text2expr stage: loss curves, one joint 2-D map of text and expression latents,
and per-channel cross-modal errors against the training-mean baseline."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

from blendtalk.arkit import ARKIT_NAMES, REGION_SLICES  # noqa: E402
from blendtalk.io import atomic_path  # noqa: E402


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_loss(history: pd.DataFrame, path: str | Path) -> None:
    """Train and validation loss terms per epoch (every `train_<term>` with a `val_<term>`
    column of a training history), the kept (best) epoch marked."""
    terms = [c.removeprefix("train_") for c in history.columns
             if c.startswith("train_") and f"val_{c.removeprefix('train_')}" in history.columns]
    fig, axes = plt.subplots(1, len(terms), figsize=(4 * len(terms), 3.2), squeeze=False)
    axes = axes[0]
    best = history.loc[history["best"], "epoch"].iloc[0]
    for ax, term in zip(axes, terms):
        ax.plot(history["epoch"], history[f"train_{term}"], label="train")
        ax.plot(history["epoch"], history[f"val_{term}"], label="val")
        ax.axvline(best, color="grey", ls=":", label="best")
        ax.set(title=term, xlabel="epoch")
    axes[0].legend()
    _save(fig, path)


def joint_map(latents: pd.DataFrame, perplexity: float, seed: int) -> np.ndarray:
    """ONE t-SNE fitted on text and expression latents together: (2N, 2), rows as in `latents`."""
    z = np.stack(latents["latent"].to_numpy()).astype(np.float32)
    return TSNE(n_components=2, perplexity=min(perplexity, (len(z) - 1) / 3), init="pca",
                random_state=seed).fit_transform(z)


def plot_joint_map(latents: pd.DataFrame, path: str | Path, perplexity: float, seed: int) -> None:
    """The joint map coloured by emotion, marker by modality, thin lines joining each pair."""
    xy = joint_map(latents, perplexity, seed)
    fig, ax = plt.subplots(figsize=(7, 6))
    emotions = sorted(latents["emotion"].unique())
    colours = dict(zip(emotions, plt.cm.tab10(np.linspace(0, 1, 10))))
    n = len(latents) // 2
    for i in range(n):  # rows i (text) and n + i (expression) are one test pair
        ax.plot(xy[[i, n + i], 0], xy[[i, n + i], 1], color="0.85", lw=0.5, zorder=0)
    for modality, marker in (("text", "o"), ("expression", "^")):
        for emo in emotions:
            sel = ((latents["modality"] == modality) & (latents["emotion"] == emo)).to_numpy()
            ax.scatter(xy[sel, 0], xy[sel, 1], marker=marker, color=colours[emo], s=22,
                       label=f"{emo} ({modality})", edgecolor="k", linewidth=0.2)
    ax.set(title="Joint t-SNE of test text and expression latents (one fit)", xticks=[], yticks=[])
    ax.legend(fontsize=6, ncol=2, loc="best")
    _save(fig, path)


def plot_channel_errors(metrics: dict, path: str | Path) -> None:
    """Per-channel MAE of decode(text latent) on the test set, coloured by region, with the
    training-mean and emotion-mean-oracle baselines as markers."""
    mae = np.asarray(metrics["model"]["cross_modal_channel_mae"])
    fig, ax = plt.subplots(figsize=(14, 4))
    region_colour = np.empty(52, dtype=object)
    for k, (region, sl) in enumerate(REGION_SLICES.items()):
        region_colour[sl] = f"C{k}"
        ax.bar([], [], color=f"C{k}", label=region)
    ax.bar(np.arange(52), mae, color=list(region_colour))
    for name, marker in (("training_mean", "_"), ("emotion_mean_oracle", "x")):
        ax.scatter(np.arange(52), metrics["baselines"][name]["cross_modal_channel_mae"], marker=marker,
                   color="k", s=30, label=name.replace("_", " "), zorder=3)
    ax.set_xticks(np.arange(52), ARKIT_NAMES, rotation=90, fontsize=7)
    ax.set(ylabel="MAE on test", title="Cross-modal error per blendshape: decode(text latent) vs target")
    ax.legend(fontsize=7, ncol=4)
    _save(fig, path)


def plot_all(history: str | Path, latents: str | Path, metrics: str | Path, loss_png: str | Path,
             joint_map_png: str | Path, channel_errors_png: str | Path, perplexity: float,
             seed: int) -> None:
    plot_loss(pd.read_csv(history), loss_png)
    plot_joint_map(pd.read_parquet(latents), joint_map_png, perplexity, seed)
    plot_channel_errors(json.loads(Path(metrics).read_text(encoding="utf-8")), channel_errors_png)


def plot_curves(target: pd.DataFrame, predicted: pd.DataFrame, title: str, path: str | Path,
                channels: tuple[str, ...] = ("jawOpen", "mouthClose", "mouthFunnel", "mouthSmileLeft",
                                             "browInnerUp", "eyeBlinkLeft"),
                labels: tuple[str, str] = ("procedural (target)", "speech2face")) -> None:
    """One clip's `channels` over time (frames at 30 fps), target against prediction, named by
    `labels`."""
    fig, axes = plt.subplots(len(channels), 1, figsize=(8, 1.4 * len(channels)), sharex=True)
    seconds = np.arange(len(target)) / 30.0
    for ax, name in zip(axes, channels):
        ax.plot(seconds, target[name], label=labels[0])
        ax.plot(seconds, predicted[name], label=labels[1])
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    axes[0].set_title(title)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[-1].set_xlabel("s")
    _save(fig, path)
