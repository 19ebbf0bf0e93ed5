"""What the training loops share: early stopping on a validation loss, keeping the best weights."""

from __future__ import annotations

import copy
import logging
import math

import pandas as pd
from torch import nn

log = logging.getLogger(__name__)


class EarlyStopping:
    """Track a validation loss per epoch: keep a copy of the best weights, say when `patience`
    epochs have gone by without an improvement larger than `min_delta`."""

    def __init__(self, model: nn.Module, patience: int, min_delta: float) -> None:
        self.model, self.patience, self.min_delta = model, patience, min_delta
        self.best, self.stale = math.inf, 0
        self.best_state = copy.deepcopy(model.state_dict())

    def step(self, epoch: int, loss: float) -> bool:
        """Record epoch `epoch`'s validation `loss`; True when training should stop."""
        if loss < self.best - self.min_delta:
            self.best, self.best_state, self.stale = loss, copy.deepcopy(self.model.state_dict()), 0
        else:
            self.stale += 1
        if self.stale >= self.patience:
            log.info("early stop at epoch %d: no better val loss for %d epochs", epoch, self.stale)
            return True
        return False

    def finish(self, rows: list[dict], loss_column: str) -> pd.DataFrame:
        """Load the best weights (eval mode) and return the history of `rows`, its `best` column
        marking the epoch kept (the minimum of `loss_column`)."""
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        history = pd.DataFrame(rows)
        history["best"] = history[loss_column] == history[loss_column].min()
        return history
