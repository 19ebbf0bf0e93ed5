"""Training lengths scaled to the data, without torch, so that the workflow's resource callables
(rules/text2expr.smk) size a job by the same rule the training follows."""

from __future__ import annotations

import math


def epoch_budget(epochs: int, max_samples: int | None, n_train: int) -> int:
    """Epochs to train at most: `epochs`, capped by ceil(max_samples / n_train) when `max_samples`
    is set. A fixed budget of rows seen (steps, as in CLIP or nanoGPT) rather than of epochs: a
    large set takes many steps per epoch and converges in fewer epochs, and the learning rate
    anneals to zero at the budget's end whatever the size."""
    if not max_samples:
        return epochs
    return min(epochs, math.ceil(max_samples / max(n_train, 1)))
