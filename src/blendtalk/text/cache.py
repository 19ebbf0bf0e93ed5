"""On-disk cache of frozen text embeddings, keyed by encoder and exact text.

Each encoder gets one Parquet table `<root>/<slug>/embeddings.parquet` (`key` = SHA-1 of the
text, `text`, `embedding` list<float32>). `embed` encodes only strings the table lacks, each
unique string once, and rewrites the table atomically.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from blendtalk.io import write_parquet
from blendtalk.progress import Progress
from blendtalk.text.encoders import TextEncoder

log = logging.getLogger(__name__)

#: Strings per call to the encoder (which batches within a call): the unit of progress.
CHUNK = 1024


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of `encoder` cached under `root` (e.g. .cache/text_embeddings)."""

    def __init__(self, root: str | Path, encoder: TextEncoder) -> None:
        self.encoder = encoder
        slug = re.sub(r"[^A-Za-z0-9]+", "-", encoder.key.split(":")[0]).strip("-")
        self.path = Path(root) / f"{slug}-{hashlib.sha1(encoder.key.encode()).hexdigest()[:10]}" \
            / "embeddings.parquet"
        self.n_encoded = 0  # strings this instance has sent to the encoder
        self._table: dict[str, np.ndarray] = {}
        if self.path.exists():
            df = pd.read_parquet(self.path)
            self._table = dict(zip(df["key"], (np.asarray(e, dtype=np.float32) for e in df["embedding"])))
            self._texts = dict(zip(df["key"], df["text"]))
        else:
            self._texts = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        """(N, dim) float32 embeddings of `texts` in order; unseen unique strings are encoded once."""
        keys = [_text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._table}
        if missing:
            log.info("encoding %d new unique strings with %s (%d cached)", len(missing),
                     self.encoder.key, len(self._table))
            self._encode(missing)
            self._save()
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._table[k] for k in keys]).astype(np.float32)

    def _encode(self, missing: dict[str, str]) -> None:
        """Encode the texts of `missing` (key → text) into the table, `CHUNK` at a time."""
        items = list(missing.items())
        with Progress(len(items), f"encode strings ({self.encoder.key})", unit="strings",
                      logger=log) as progress:
            for start in range(0, len(items), CHUNK):
                chunk = items[start:start + CHUNK]
                vecs = self.encoder.encode([t for _, t in chunk])
                for (k, t), v in zip(chunk, vecs):
                    self._table[k] = v
                    self._texts[k] = t
                self.n_encoded += len(chunk)
                progress.update(len(chunk))

    def _save(self) -> None:
        keys = list(self._table)
        write_parquet(pd.DataFrame({"key": keys, "text": [self._texts[k] for k in keys],
                                    "embedding": [self._table[k].tolist() for k in keys]}),
                      self.path)
