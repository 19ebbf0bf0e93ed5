"""The one interface every annotation backend implements.

A backend turns corpus rows into raw answers (the model's text, JSON expected); parsing,
validation, repair, retries and caching happen outside, identically for every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Row:
    """One sentence to annotate, with the corpus hints the prompt may use.

    `emotions` are corpus labels in the common set (may be empty); `intensity` in [0, 1] or None;
    `source_labels` the corpus' own labels, verbatim (GoEmotions' 27: `amusement`, `grief`, ...).
    """

    text_id: str
    text: str
    emotions: tuple[str, ...] = ()
    intensity: float | None = None
    source_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A backend's raw answer for one row: the generated text and its token counts."""

    raw: str
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True)
class Identity:
    """What names a backend's answers in the answer cache and the tables, known from the config
    before any model is loaded (`backends.backend_identity`)."""

    name: str         # "rules" | "transformers" | "vllm"
    model: str        # hub id, local path, or the rule-based annotator's versioned name
    fingerprint: str  # hash of what else shapes the answers (resources, GGUF file, dtype, template)


class Backend(Protocol):
    name: str
    model: str
    fingerprint: str  # equal to `backend_identity(cfg)`'s for the config it was built from

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        """One answer per row, in order. `seed` changes between retries of invalid answers."""
        ...
