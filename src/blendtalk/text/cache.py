"""On-disk cache of frozen text embeddings, keyed by encoder and exact text.

Each encoder gets one append-only Parquet dataset `<root>/<slug>/embeddings.parquet/`: a
directory of part files `part-<n>.parquet` (`key` = SHA-1 of the text, `text`, `embedding`
fixed-size list<float32>), one per chunk of `CHUNK` encoded strings, each written atomically as
soon as its chunk is encoded. A killed run therefore keeps every finished chunk and resumes in
the middle of a split; nothing is ever rewritten. `embed` encodes only strings the cache lacks,
each unique string once. Vectors go between numpy and Arrow as flat buffers (no Python lists).

A cache written by earlier versions (one `embeddings.parquet` file, list<float32>) is read and
moved into the directory as its first part.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from blendtalk.progress import Progress
from blendtalk.text.encoders import TextEncoder

log = logging.getLogger(__name__)

#: Strings per call to the encoder (which batches within a call): the unit of progress and of
#: what a kill can lose.
CHUNK = 1024


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _vectors(column: pa.ChunkedArray, dim: int) -> np.ndarray:
    """A (fixed-size) list<float> column → (N, dim) float32, through its flat values buffer."""
    arr = column.combine_chunks()
    if len(arr) == 0:
        return np.zeros((0, dim), np.float32)
    return np.asarray(arr.flatten().to_numpy(zero_copy_only=False), np.float32).reshape(len(arr), -1)


class EmbeddingCache:
    """Embeddings of `encoder` cached under `root` (e.g. .cache/text_embeddings)."""

    def __init__(self, root: str | Path, encoder: TextEncoder) -> None:
        self.encoder = encoder
        slug = re.sub(r"[^A-Za-z0-9]+", "-", encoder.key.split(":")[0]).strip("-")
        self.path = Path(root) / f"{slug}-{hashlib.sha1(encoder.key.encode()).hexdigest()[:10]}" \
            / "embeddings.parquet"
        self.n_encoded = 0  # strings this instance has sent to the encoder
        self._index: dict[str, int] = {}  # key → row of the table
        self._blocks: list[np.ndarray] = []  # the table's rows, block by block (concatenated lazily)
        self._n_parts = 0
        self._migrate()
        if self.path.is_dir():
            for part in sorted(self.path.glob("part-*.parquet")):
                self._read(part)

    # ------------------------------------------------------------------ storage

    def _migrate(self) -> None:
        """Move a single-file cache of an earlier version into the part directory."""
        if not self.path.is_file():
            return
        tmp = self.path.with_name(self.path.name + ".migrating")
        os.replace(self.path, tmp)
        self.path.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, self.path / "part-000000-legacy.parquet")

    def _read(self, part: Path) -> None:
        try:
            table = pq.read_table(part, columns=["key", "embedding"])
        except (OSError, pa.ArrowInvalid) as exc:  # not written by a finished atomic rename
            log.warning("skipping unreadable embedding cache part %s: %s", part, exc)
            return
        self._n_parts += 1
        vecs = _vectors(table.column("embedding"), self.encoder.dim)
        self._add(table.column("key").to_pylist(), vecs)

    def _add(self, keys: list[str], vecs: np.ndarray) -> None:
        base = sum(len(b) for b in self._blocks)
        fresh = [i for i, k in enumerate(keys) if k not in self._index]
        if len(fresh) < len(keys):
            keys, vecs = [keys[i] for i in fresh], vecs[fresh]
        for i, k in enumerate(keys):
            self._index[k] = base + i
        if len(keys):
            self._blocks.append(np.asarray(vecs, np.float32))
            if len(self._blocks) > 1 and sum(len(b) for b in self._blocks[1:]) > 4 * CHUNK:
                self._blocks = [np.concatenate(self._blocks)]

    def _write_part(self, keys: list[str], texts: list[str], vecs: np.ndarray) -> None:
        """Append one part file (atomically: a temporary name, then a rename)."""
        self.path.mkdir(parents=True, exist_ok=True)
        vecs = np.ascontiguousarray(vecs, np.float32)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), vecs.shape[1])
        table = pa.table({"key": pa.array(keys, pa.string()), "text": pa.array(texts, pa.string()),
                          "embedding": emb})
        name = f"part-{self._n_parts:06d}-{os.getpid()}-{keys[0][:8]}.parquet"
        tmp = self.path / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.path / name)
        self._n_parts += 1

    # ------------------------------------------------------------------ use

    def __len__(self) -> int:
        return len(self._index)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(N, dim) float32 embeddings of `texts` in order; unseen unique strings are encoded once."""
        keys = [_text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._index}
        if missing:
            log.info("encoding %d new unique strings with %s (%d cached)", len(missing),
                     self.encoder.key, len(self._index))
            self._encode(missing)
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        rows = np.fromiter((self._index[k] for k in keys), dtype=np.int64, count=len(keys))
        return self._blocks[0][rows]

    def _encode(self, missing: dict[str, str]) -> None:
        """Encode the texts of `missing` (key → text), `CHUNK` at a time, each chunk appended to
        the cache on disk as soon as it is encoded."""
        items = list(missing.items())
        with Progress(len(items), f"encode strings ({self.encoder.key})", unit="strings",
                      logger=log) as progress:
            for start in range(0, len(items), CHUNK):
                chunk = items[start:start + CHUNK]
                keys, texts = [k for k, _ in chunk], [t for _, t in chunk]
                vecs = np.asarray(self.encoder.encode(texts), np.float32).reshape(len(chunk), -1)
                self._write_part(keys, texts, vecs)
                self._add(keys, vecs)
                self.n_encoded += len(chunk)
                progress.update(len(chunk))
