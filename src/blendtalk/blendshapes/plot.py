"""Heatmap of the mean expression per emotion (emotions × 52 ARKit channels) for the report."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from blendtalk.arkit import ARKIT_NAMES  # noqa: E402
from blendtalk.io import atomic_path  # noqa: E402


def heatmap(means: pd.DataFrame, path: str | os.PathLike, counts: dict[str, int] | None = None,
            dpi: int = 120) -> None:
    """Write a PNG heatmap of `means` (emotions × 52 canonical columns, values in [0, 1]) to
    `path`, atomically; row labels carry the number of rows per emotion when `counts` is given."""
    fig, ax = plt.subplots(figsize=(16, 1.2 + 0.45 * max(len(means), 1)))
    im = ax.imshow(means[list(ARKIT_NAMES)].to_numpy(float), vmin=0.0, vmax=1.0,
                   cmap="magma", aspect="auto")
    ax.set_xticks(range(len(ARKIT_NAMES)), ARKIT_NAMES, rotation=90, fontsize=7)
    labels = [f"{e} (n={counts.get(e, 0)})" if counts else str(e) for e in means.index]
    ax.set_yticks(range(len(means)), labels, fontsize=8)
    ax.set_title("Mean ARKit-52 expression per emotion")
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="weight")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
